// Starts the real server (real app, real repeater, real database engine) on a
// loopback port for a test, with helpers for the desktop API, technician
// logins (supertest agents carrying cookie and CSRF token) and SSE.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import request from 'supertest';
import { pino } from 'pino';
import { loadConfig } from '../server/config.ts';
import { startServer, type RunningServer, type StartOptions } from '../server/server.ts';
import type { Clock } from '../server/clock.ts';
import { freshDatabase, type Engine } from './databases.ts';
import { loginAt, testServerEnv, type Tech } from './http-clients.ts';

export { cookieOf, loginAt, openSse, type SseStream, type Tech } from './http-clients.ts';
import { TEST_REPEATER_SECRET, freePort, startRepeaterProcess, type RepeaterProcess } from './repeater-process.ts';

/** Where the repeater runs in a harness: embedded in the server, or as its own process (repeater/main.ts). */
export type RepeaterMode = 'embedded' | 'process';

export { ADMIN_PASSWORD, TEST_RECORDING_KEY, TEST_SECRETS_KEY } from './http-clients.ts';

export interface Harness {
  server: RunningServer;
  clock: Clock & { advance(ms: number): void };
  api: ReturnType<typeof request>;
  login(username: string, password: string): Promise<Tech>;
  createTechnician(admin: Tech, username: string, role?: 'admin' | 'technician', displayName?: string): Promise<Tech>;
  /** A technician of its own for one test: username `<name>-<n>`, display name `<Name>`, password `<username>-password-123`. */
  freshTechnician(admin: Tech, name: string, role?: 'admin' | 'technician'): Promise<Tech & { username: string; password: string }>;
  helpRequest(fields?: Partial<Record<string, string>>): Promise<{ id: number; secret: string }>;
  /** A help request that `technician` has accepted (files may be sent on it). */
  acceptedRequest(technician: Tech): Promise<{ id: number; secret: string }>;
  /** How many rows a table holds. */
  rows(table: string): Promise<number>;
  /** The repeater process, in 'process' mode. */
  repeaterProcess: RepeaterProcess | null;
  /** Where this harness's recordings are written (server and repeater process alike). */
  recordingsDir: string;
  close(): Promise<void>;
}


export async function startHarness(
  engine: Engine,
  env: Record<string, string> = {},
  options: StartOptions & { repeater?: RepeaterMode; /** More environment for the repeater process. */ repeaterEnv?: Record<string, string> } = {},
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
  // Recording is off unless a test turns it on (its own tests do); files go to a fresh directory.
  const recordingsDir = env.RECORDINGS_DIR ?? mkdtempSync(join(tmpdir(), 'hd-recordings-'));
  const config = loadConfig({
    ...testServerEnv(recordingsDir, mkdtempSync(join(tmpdir(), 'hd-files-'))),
    PORT: '0',
    HOST: '127.0.0.1',
    DATABASE_URL: databaseUrl,
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
      repeaterProcess = await startRepeaterProcess(
        { REPEATER_SERVER_URL: server.url, REPEATER_SECRET: TEST_REPEATER_SECRET, REPEATER_NAME: 'node-a', RECORDINGS_DIR: recordingsDir, ...options.repeaterEnv },
        { port: repeaterPort },
      );
    } catch (err) {
      await server.close();
      throw err;
    }
  }

  const login = (username: string, password: string): Promise<Tech> => loginAt(server.url, username, password);
  let technicianSeq = 0;
  const createTechnician = async (admin: Tech, username: string, role: 'admin' | 'technician' = 'technician', displayName = username[0]!.toUpperCase() + username.slice(1)): Promise<Tech> => {
    const password = `${username}-password-123`;
    const res = await admin.post('/api/v1/technicians', { username, displayName, role, password });
    if (res.status !== 201) throw new Error(`create ${username}: ${res.status} ${JSON.stringify(res.body)}`);
    return login(username, password);
  };

  const helpRequest = async (fields: Partial<Record<string, string>> = {}): Promise<{ id: number; secret: string }> => {
    const res = await api
      .post('/api/v1/help-requests')
      .send({ requesterName: 'Bob User', username: 'bob', hostname: 'pc-42', os: 'Debian 12', description: 'Printer does not print', ...fields });
    if (res.status !== 201) throw new Error(`help request: ${res.status} ${JSON.stringify(res.body)}`);
    return { id: res.body.id, secret: res.body.clientSecret };
  };

  return {
    server,
    clock,
    api,
    login,
    createTechnician,
    async freshTechnician(admin, name, role = 'technician') {
      const username = `${name}-${++technicianSeq}`;
      const tech = await createTechnician(admin, username, role, name[0]!.toUpperCase() + name.slice(1));
      return Object.assign(tech, { username, password: `${username}-password-123` });
    },
    helpRequest,
    async acceptedRequest(technician) {
      const t = await helpRequest();
      await technician.post(`/api/v1/tickets/${t.id}/accept`).expect(200);
      return t;
    },
    async rows(table) {
      return Number(((await server.db(table).count({ n: '*' }).first()) as { n: number | string }).n);
    },
    repeaterProcess,
    recordingsDir,
    async close() {
      await repeaterProcess?.stop();
      await server.close();
    },
  };
}

