// Two real servers in this process on one database (MariaDB when the run has
// one, else one SQLite file), each with the repeater link (REPEATER_SECRET):
// what a load-balanced internal door makes of a node's requests, without
// nginx. Used by the suites of issue 24 (events by session, node claims).
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import request from 'supertest';
import { pino } from 'pino';
import { loadConfig } from '../server/config.ts';
import { startServer, type RunningServer } from '../server/server.ts';
import { freshDatabase, type Engine } from './databases.ts';
import { ADMIN_PASSWORD, loginAt, testServerEnv, type Tech } from './http-clients.ts';
import { TEST_REPEATER_SECRET } from './repeater-process.ts';

export interface TwoServers {
  servers: [RunningServer, RunningServer];
  /** Where recordings go (both servers share it). */
  recordingsDir: string;
  ana: Tech;
  /** A help request accepted by Ana and allowed by its user (recorded when RECORD_SESSIONS is on). */
  approved(): Promise<{ id: number; secret: string }>;
  close(): Promise<void>;
}

export async function startTwoServers(engine: Engine, env: Record<string, string> = {}): Promise<TwoServers> {
  const database = await freshDatabase(engine);
  const recordingsDir = mkdtempSync(join(tmpdir(), 'hd-two-recordings-'));
  const config = loadConfig({
    DATABASE_URL: database.client === 'sqlite' ? `sqlite:${database.filename}` : database.url,
    PORT: '0',
    HOST: '127.0.0.1',
    PUBLIC_URL: 'http://127.0.0.1:9',
    REPEATER_PUBLIC_URL: 'ws://127.0.0.1:9',
    REPEATER_SECRET: TEST_REPEATER_SECRET,
    REPEATER_LOST_AFTER_MS: '1000',
    ...testServerEnv(recordingsDir, mkdtempSync(join(tmpdir(), 'hd-two-files-'))),
    MAX_ACTIVE_TICKETS_PER_TECH: '100',
    ...env,
  });
  const logger = pino({ level: process.env.TEST_LOG_LEVEL ?? 'silent' });
  const first = await startServer(config, logger); // one at a time: the first runs the migrations
  const second = await startServer(config, logger);
  const admin = await loginAt(first.url, 'admin', ADMIN_PASSWORD);
  await admin.post('/api/v1/technicians', { username: 'ana', displayName: 'Ana', role: 'technician', password: 'ana-password-123' }).expect(201);
  const ana = await loginAt(first.url, 'ana', 'ana-password-123');
  return {
    servers: [first, second],
    recordingsDir,
    ana,
    async approved() {
      const res = await request(first.url).post('/api/v1/help-requests').send({ requesterName: 'Bob User', username: 'bob', hostname: 'pc-42', os: 'Debian 12', description: 'Printer does not print' }).expect(201);
      await ana.post(`/api/v1/tickets/${res.body.id}/accept`).expect(200);
      await request(second.url).post(`/api/v1/help-requests/${res.body.id}/approve`).set({ authorization: `Bearer ${res.body.clientSecret}` }).send({ viewOnly: false, recordingNoticeShown: true }).expect(200);
      return { id: res.body.id as number, secret: res.body.clientSecret as string };
    },
    async close() {
      await second.close();
      await first.close();
    },
  };
}
