// Clients of a running server for tests and benchmarks (no vitest inside, so
// bench/ scripts can use them): a technician's login as a supertest agent
// with its CSRF token, the Cookie header, and an SSE reader.
import request from 'supertest';
import { WebSocket } from 'ws';
import type TestAgent from 'supertest/lib/agent.js';
import { readSseEvents } from '../lib/sse-reader.ts';

export const ADMIN_PASSWORD = 'admin-password-for-tests';
/** The secrets key ring servers under test seal with (so that none writes a key file into ./data). */
export const TEST_SECRETS_KEY = 'test1:GHmVY4IdzOZTvsKUqt1Ux/bDuXrlyBzJBlPKSufXDpA=';
/** The key ring recordings are sealed with in tests (so no test writes a key file under ./data). */
export const TEST_RECORDING_KEY = 'rec1:8q2XbqJ0m7mBq8Xw3cV3vYbKx2Q9d1l0Zr5oUu6p4hE=';

/** What every in-process test server is started with: test keys, cheap hashing, generous rates, files and recordings in fresh directories (recording off unless a test turns it on). */
export function testServerEnv(recordingsDir: string, filesDir: string): Record<string, string> {
  return {
    RECORD_SESSIONS: 'off',
    RECORDINGS_DIR: recordingsDir,
    FILES_DIR: filesDir,
    ADMIN_PASSWORD,
    SECRETS_KEY: TEST_SECRETS_KEY,
    RECORDING_KEY: TEST_RECORDING_KEY,
    ARGON2_MEMORY_KIB: '8192',
    LOGIN_RATE_PER_MINUTE: '1000',
    TICKET_CREATE_RATE_PER_MINUTE: '1000',
  };
}

export interface Tech {
  agent: TestAgent;
  csrf: string;
  id: number;
  post(path: string, body?: object): request.Test;
  patch(path: string, body?: object): request.Test;
  get(path: string): request.Test;
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
  next(predicate: (event: string, data: any) => boolean, timeoutMs?: number): Promise<{ event: string; data: any; at: number; id: string | null }>;
  close(): void;
}

/** Opens an SSE stream; resolves once the response headers arrived. Events are queued from the start. */
export async function openSse(url: string, headers: Record<string, string>): Promise<SseStream> {
  const controller = new AbortController();
  const queue: { event: string; data: any; at: number; id: string | null }[] = [];
  const waker: { wake: (() => void) | null } = { wake: null };
  const res = await fetch(url, { headers, signal: controller.signal });
  if (!res.ok || !res.body) throw new Error(`SSE HTTP ${res.status}: ${await res.text()}`);
  const body = res.body as unknown as AsyncIterable<Uint8Array>;
  void readSseEvents(body, (event, data, id) => {
    queue.push({ event, data, at: Date.now(), id });
    waker.wake?.();
  }).then(
    () => {
      // The server ended the stream cleanly (a terminated body).
      queue.push({ event: 'stream-end', data: null, at: Date.now(), id: null });
      waker.wake?.();
    },
    (err: unknown) => {
      // A cut stream; next() then reports what it saw.
      if ((err as Error).name !== 'AbortError') queue.push({ event: 'stream-error', data: String(err), at: Date.now(), id: null });
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
    .getCookies({ domain: '127.0.0.1', path: '/', secure: true, script: false }) // secure: Secure cookies too (behind TLS)
    .map((c) => `${c.name}=${c.value}`)
    .join('; ');
}

/** One leg as a test holds it: the websocket, every message received so far, and its close code to come. */
export interface TestLeg {
  ws: WebSocket;
  inbox: Buffer[];
  closed: Promise<number>;
}

/** Opens a repeater leg; a refused upgrade rejects with its HTTP status and JSON body. */
export function openLeg(url: string, origin?: string): Promise<TestLeg> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, origin ? { origin } : {});
    const inbox: Buffer[] = [];
    ws.on('message', (d: Buffer) => inbox.push(d));
    const closed = new Promise<number>((r) => ws.once('close', (code) => r(code)));
    ws.once('open', () => resolve({ ws, inbox, closed }));
    ws.once('unexpected-response', (_req, res) => {
      let text = '';
      res.on('data', (c: Buffer) => (text += c.toString()));
      res.on('end', () => reject(Object.assign(new Error(`HTTP ${res.statusCode} for ${url}`), { status: res.statusCode, body: JSON.parse(text || '{}') })));
    });
    ws.once('error', reject);
  });
}
