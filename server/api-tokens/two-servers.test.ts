// An API token revoked on one server is refused at once on every other (issue
// 27): two real servers on one database, on each engine. Each request reads the
// token from the database, so nothing any server remembers can keep it alive.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import request from 'supertest';
import { engines } from '../../test/databases.ts';
import { startTwoServers, type TwoServers } from '../../test/two-servers.ts';

describe.each(engines)('API token revocation across servers, on %s', (engine) => {
  let two: TwoServers;

  beforeAll(async () => {
    two = await startTwoServers(engine);
  }, 60_000);
  afterAll(async () => two?.close());

  it('a token revoked on the first server is refused at once on both (401 in words), with no wait', async () => {
    const [first, second] = two.servers;
    const made = await two.ana.post('/api/v1/tokens', { name: 'Ticket bridge', scopes: ['tickets:read', 'tickets:write'], expiresInDays: 30 });
    expect(made.status, JSON.stringify(made.body)).toBe(201);
    const bearer = { authorization: `Bearer ${made.body.token as string}` };
    // Both servers take it, again and again (whatever either might remember of it).
    for (let i = 0; i < 3; i++) {
      await request(first.url).get('/api/v1/tickets/queue').set(bearer).expect(200);
      await request(second.url).get('/api/v1/tickets/queue').set(bearer).expect(200);
    }

    await two.ana.agent.delete(`/api/v1/tokens/${made.body.id as number}`).set('x-csrf-token', two.ana.csrf).expect(200);

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
