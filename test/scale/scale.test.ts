// `npm run test:scale`: two servers, two repeater nodes, Redis and nginx in
// front, on one MariaDB — started by the test, on loopback (see topology.ts).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { randomBytes } from 'node:crypto';
import request from 'supertest';
import { freshDatabase } from '../databases.ts';
import { ADMIN_PASSWORD, cookieOf, loginAt, openLeg, openSse, type Tech, type TestLeg } from '../http-clients.ts';
import { clientKey, startTopology, type Topology } from './topology.ts';

let t: Topology;
let ana: Tech;

beforeAll(async () => {
  const database = await freshDatabase('mysql');
  if (database.client !== 'mysql') throw new Error('the scale test runs on MariaDB');
  t = await startTopology(database.url, { MAX_ACTIVE_TICKETS_PER_TECH: '300' });
  const admin = await loginAt(t.front, 'admin', ADMIN_PASSWORD);
  await admin.post('/api/v1/technicians', { username: 'ana', displayName: 'Ana', role: 'technician', password: 'ana-password-123' }).expect(201);
  ana = await loginAt(t.front, 'ana', 'ana-password-123');
}, 180_000);

afterAll(async () => {
  await t?.stop();
});

const bearer = (secret: string) => ({ Authorization: `Bearer ${secret}` });
const body = (i: number) => ({ requesterName: `User ${i}`, username: `u${i}`, hostname: `pc-${i}`, os: 'Linux', description: `Problem ${i}` });

const received = (l: TestLeg): Buffer => Buffer.concat(l.inbox);

interface Session {
  id: number;
  secret: string;
  node: string;
  desktop: TestLeg;
  viewer: TestLeg;
}

async function openSession(id: number, secret: string): Promise<Session> {
  const front = request(t.front);
  const d = (await front.post(`/api/v1/help-requests/${id}/desktop-token`).set(bearer(secret)).expect(201)).body.url as string;
  const v = (await ana.post(`/api/v1/tickets/${id}/viewer-token`).expect(201)).body.url as string;
  const node = /\/r\/([^/]+)\/wsServer/.exec(d)![1]!;
  expect(v).toContain(`/r/${node}/wsClient`);
  const desktop = await openLeg(d);
  const viewer = await openLeg(v, t.front);
  return { id, secret, node, desktop, viewer };
}

async function exchange(s: Session): Promise<void> {
  const payload = Buffer.concat([Buffer.from(`ticket ${s.id}:`), randomBytes(1024)]);
  const before = received(s.viewer).length;
  s.desktop.ws.send(payload);
  await expect.poll(() => received(s.viewer).length, { timeout: 10_000 }).toBe(before + payload.length);
  expect(received(s.viewer).subarray(before).equals(payload)).toBe(true);
}

const sessions: Session[] = [];

describe('two servers, two repeater nodes, Redis and nginx', () => {
  it('200 requests created alternately through both servers reach a live queue on nginx within a second; every session pairs on its node, none crossed', async () => {
    const admin = await loginAt(t.front, 'admin', ADMIN_PASSWORD);
    const live = await openSse(`${t.front}/api/v1/events`, { cookie: await cookieOf(admin) });
    await live.next((e) => e === 'snapshot');
    const created: { id: number; secret: string; at: number }[] = [];
    for (let i = 0; i < 200; i++) {
      const server = t.servers[i % 2]!;
      const res = await request(server.url).post('/api/v1/help-requests').set(clientKey).send(body(i)).expect(201);
      created.push({ id: res.body.id, secret: res.body.clientSecret, at: Date.now() });
    }
    const delays: number[] = [];
    for (const c of created) delays.push((await live.next((e, d) => e === 'ticket' && d.ticket.id === c.id, 5_000)).at - c.at);
    expect(Math.max(...delays)).toBeLessThan(1_000);
    live.close();
    // Ana takes them one after the other (as a person would), the users allow.
    for (const c of created) {
      await ana.post(`/api/v1/tickets/${c.id}/accept`).expect(200);
      await request(t.front).post(`/api/v1/help-requests/${c.id}/approve`).set(bearer(c.secret)).send({ viewOnly: false }).expect(200);
    }
    // Sessions for all of them, through nginx, on their assigned nodes, 20 at a time.
    for (let i = 0; i < created.length; i += 20) {
      sessions.push(...(await Promise.all(created.slice(i, i + 20).map((c) => openSession(c.id, c.secret)))));
    }
    await Promise.all(sessions.map(exchange));
    const perNode = sessions.reduce<Record<string, number>>((acc, s) => ({ ...acc, [s.node]: (acc[s.node] ?? 0) + 1 }), {});
    // Least-loaded, decided per ticket while 20 are opened at once: balanced, not to the unit.
    expect(Object.keys(perNode).sort()).toEqual(['node-1', 'node-2']);
    expect(Math.abs(perNode['node-1']! - perNode['node-2']!)).toBeLessThanOrEqual(20);
  }, 180_000);

  it('a repeater node dies: only its sessions end, their tickets move to the other node, the other sessions go on', async () => {
    const onB = sessions.filter((s) => s.node === 'node-1');
    const onC = sessions.filter((s) => s.node === 'node-2');
    await t.nodes['node-1']!.kill();
    await Promise.all(onB.map((s) => s.viewer.closed));
    await Promise.all(onC.slice(0, 20).map(exchange));
    const first = onB[0]!;
    await expect.poll(async () => (await ana.get(`/api/v1/tickets/${first.id}`)).body.sessions.map((x: { endReason: string | null }) => x.endReason), { timeout: 10_000 }).toEqual(['REPEATER_LOST']);
    expect((await ana.get(`/api/v1/tickets/${first.id}`)).body.ticket.status).toBe('in_session');
    await new Promise((r) => setTimeout(r, 1_200)); // node-1 is stale
    // The clients re-arm: new tokens, on node-2.
    for (const s of onB.slice(0, 10)) {
      const again = await openSession(s.id, s.secret);
      expect(again.node).toBe('node-2');
      await exchange(again);
      again.desktop.ws.terminate();
      again.viewer.ws.terminate();
    }
  }, 120_000);

  it('a server dies: nginx sends new requests to the other, and a live queue that reconnects misses nothing', async () => {
    const admin = await loginAt(t.front, 'admin', ADMIN_PASSWORD);
    t.servers[0]!.process!.child.kill('SIGKILL');
    await t.servers[0]!.process!.exited;
    const during: number[] = [];
    for (let i = 0; i < 6; i++) during.push((await request(t.front).post('/api/v1/help-requests').set(clientKey).send(body(1000 + i)).expect(201)).body.id);
    // A queue reconnecting (as EventSource does) gets a snapshot with all of them.
    const live = await openSse(`${t.front}/api/v1/events`, { cookie: await cookieOf(admin) });
    const snapshot = await live.next((e) => e === 'snapshot');
    const queued = new Set((snapshot.data.queue as { id: number }[]).map((x) => x.id));
    for (const id of during) expect(queued.has(id)).toBe(true);
    // And it follows live events from the surviving server.
    const more = (await request(t.front).post('/api/v1/help-requests').set(clientKey).send(body(2000)).expect(201)).body.id;
    await live.next((e, d) => e === 'ticket' && d.ticket.id === more, 2_000);
    live.close();
    for (const s of sessions) {
      s.desktop.ws.terminate();
      s.viewer.ws.terminate();
    }
  }, 60_000);

  it('Redis restarts: live events flow across servers again without restarting them', async () => {
    await t.startServer(0); // back after the previous test
    const admin = await loginAt(t.front, 'admin', ADMIN_PASSWORD);
    const live = await openSse(`${t.servers[0]!.url}/api/v1/events`, { cookie: await cookieOf(admin) });
    await live.next((e) => e === 'snapshot');
    await t.redis.stop();
    await t.redis.start();
    const deadline = Date.now() + 15_000;
    let arrived = false;
    while (!arrived && Date.now() < deadline) {
      const id = (await request(t.servers[1]!.url).post('/api/v1/help-requests').set(clientKey).send(body(3000)).expect(201)).body.id;
      arrived = await live.next((e, d) => e === 'ticket' && d.ticket.id === id, 1_000).then(() => true, () => false);
    }
    expect(arrived).toBe(true);
    live.close();
  }, 60_000);
});
