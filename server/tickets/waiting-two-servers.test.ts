// Two real servers on one database, each running its own check for requests
// waiting past their target (WAIT_CHECK_MS 200): a request past its 1 s
// target is marked once for the deployment — one audit row, one live event,
// whichever server's UPDATE wins — and a technician's stream on either server
// hears of it once. On both engines (MariaDB when the run has one).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import request from 'supertest';
import { startTwoServers, type TwoServers } from '../../test/two-servers.ts';
import { engines } from '../../test/databases.ts';
import { ADMIN_PASSWORD, cookieOf, loginAt, openSse } from '../../test/http-clients.ts';

describe.each(engines)('requests waiting too long, two servers (%s)', (engine) => {
  let two: TwoServers;

  beforeAll(async () => {
    two = await startTwoServers(engine, { WAIT_CHECK_MS: '200' });
  }, 60_000);

  afterAll(async () => {
    await two?.close();
  });

  it('is marked once, with one audit row and one live event, though both servers check', async () => {
    const [first, second] = two.servers;
    const admin = await loginAt(first.url, 'admin', ADMIN_PASSWORD);
    const topicId = (await admin.post('/api/v1/topics', { nameEn: 'Urgent', nameEs: 'Urgente', nameZh: '紧急', targetWaitSeconds: 1 }).expect(201)).body.topic.id;
    const streams = [await openSse(`${first.url}/api/v1/events`, { cookie: await cookieOf(two.ana) }), await openSse(`${second.url}/api/v1/events`, { cookie: await cookieOf(two.ana) })];
    for (const s of streams) await s.next((e) => e === 'snapshot');
    const ids: number[] = [];
    for (let i = 0; i < 5; i++) {
      const res = await request(i % 2 ? second.url : first.url).post('/api/v1/help-requests').send({ requesterName: 'Bob', username: 'bob', hostname: 'pc', os: 'Linux', description: `urgent ${i}`, topicId }).expect(201);
      ids.push(res.body.id);
    }
    const late = (id: number) => (e: string, d: { action?: string; ticket?: { id: number } }) => e === 'ticket' && d.action === 'waiting_too_long' && d.ticket?.id === id;
    for (const s of streams) for (const id of ids) await s.next(late(id), 10_000);
    // Let both servers run more rounds: nothing more is marked.
    await new Promise((r) => setTimeout(r, 500));
    const rows = await first.db('audit_events').where({ action: 'ticket.waiting_too_long' }).select('ticket_id');
    expect(rows.map((r) => Number(r.ticket_id)).sort((a, b) => a - b)).toEqual(ids);
    const events = (await first.db('event_outbox').select('name', 'payload')) as { name: string; payload: string }[];
    const marked = events.filter((e) => e.name === 'ticket.changed' && (JSON.parse(e.payload) as { action: string }).action === 'waiting_too_long');
    expect(marked).toHaveLength(ids.length);
    for (const s of streams) {
      await expect(s.next((e, d: { action?: string }) => e === 'ticket' && d.action === 'waiting_too_long', 300)).rejects.toThrow(/no matching event/);
      s.close();
    }
  }, 40_000);
});
