// Streams that resume across servers (issue 24): two servers on one MariaDB,
// woken through a real Redis. Events are written to the outbox with the change
// and Redis only wakes the other servers, so a Redis stopped for 3 s loses
// nothing; a stream cut on one server and reopened on the other with its
// Last-Event-ID gets exactly what it missed.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freshDatabase } from './databases.ts';
import { ADMIN_PASSWORD, cookieOf, openSse, startHarness, type Harness, type SseStream } from './server-harness.ts';
import { startRedis, type RedisServer } from './redis.ts';

let redis: RedisServer;
let a: Harness;
let b: Harness;
let cookieA: string;
let cookieB: string;

beforeAll(async () => {
  redis = await startRedis();
  const database = await freshDatabase('mysql');
  if (database.client !== 'mysql') throw new Error('needs MariaDB');
  const env = { DATABASE_URL: database.url, REDIS_URL: redis.url, EVENT_POLL_MS: '500' };
  a = await startHarness('sqlite', env);
  b = await startHarness('sqlite', env);
  cookieA = await cookieOf(await a.login('admin', ADMIN_PASSWORD));
  cookieB = await cookieOf(await b.login('admin', ADMIN_PASSWORD));
}, 120_000);

afterAll(async () => {
  await a?.close();
  await b?.close();
  await redis?.stop();
});

type Seen = { event: string; data: any; id: string | null };

/** Reads a stream until every ticket in `ids` has had its 'created' event (or the time is up); returns all it read. */
async function readUntilCreated(stream: SseStream, ids: readonly number[], timeoutMs: number): Promise<Seen[]> {
  const seen: Seen[] = [];
  const missing = new Set(ids);
  const deadline = Date.now() + timeoutMs;
  while (missing.size > 0) {
    const e = await stream.next(() => true, Math.max(1, deadline - Date.now()));
    seen.push(e);
    if (e.event === 'ticket' && e.data.action === 'created') missing.delete(e.data.ticket.id);
  }
  return seen;
}

const created = (seen: Seen[]) => seen.filter((e) => e.event === 'ticket' && e.data.action === 'created').map((e) => e.data.ticket.id as number);
const ids = (seen: Seen[]) => seen.filter((e) => e.id !== null && e.event !== 'snapshot').map((e) => Number(e.id));

describe('events that other servers must see (the outbox)', () => {
  it('Redis stopped for 3 s while tickets are created on server 2: the queue open on server 1 shows every one of them once, in order', async () => {
    const live = await openSse(`${a.server.url}/api/v1/events`, { cookie: cookieA });
    await live.next((e) => e === 'snapshot');
    await redis.stop();
    const stoppedAt = Date.now();
    const creations: Promise<{ id: number }>[] = [];
    // Two at a time every 400 ms (a request waits a moment for the rate limit's Redis, then goes through).
    while (Date.now() - stoppedAt < 3_000) {
      creations.push(b.helpRequest({ description: 'while Redis is down' }), b.helpRequest({ description: 'while Redis is down' }));
      await new Promise((r) => setTimeout(r, 400));
    }
    await redis.start();
    const made = (await Promise.all(creations)).map((t) => t.id);
    expect(made.length).toBeGreaterThanOrEqual(10);
    const seen = await readUntilCreated(live, made, 10_000);
    // Once each, nothing else created, in the order they were written.
    expect(created(seen).sort((x, y) => x - y)).toEqual([...made].sort((x, y) => x - y));
    const order = ids(seen);
    expect(new Set(order).size).toBe(order.length);
    expect(order).toEqual([...order].sort((x, y) => x - y));
    // And the wake-ups flow again through the restarted Redis.
    const after = await b.helpRequest({ description: 'Redis is back' });
    await readUntilCreated(live, [after.id], 5_000);
    live.close();
  }, 40_000);

  it('a stream cut on server 1 and reopened on server 2 with its last id misses nothing and repeats nothing', async () => {
    const first = await openSse(`${a.server.url}/api/v1/events`, { cookie: cookieA });
    await first.next((e) => e === 'snapshot');
    const before = [await b.helpRequest({ description: 'seen on 1' }), await a.helpRequest({ description: 'seen on 1' })];
    const seenFirst = await readUntilCreated(first, before.map((t) => t.id), 5_000);
    first.close();
    const lastId = seenFirst.filter((e) => e.id !== null).at(-1)!.id!;

    const missed = [];
    for (let i = 0; i < 4; i++) missed.push(await (i % 2 ? a : b).helpRequest({ description: `missed ${i}` }));
    const admin = await a.login('admin', ADMIN_PASSWORD);
    await admin.post(`/api/v1/tickets/${missed[0]!.id}/messages`, { text: 'seen, coming' }).expect(201);

    const second = await openSse(`${b.server.url}/api/v1/events`, { cookie: cookieB, 'last-event-id': lastId });
    const replayed = await readUntilCreated(second, missed.map((t) => t.id), 5_000);
    const message = await second.next((e) => e === 'message', 5_000);
    expect(message.data.message.text).toBe('seen, coming');
    expect(replayed.map((e) => e.event)).not.toContain('snapshot');
    expect(replayed.map((e) => e.event)).not.toContain('reset');
    expect(created(replayed)).toEqual(missed.map((t) => t.id));

    const after = await a.helpRequest({ description: 'live on 2' });
    const live = await readUntilCreated(second, [after.id], 5_000);
    expect(created(live)).toEqual([after.id]);
    const all = [...ids(seenFirst), ...ids(replayed), Number(message.id), ...ids(live)];
    expect(new Set(all).size).toBe(all.length);
    expect(all).toEqual([...all].sort((x, y) => x - y));
    // Contiguous: between the first stream's first event and the last one read, no id was skipped.
    expect(all.at(-1)! - all[0]! + 1).toBe(all.length);
    second.close();
  });
});
