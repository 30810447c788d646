// API tokens on two real servers sharing one database and one Redis (issue
// 27), on each engine. A token revoked on one server is refused at once on the
// other: each request reads the token from the database, so nothing any server
// remembers can keep it alive. A token's rate limit is counted in Redis, so it
// holds across both servers, and per token: another token goes on.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import request from 'supertest';
import { engines } from '../../test/databases.ts';
import { startTwoServers, type TwoServers } from '../../test/two-servers.ts';
import { startRedis, type RedisServer } from '../../test/redis.ts';
import { openSse } from '../../test/http-clients.ts';

const RATE = 10;

describe.each(engines)('API tokens across two servers, on %s', (engine) => {
  let two: TwoServers;
  let redis: RedisServer;

  beforeAll(async () => {
    redis = await startRedis();
    two = await startTwoServers(engine, { REDIS_URL: redis.url, API_TOKEN_RATE_PER_MINUTE: String(RATE) });
  }, 60_000);
  afterAll(async () => {
    await two?.close();
    await redis?.stop();
  });

  async function makeToken(name: string): Promise<{ id: number; token: string }> {
    const made = await two.ana.post('/api/v1/tokens', { name, scopes: ['tickets:read', 'tickets:write'], expiresInDays: 30 });
    expect(made.status, JSON.stringify(made.body)).toBe(201);
    return made.body as { id: number; token: string };
  }

  it('counts one token\'s requests on both servers together (429 past the limit on either), and another token still works', async () => {
    const [first, second] = two.servers;
    const busy = { authorization: `Bearer ${(await makeToken('Busy')).token}` };
    const calm = { authorization: `Bearer ${(await makeToken('Calm')).token}` };
    for (let i = 0; i < RATE / 2; i++) {
      await request(first.url).get('/api/v1/tickets/queue').set(busy).expect(200);
      await request(second.url).get('/api/v1/tickets/queue').set(busy).expect(200);
    }
    for (const server of [first, second]) {
      const over = await request(server.url).get('/api/v1/tickets/queue').set(busy);
      expect([over.status, over.body.error.code]).toEqual([429, 'RATE_LIMITED']);
      await request(server.url).get('/api/v1/tickets/queue').set(calm).expect(200);
    }
  });

  it('a token revoked on the first server is refused at once on both (401 in words), and its live stream on the second closes', async () => {
    const [first, second] = two.servers;
    const made = await makeToken('Ticket bridge');
    const bearer = { authorization: `Bearer ${made.token}` };
    // Both servers take it, again and again (whatever either might remember of it).
    for (let i = 0; i < 3; i++) {
      await request(first.url).get('/api/v1/tickets/queue').set(bearer).expect(200);
      await request(second.url).get('/api/v1/tickets/queue').set(bearer).expect(200);
    }

    // A live stream opened with it on the second server.
    const stream = await openSse(`${second.url}/api/v1/events`, bearer);
    await stream.next((event) => event === 'snapshot');

    await two.ana.agent.delete(`/api/v1/tokens/${made.id}`).set('x-csrf-token', two.ana.csrf).expect(200);

    // The stream closes at once (told through Redis), not at its next check (every 30 s).
    try {
      await stream.next((event) => event === 'stream-end', 5_000);
    } finally {
      stream.close();
    }
    for (const server of [second, first]) {
      const res = await request(server.url).get('/api/v1/tickets/queue').set(bearer);
      expect([res.status, res.body.error.code]).toEqual([401, 'API_TOKEN_INVALID']);
      expect(res.body.error.message).toMatch(/"Ticket bridge" was revoked/);
    }
    // A write is refused as well, and leaves no trace in the audit.
    const ticket = await request(first.url).post('/api/v1/help-requests').send({ requesterName: 'Bob User', username: 'bob', hostname: 'pc-42', os: 'Debian 12', description: 'VPN' }).expect(201);
    await request(second.url).post(`/api/v1/tickets/${ticket.body.id as number}/accept`).set(bearer).send({}).expect(401);
    const accepted = (await first.db('audit_events').where({ action: 'ticket.accept', ticket_id: ticket.body.id }).count({ n: '*' }).first()) as { n: number | string };
    expect(Number(accepted.n)).toBe(0);
  });
});
