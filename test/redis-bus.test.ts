// Two servers on one MariaDB, their live events joined through a real Redis:
// a technician's stream on one server sees what happens on the other, a
// disable on one cuts the account's stream on the other, and a Redis restart
// is ridden through without restarting the servers.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freshDatabase } from './databases.ts';
import { ADMIN_PASSWORD, cookieOf, loginAt, openSse, startHarness, type Harness } from './server-harness.ts';
import { startRedis, type RedisServer } from './redis.ts';

let redis: RedisServer;
let a: Harness;
let b: Harness;
let databaseUrl: string;

beforeAll(async () => {
  redis = await startRedis();
  const database = await freshDatabase('mysql');
  if (database.client !== 'mysql') throw new Error('needs MariaDB');
  databaseUrl = database.url;
  const env = { DATABASE_URL: database.url, REDIS_URL: redis.url };
  a = await startHarness('sqlite', env);
  b = await startHarness('sqlite', env);
}, 120_000);

afterAll(async () => {
  await a?.close();
  await b?.close();
  await redis?.stop();
});

describe('live events across servers (REDIS_URL)', () => {
  it('a request created through one server reaches a technician\'s stream on the other within a second', async () => {
    const admin = await a.login('admin', ADMIN_PASSWORD);
    const live = await openSse(`${a.server.url}/api/v1/events`, { cookie: await cookieOf(admin) });
    await live.next((e) => e === 'snapshot');
    const started = Date.now();
    const created = await b.helpRequest({ description: 'Created on server B' });
    const event = await live.next((e, d) => e === 'ticket' && d.ticket.id === created.id, 1000);
    expect(event.data.ticket.description).toBe('Created on server B');
    expect(Date.now() - started).toBeLessThan(1000);
    live.close();
  });

  it('disabling an account on one server cuts its live stream on the other at once', async () => {
    const admin = await b.login('admin', ADMIN_PASSWORD);
    const tech = await b.createTechnician(admin, 'lea');
    const onA = await loginAt(a.server.url, 'lea', 'lea-password-123');
    const live = await openSse(`${a.server.url}/api/v1/events`, { cookie: await cookieOf(onA) });
    await live.next((e) => e === 'snapshot');
    await admin.patch(`/api/v1/technicians/${tech.id}`, { active: false }).expect(200);
    await live.next((e) => e === 'stream-end', 2000);
  });

  it('rides through a Redis restart: events flow again without restarting the servers', async () => {
    const admin = await a.login('admin', ADMIN_PASSWORD);
    const live = await openSse(`${a.server.url}/api/v1/events`, { cookie: await cookieOf(admin) });
    await live.next((e) => e === 'snapshot');
    await redis.stop();
    await redis.start();
    // Reconnection and resubscription take a moment: keep creating until one arrives.
    const deadline = Date.now() + 15_000;
    let arrived = false;
    while (!arrived && Date.now() < deadline) {
      const created = await b.helpRequest({ description: 'After the Redis restart' });
      arrived = await live.next((e, d) => e === 'ticket' && d.ticket.id === created.id, 1000).then(() => true, () => false);
    }
    expect(arrived).toBe(true);
    live.close();
  }, 30_000);
});

describe('limits and background work across servers', () => {
  it('a rate limit holds across servers, and housekeeping runs on one server per round', async () => {
    const env = { DATABASE_URL: databaseUrl, REDIS_URL: redis.url, TICKET_CREATE_RATE_PER_MINUTE: '3' };
    const c = await startHarness('sqlite', env);
    const d = await startHarness('sqlite', env);
    try {
      const body = { requesterName: 'Rita Rate', username: 'rita', hostname: 'r-pc', os: 'Linux', description: 'x' };
      const statuses: number[] = [];
      // One address (through the trusted loopback proxy) that nothing else in this run uses.
      for (const server of [c, d, c, d]) statuses.push((await server.api.post('/api/v1/help-requests').set('x-forwarded-for', '198.51.100.77').send(body)).status);
      expect(statuses).toEqual([201, 201, 201, 429]);
      const ran = await Promise.all([c.server.housekeeping(), d.server.housekeeping()]);
      expect(ran.filter(Boolean)).toHaveLength(1);
    } finally {
      await c.close();
      await d.close();
    }
  });
});
