// Issue 24, one truth for nodes and sessions, on the scale topology (nginx, two
// servers, two repeater nodes, Redis, MariaDB; topology.ts). node-1 is started
// again with its link through a TCP proxy to server 1; the proxy then cuts
// every connection of the link (its command stream too) and sends the new
// ones to server 2: the sessions run on, no row closes, no recording is
// marked incomplete. Killed for real, node-1's sessions end REPEATER_LOST
// once, one row each.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { randomBytes } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import knexFactory, { type Knex } from 'knex';
import request from 'supertest';
import { freshDatabase } from '../databases.ts';
import { ADMIN_PASSWORD, loginAt, openLeg, type Tech, type TestLeg } from '../http-clients.ts';
import { freePort } from '../processes.ts';
import { TEST_REPEATER_SECRET, startRepeaterProcess } from '../repeater-process.ts';
import { LinkProxy } from '../recording-handover-helpers.ts';
import { clientKey, startTopology, type Topology } from './topology.ts';

let t: Topology;
let db: Knex;
let ana: Tech;
let proxy: LinkProxy;

beforeAll(async () => {
  const database = await freshDatabase('mysql');
  if (database.client !== 'mysql') throw new Error('the scale test runs on MariaDB');
  // The servers share one recordings directory (nodes hand recordings over to either).
  t = await startTopology(database.url, { RECORD_SESSIONS: 'on', RECORDINGS_DIR: mkdtempSync(join(tmpdir(), 'hd-scale-recordings-')) });
  db = knexFactory({ client: 'mysql2', connection: database.url, pool: { min: 0, max: 2 } });
  const admin = await loginAt(t.front, 'admin', ADMIN_PASSWORD);
  await admin.post('/api/v1/technicians', { username: 'ana', displayName: 'Ana', role: 'technician', password: 'ana-password-123' }).expect(201);
  ana = await loginAt(t.front, 'ana', 'ana-password-123');
  // node-1 again, its link to server 1 through a proxy the test can cut.
  const node1 = t.nodes['node-1']!;
  await node1.stop();
  proxy = new LinkProxy(await freePort(), t.servers[0]!.port);
  await proxy.restore();
  const frontPort = new URL(t.front).port;
  t.nodes['node-1'] = await startRepeaterProcess(
    {
      REPEATER_SERVER_URL: proxy.url,
      REPEATER_SECRET: TEST_REPEATER_SECRET,
      REPEATER_NAME: 'node-1',
      REPEATER_NODE_URL: `wss://127.0.0.1:${frontPort}/r/node-1`,
      REPEATER_NODE_HEARTBEAT_MS: '200',
      REPEATER_MAX_LEGS_PER_ADDRESS: '5000',
      RECORDINGS_DIR: mkdtempSync(join(tmpdir(), 'hd-node-1-recordings-')),
    },
    { port: node1.port },
  );
  await new Promise((r) => setTimeout(r, 400)); // its first heartbeats
}, 180_000);

afterAll(async () => {
  await t?.stop();
  await proxy?.cut();
  await db?.destroy();
});

const bearer = (secret: string) => ({ Authorization: `Bearer ${secret}` });
const received = (l: TestLeg): Buffer => Buffer.concat(l.inbox);

interface Session {
  id: number;
  node: string;
  desktop: TestLeg;
  viewer: TestLeg;
}

async function approvedTicket(i: number): Promise<{ id: number; secret: string }> {
  const res = await request(t.front).post('/api/v1/help-requests').set(clientKey).send({ requesterName: `User ${i}`, username: `u${i}`, hostname: `pc-${i}`, os: 'Linux', description: `Problem ${i}` });
  if (res.status !== 201) throw new Error(JSON.stringify(res.body));
  await ana.post(`/api/v1/tickets/${res.body.id}/accept`).expect(200);
  await request(t.front).post(`/api/v1/help-requests/${res.body.id}/approve`).set(bearer(res.body.clientSecret)).send({ viewOnly: false, recordingNoticeShown: true }).expect(200);
  return { id: res.body.id, secret: res.body.clientSecret };
}

async function openSession(i: number): Promise<Session> {
  const { id, secret } = await approvedTicket(i);
  const d = (await request(t.front).post(`/api/v1/help-requests/${id}/desktop-token`).set(bearer(secret)).expect(201)).body.url as string;
  const v = (await ana.post(`/api/v1/tickets/${id}/viewer-token`).expect(201)).body.url as string;
  const node = /\/r\/([^/]+)\/wsServer/.exec(d)![1]!;
  const desktop = await openLeg(d);
  const viewer = await openLeg(v, t.front);
  return { id, node, desktop, viewer };
}

async function exchange(s: Session): Promise<void> {
  const payload = randomBytes(1024);
  const before = received(s.viewer).length;
  s.desktop.ws.send(payload);
  await expect.poll(() => received(s.viewer).length, { timeout: 10_000 }).toBe(before + payload.length);
}

const rowsOf = async (ids: number[]) => (await db('remote_sessions').whereIn('ticket_id', ids).orderBy('id')) as { ticket_id: number; ended_at: number | null; end_reason: string | null }[];
const recordingsOf = async (ids: number[]) => (await db('recordings').whereIn('ticket_id', ids)) as { ticket_id: number; state: string }[];
const endedAudits = async (ids: number[]) => (await db('audit_events').whereIn('ticket_id', ids).where({ action: 'session.ended' })) as { ticket_id: number }[];

describe('a node\'s link moves between servers; only its real loss ends its sessions', () => {
  it('20 live sessions on node-1: its link cut on server 1 and back on server 2 ends nothing; node-1 killed, each ends REPEATER_LOST once, one row each', async () => {
    const onNode1: Session[] = [];
    for (let i = 0; onNode1.length < 20 && i < 80; i += 10) {
      const batch = await Promise.all(Array.from({ length: 10 }, (_, k) => openSession(i + k)));
      for (const s of batch) {
        if (s.node === 'node-1' && onNode1.length < 20) onNode1.push(s);
        else {
          s.desktop.ws.terminate();
          s.viewer.ws.terminate();
        }
      }
    }
    expect(onNode1).toHaveLength(20);
    await Promise.all(onNode1.map(exchange));
    const ids = onNode1.map((s) => s.id);
    await expect.poll(async () => (await rowsOf(ids)).length, { timeout: 10_000 }).toBe(20);
    await expect.poll(async () => (await recordingsOf(ids)).filter((r) => r.state === 'recording').length, { timeout: 10_000 }).toBe(20);

    // The link's every connection (command stream, events, heartbeats) cut on server 1; it comes back on server 2.
    const streamHolder = async () => ((await db('repeater_claims').where({ node: 'node-1' }).first()) as { stream_server: string | null }).stream_server;
    const before = await streamHolder();
    expect(before).not.toBeNull();
    proxy.retarget(t.servers[1]!.port);
    await proxy.cut();
    await proxy.restore();
    // Held by server 2 now (the claim names the server holding the node's stream).
    await expect.poll(async () => [null, before].includes(await streamHolder()), { timeout: 5_000 }).toBe(false);
    await new Promise((r) => setTimeout(r, 4_000)); // well past REPEATER_LOST_AFTER_MS (1 s) and the reaper's rounds
    await Promise.all(onNode1.map(exchange));
    for (const s of onNode1) expect(s.viewer.ws.readyState).toBe(s.viewer.ws.OPEN);
    const rows = await rowsOf(ids);
    expect(rows).toHaveLength(20);
    expect(rows.filter((r) => r.ended_at !== null)).toEqual([]);
    expect((await recordingsOf(ids)).filter((r) => r.state !== 'recording')).toEqual([]);
    expect(await endedAudits(ids)).toEqual([]);
    for (const s of onNode1) expect((await ana.get(`/api/v1/tickets/${s.id}`).expect(200)).body.desktop).toBe('paired');

    // node-1 dies: each of its sessions ends REPEATER_LOST, once, one row each.
    await t.nodes['node-1']!.kill();
    await Promise.all(onNode1.map((s) => s.viewer.closed));
    await expect.poll(async () => (await rowsOf(ids)).filter((r) => r.end_reason === 'REPEATER_LOST').length, { timeout: 15_000 }).toBe(20);
    await new Promise((r) => setTimeout(r, 3_000)); // more reaper rounds on both servers change nothing
    const after = await rowsOf(ids);
    expect(after).toHaveLength(20);
    expect(new Set(after.map((r) => r.ticket_id)).size).toBe(20);
    expect(after.every((r) => r.end_reason === 'REPEATER_LOST' && r.ended_at !== null)).toBe(true);
    expect(await endedAudits(ids)).toHaveLength(20);
    expect((await recordingsOf(ids)).map((r) => r.state)).toEqual(Array.from({ length: 20 }, () => 'incomplete'));
  }, 180_000);
});
