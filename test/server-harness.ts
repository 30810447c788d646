// Starts the real server (real app, real repeater, real database engine) on a
// loopback port for a test, with helpers for the desktop API, technician
// logins (supertest agents carrying cookie and CSRF token) and SSE.
import request from 'supertest';
import type TestAgent from 'supertest/lib/agent.js';
import { pino } from 'pino';
import { loadConfig } from '../server/config.ts';
import { startServer, type RunningServer, type StartOptions } from '../server/server.ts';
import type { Clock } from '../server/clock.ts';
import { freshDatabase, type Engine } from './databases.ts';
import { readSseEvents } from '../lib/sse-reader.ts';
import { TEST_REPEATER_SECRET, freePort, startRepeaterProcess, type RepeaterProcess } from './repeater-process.ts';

/** Where the repeater runs in a harness: embedded in the server, or as its own process (repeater/main.ts). */
export type RepeaterMode = 'embedded' | 'process';

export const ADMIN_PASSWORD = 'admin-password-for-tests';

export interface Harness {
  server: RunningServer;
  clock: Clock & { advance(ms: number): void };
  api: ReturnType<typeof request>;
  login(username: string, password: string): Promise<Tech>;
  createTechnician(admin: Tech, username: string, role?: 'admin' | 'technician'): Promise<Tech>;
  helpRequest(fields?: Partial<Record<string, string>>): Promise<{ id: number; secret: string }>;
  /** The repeater process, in 'process' mode. */
  repeaterProcess: RepeaterProcess | null;
  close(): Promise<void>;
}

export interface Tech {
  agent: TestAgent;
  csrf: string;
  id: number;
  post(path: string, body?: object): request.Test;
  patch(path: string, body?: object): request.Test;
  get(path: string): request.Test;
}

export async function startHarness(
  engine: Engine,
  env: Record<string, string> = {},
  options: StartOptions & { repeater?: RepeaterMode } = {},
): Promise<Harness> {
  const database = await freshDatabase(engine);
  const separate = options.repeater === 'process';
  let repeaterEnv: Record<string, string> = {};
  let repeaterPort = 0;
  if (separate) {
    const serverPort = await freePort();
    repeaterPort = await freePort();
    repeaterEnv = {
      PORT: String(serverPort),
      PUBLIC_URL: `http://127.0.0.1:${serverPort}`,
      REPEATER_PUBLIC_URL: `ws://127.0.0.1:${repeaterPort}`,
      REPEATER_SECRET: TEST_REPEATER_SECRET,
      REPEATER_LOST_AFTER_MS: '1000',
    };
  }
  const databaseUrl = database.client === 'sqlite' ? `sqlite:${database.filename}` : database.url;
  const config = loadConfig({
    PORT: '0',
    HOST: '127.0.0.1',
    DATABASE_URL: databaseUrl,
    ADMIN_PASSWORD,
    ARGON2_MEMORY_KIB: '8192',
    LOGIN_RATE_PER_MINUTE: '1000',
    TICKET_CREATE_RATE_PER_MINUTE: '1000',
    ...repeaterEnv,
    ...env,
  });
  let offset = 0;
  const clock = { now: () => Date.now() + offset, advance: (ms: number) => void (offset += ms) };
  const server = await startServer(config, pino({ level: process.env.TEST_LOG_LEVEL ?? 'silent' }), { clock, ...options });
  const api = request(server.url);
  let repeaterProcess: RepeaterProcess | null = null;
  if (separate) {
    try {
      repeaterProcess = await startRepeaterProcess({ REPEATER_SERVER_URL: server.url, REPEATER_SECRET: TEST_REPEATER_SECRET, REPEATER_NAME: 'node-a' }, { port: repeaterPort });
    } catch (err) {
      await server.close();
      throw err;
    }
  }

  const login = (username: string, password: string): Promise<Tech> => loginAt(server.url, username, password);

  return {
    server,
    clock,
    api,
    login,
    async createTechnician(admin, username, role = 'technician') {
      const password = `${username}-password-123`;
      const res = await admin.post('/api/v1/technicians', { username, displayName: username[0]!.toUpperCase() + username.slice(1), role, password });
      if (res.status !== 201) throw new Error(`create ${username}: ${res.status} ${JSON.stringify(res.body)}`);
      return login(username, password);
    },
    async helpRequest(fields = {}) {
      const res = await api
        .post('/api/v1/help-requests')
        .send({ requesterName: 'Bob User', username: 'bob', hostname: 'pc-42', os: 'Debian 12', description: 'Printer does not print', ...fields });
      if (res.status !== 201) throw new Error(`help request: ${res.status} ${JSON.stringify(res.body)}`);
      return { id: res.body.id, secret: res.body.clientSecret };
    },
    repeaterProcess,
    async close() {
      await repeaterProcess?.stop();
      await server.close();
    },
  };
}

/** Logs a technician in at a running server: a supertest agent carrying the cookie and the CSRF token. */
export async function loginAt(url: string, username: string, password: string): Promise<Tech> {
  const agent = request.agent(url);
  const probe = await agent.get('/auth/session').expect(200);
  const res = await agent.post('/auth/login').set('x-csrf-token', probe.body.csrfToken).send({ username, password });
  if (res.status !== 200) throw new Error(`login ${username} failed: ${res.status} ${JSON.stringify(res.body)}`);
  const csrf: string = res.body.csrfToken;
  return {
    agent,
    csrf,
    id: res.body.technician.id,
    post: (path, body = {}) => agent.post(path).set('x-csrf-token', csrf).send(body),
    patch: (path, body = {}) => agent.patch(path).set('x-csrf-token', csrf).send(body),
    get: (path) => agent.get(path),
  };
}

export interface SseStream {
  /** Resolves with the first event (already received or still to come) that `predicate` accepts. */
  next(predicate: (event: string, data: any) => boolean, timeoutMs?: number): Promise<{ event: string; data: any; at: number }>;
  close(): void;
}

/** Opens an SSE stream; resolves once the response headers arrived. Events are queued from the start. */
export async function openSse(url: string, headers: Record<string, string>): Promise<SseStream> {
  const controller = new AbortController();
  const queue: { event: string; data: any; at: number }[] = [];
  const waker: { wake: (() => void) | null } = { wake: null };
  const res = await fetch(url, { headers, signal: controller.signal });
  if (!res.ok || !res.body) throw new Error(`SSE HTTP ${res.status}: ${await res.text()}`);
  const body = res.body as unknown as AsyncIterable<Uint8Array>;
  void readSseEvents(body, (event, data) => {
    queue.push({ event, data, at: Date.now() });
    waker.wake?.();
  }).then(
    () => {
      // The server ended the stream cleanly (a terminated body).
      queue.push({ event: 'stream-end', data: null, at: Date.now() });
      waker.wake?.();
    },
    (err: unknown) => {
      // A cut stream; next() then reports what it saw.
      if ((err as Error).name !== 'AbortError') queue.push({ event: 'stream-error', data: String(err), at: Date.now() });
      waker.wake?.();
    },
  );
  return {
    async next(predicate, timeoutMs = 5000) {
      const deadline = Date.now() + timeoutMs;
      let scanned = 0;
      for (;;) {
        for (; scanned < queue.length; scanned++) {
          const item = queue[scanned]!;
          if (predicate(item.event, item.data)) {
            queue.splice(scanned, 1);
            return item;
          }
        }
        const left = deadline - Date.now();
        if (left <= 0) throw new Error(`SSE: no matching event within ${timeoutMs} ms; saw ${JSON.stringify(queue)}`);
        await new Promise<void>((resolve) => {
          const timer = setTimeout(resolve, left);
          waker.wake = () => {
            clearTimeout(timer);
            resolve();
          };
        });
        waker.wake = null;
      }
    },
    close: () => controller.abort(),
  };
}

/** The Cookie header of a logged-in technician's agent (for SSE and websocket clients). */
export async function cookieOf(tech: Tech): Promise<string> {
  await tech.get('/auth/session');
  const jar = (tech.agent as unknown as { jar: { getCookies(o: object): { name: string; value: string }[] } }).jar;
  return jar
    .getCookies({ domain: '127.0.0.1', path: '/', secure: false, script: false })
    .map((c) => `${c.name}=${c.value}`)
    .join('; ');
}
