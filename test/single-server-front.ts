// The single-server deployment as deploy/ describes it, on loopback: one
// server process (SQLite, embedded repeater) behind deploy/nginx.conf over
// TLS, and clients that connect from an address of their own (127.x.y.z: the
// whole 127/8 range is loopback), as users behind the front door do.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Agent, request } from 'undici';
import { WebSocket } from 'ws';
import { renderDeployFile, startNginx, testCertificate, type Nginx } from './deploy-front.ts';
import { freePort, stopProcess } from './processes.ts';
import { startServerProcess, type ServerProcess } from './server-process.ts';

export const CLIENT_KEY = 'client-key-for-the-front-door-tests';

export interface SingleServerFront {
  /** https://127.0.0.1:<port>: the public address (PUBLIC_URL). */
  front: string;
  /** nginx's plain-HTTP port (it redirects to TLS). */
  httpPort: number;
  server: ServerProcess;
  nginx: Nginx;
  stop(): Promise<void>;
}

/** Starts a server process (env added to the deployment's own) and deploy/nginx.conf in front of it. */
export async function startSingleServerFront(env: Record<string, string> = {}): Promise<SingleServerFront> {
  const { cert, key } = testCertificate();
  const [serverPort, tlsPort, httpPort] = [await freePort(), await freePort(), await freePort()];
  const front = `https://127.0.0.1:${tlsPort}`;
  // deploy/nginx.conf as written; only addresses and the certificate differ on a test machine.
  const site = renderDeployFile('nginx.conf', [
    ['listen 80;', `listen 127.0.0.1:${httpPort};`],
    ['listen 443 ssl http2;', `listen 127.0.0.1:${tlsPort} ssl http2;`],
    ['/etc/letsencrypt/live/help.example.com/fullchain.pem', cert],
    ['/etc/letsencrypt/live/help.example.com/privkey.pem', key],
    ['http://127.0.0.1:8080', `http://127.0.0.1:${serverPort}`],
  ]);
  const dir = mkdtempSync(join(tmpdir(), 'hd-front-'));
  // The settings deploy/nginx.conf names: HOST=127.0.0.1, PUBLIC_URL, COOKIE_SECURE=true, TRUST_PROXY.
  const server = await startServerProcess(serverPort, `sqlite:${join(dir, 'helpdesk.sqlite')}`, {
    PUBLIC_URL: front,
    COOKIE_SECURE: 'true',
    CLIENT_KEY,
    // nginx alone is the proxy: the users' own loopback addresses (127.0.0.2 …) are not trusted.
    TRUST_PROXY: '127.0.0.1',
    LOGIN_RATE_PER_MINUTE: '1000',
    ...env,
  });
  let nginx: Nginx;
  try {
    nginx = await startNginx(site, [httpPort, tlsPort]);
  } catch (err) {
    await stopProcess(server.child);
    throw err;
  }
  return {
    front,
    httpPort,
    server,
    nginx,
    async stop() {
      await nginx.stop();
      await stopProcess(server.child, 8_000);
    },
  };
}

/** A user's machine at `address` (127.x.y.z): HTTPS requests that leave from it. */
export interface UserAt {
  address: string;
  json(method: 'GET' | 'POST', url: string, body?: object, headers?: Record<string, string>): Promise<{ status: number; body: any }>;
  close(): Promise<void>;
}

export function userAt(address: string): UserAt {
  const dispatcher = new Agent({ localAddress: address });
  return {
    address,
    async json(method, url, body, headers = {}) {
      const res = await request(url, {
        method,
        dispatcher,
        headers: { ...(body ? { 'content-type': 'application/json' } : {}), ...headers },
        ...(body ? { body: JSON.stringify(body) } : {}),
      });
      const text = await res.body.text();
      return { status: res.statusCode, body: text && /json/.test(String(res.headers['content-type'])) ? JSON.parse(text) : text };
    },
    close: () => dispatcher.close(),
  };
}

export interface LegAt {
  ws: WebSocket;
  received: Buffer[];
  closed: Promise<number>;
}

/** A repeater leg from `address`; resolves once open, or rejects with the refusal's status and code. */
export function legAt(url: string, address: string, options: { origin?: string; headers?: Record<string, string> } = {}): Promise<LegAt> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, { localAddress: address, ...(options.origin ? { origin: options.origin } : {}), headers: options.headers ?? {} });
    const received: Buffer[] = [];
    ws.on('message', (d: Buffer) => received.push(d));
    const closed = new Promise<number>((r) => ws.once('close', (code) => r(code)));
    ws.once('open', () => resolve({ ws, received, closed }));
    ws.once('unexpected-response', (_req, res) => {
      let text = '';
      res.on('data', (c: Buffer) => (text += c.toString()));
      res.on('end', () => {
        const code = /"code":"([A-Z_]+)"/.exec(text)?.[1] ?? text.slice(0, 80);
        reject(Object.assign(new Error(`HTTP ${res.statusCode} ${code} for a leg from ${address}`), { status: res.statusCode, code }));
      });
    });
    ws.once('error', reject);
  });
}
