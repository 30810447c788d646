// Two servers on one database, each with its embedded repeater: a server's
// start closes only the embedded rows nobody runs — never the live sessions
// of another server that runs. Each embedded repeater holds a claim
// (`server:…`) with a lease its server renews; its rows name its instance.
// The first server gone (stopped without closing its rows) and its lease run
// out, the other server ends its rows, once.
import { afterAll, describe, expect, it } from 'vitest';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomUUID } from 'node:crypto';
import request from 'supertest';
import { pino } from 'pino';
import { loadConfig } from '../server/config.ts';
import { startServer, type RunningServer } from '../server/server.ts';
import { engines, freshDatabase } from './databases.ts';
import { testServerEnv } from './http-clients.ts';
import { TEST_REPEATER_SECRET } from './repeater-process.ts';

const engine = engines.includes('mysql') ? 'mysql' : 'sqlite';
const running: RunningServer[] = [];

afterAll(async () => {
  for (const s of running.reverse()) await s.close();
});

describe('embedded repeaters of several servers on one database', () => {
  it('server 2 starting leaves server 1\'s live embedded session open; server 1 gone, its lease run out: its rows end once', async () => {
    const database = await freshDatabase(engine);
    const dir = mkdtempSync(join(tmpdir(), 'hd-embedded-'));
    const config = loadConfig({
      ...testServerEnv(dir, mkdtempSync(join(tmpdir(), 'hd-embedded-files-'))),
      DATABASE_URL: database.client === 'sqlite' ? `sqlite:${database.filename}` : database.url,
      PORT: '0',
      HOST: '127.0.0.1',
      PUBLIC_URL: 'http://127.0.0.1:9',
      REPEATER_SECRET: TEST_REPEATER_SECRET,
      REPEATER_LOST_AFTER_MS: '1000',
    });
    const logger = pino({ level: process.env.TEST_LOG_LEVEL ?? 'silent' });
    const s1 = await startServer(config, logger);
    running.push(s1);
    const db = s1.db;
    const claims = (await db('repeater_claims').where('node', 'like', 'server:%').select('instance')) as { instance: string }[];
    const instance = claims[0]?.instance ?? randomUUID(); // server 1's embedded repeater (the one claim)
    const res = await request(s1.url).post('/api/v1/help-requests').send({ requesterName: 'Bob', username: 'bob', hostname: 'pc', os: 'x', description: 'y' }).expect(201);
    const ticketId = res.body.id as number;
    // What server 1's embedded repeater writes for a session it runs, and a leg waiting on it.
    const now = Date.now();
    await db('remote_sessions').insert({ node: null, instance, session_uid: randomUUID(), ticket_id: ticketId, technician_id: null, started_at: now, ended_at: null, duration_ms: null, bytes_desktop_to_viewer: 7, bytes_viewer_to_desktop: 3, end_reason: null, ended_by: null, updated_at: now });
    await db('remote_legs').insert({ session_uid: randomUUID(), side: 'desktop', ticket_id: ticketId, node: null, instance, since: now });
    const rows = async () => (await db('remote_sessions').where({ ticket_id: ticketId }).select('end_reason', 'ended_at')) as { end_reason: string | null; ended_at: number | null }[];
    const legs = async () => ((await db('remote_legs').where({ ticket_id: ticketId })) as unknown[]).length;

    const s2 = await startServer(config, logger); // a second server starts
    running.push(s2);
    expect(await rows()).toEqual([{ end_reason: null, ended_at: null }]);
    expect(await legs()).toBe(1);
    await new Promise((r) => setTimeout(r, 2_500)); // past a lease: server 1 renews its claim, server 2's rounds leave its rows
    expect(await rows()).toEqual([{ end_reason: null, ended_at: null }]);
    expect(await legs()).toBe(1);

    // Server 1 gone without closing its rows (its embedded repeater never ran them: its close leaves them as a crash would).
    await s1.close();
    running.splice(running.indexOf(s1), 1);
    const db2 = s2.db;
    await expect.poll(async () => (await db2('remote_sessions').where({ ticket_id: ticketId }).select('end_reason')).map((r: { end_reason: string }) => r.end_reason), { timeout: 10_000 }).toEqual(['SERVER_RESTARTED']);
    await expect.poll(async () => ((await db2('remote_legs').where({ ticket_id: ticketId })) as unknown[]).length, { timeout: 5_000 }).toBe(0);
    await new Promise((r) => setTimeout(r, 1_000)); // more rounds change nothing
    expect(((await db2('audit_events').where({ ticket_id: ticketId, action: 'session.ended' })) as unknown[]).length).toBe(1);
  }, 40_000);
});
