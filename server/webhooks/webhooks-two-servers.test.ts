// Two real servers on one database (MariaDB when the run has one): events
// made on either are delivered once each — one delivery per event, not per
// server — in commit order, and never two attempts at once to one endpoint
// (the receiver answers slowly and counts the requests open at once).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import request from 'supertest';
import { engines } from '../../test/databases.ts';
import { startTwoServers, type TwoServers } from '../../test/two-servers.ts';
import { ADMIN_PASSWORD, loginAt } from '../../test/http-clients.ts';
import { startWebhookReceiver, type WebhookReceiver } from '../../test/webhook-receiver.ts';

const engine = engines.includes('mysql') ? 'mysql' : 'sqlite';

describe(`webhooks with two servers on ${engine}`, () => {
  let two: TwoServers;
  let receiver: WebhookReceiver;

  beforeAll(async () => {
    receiver = await startWebhookReceiver();
    two = await startTwoServers(engine, { WEBHOOK_ALLOW_PRIVATE: 'on', WEBHOOK_POLL_MS: '30', WEBHOOK_RETRY_FIRST_MS: '30', WEBHOOK_RETRY_MAX_MS: '100' });
  }, 60_000);
  afterAll(async () => {
    await two?.close();
    await receiver?.close();
  });

  it('delivers each event once, in order, one attempt at a time, whichever server made it', async () => {
    const admin = await loginAt(two.servers[1].url, 'admin', ADMIN_PASSWORD);
    const made = await admin.post('/api/v1/webhooks', { url: receiver.url, events: ['ticket.created'] }).expect(201);
    receiver.secret = made.body.secret as string;
    receiver.delayMs = 25;
    // Every fourth message is refused once: its retry holds the ones behind it, on whichever server leases next.
    receiver.answer = ({ n }) => (receiver.messages.length % 4 === 3 && n === 1 ? 500 : 200);
    const ids: number[] = [];
    for (let i = 0; i < 12; i += 1) {
      const server = two.servers[i % 2]!;
      const res = await request(server.url).post('/api/v1/help-requests').send({ requesterName: `User ${i}`, username: `u${i}`, hostname: `pc-${i}`, os: 'Debian 12', description: 'Slow' }).expect(201);
      ids.push(res.body.id as number);
    }
    await expect.poll(() => receiver.messages.length, { timeout: 20_000 }).toBe(12);
    await new Promise((r) => setTimeout(r, 300)); // a duplicate would arrive now
    expect(receiver.messages.map((m) => m.data.ticketId)).toEqual(ids);
    expect(receiver.messages.every((m) => m.verified && m.attempts === 1)).toBe(true);
    expect(receiver.attempts.filter((a) => a.status === 200)).toHaveLength(12);
    expect(receiver.attempts.filter((a) => a.status === 500).length).toBeGreaterThanOrEqual(2);
    expect(receiver.maxInFlight).toBe(1);
    const rows = await two.servers[0].db('webhook_deliveries').where({ event: 'ticket.created' }).select('state');
    expect(rows.map((r: { state: string }) => r.state)).toEqual(Array(12).fill('delivered'));
  }, 60_000);
});
