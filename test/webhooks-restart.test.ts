// The server killed (-9) mid-retry, in the middle of an attempt, and started
// again on the same database: nothing is lost and nothing is delivered twice.
// The receiver refuses the first event twice, then holds the third attempt
// open while the server dies; the new process takes the endpoint when the dead
// one's lease runs out and sends the first event, then the two held behind it.
// The receiver keeps each message once by its webhook-id and counts attempts.
import { afterAll, describe, expect, it } from 'vitest';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import request from 'supertest';
import { ADMIN_PASSWORD, loginAt } from './http-clients.ts';
import { freePort } from './repeater-process.ts';
import { startServerProcess, type ServerProcess } from './server-process.ts';
import { startWebhookReceiver, type WebhookReceiver } from './webhook-receiver.ts';

let server: ServerProcess | null = null;
let receiver: WebhookReceiver | null = null;

afterAll(async () => {
  if (server && server.child.exitCode === null) server.child.kill('SIGKILL');
  await receiver?.close();
});

describe('webhooks across a server crash', () => {
  it('kill -9 during an attempt: the next life delivers every event once, in order', async () => {
    receiver = await startWebhookReceiver();
    const port = await freePort();
    const file = join(mkdtempSync(join(tmpdir(), 'helpdesk-webhooks-')), 'db.sqlite');
    // An attempt's lease is 2 × WEBHOOK_TIMEOUT_MS + 5 s: 7 s here.
    const env = { WEBHOOK_ALLOW_PRIVATE: 'on', WEBHOOK_TIMEOUT_MS: '1000', WEBHOOK_CONNECT_TIMEOUT_MS: '500', WEBHOOK_RETRY_FIRST_MS: '100', WEBHOOK_RETRY_MAX_MS: '300', WEBHOOK_POLL_MS: '100', TICKET_CREATE_RATE_PER_MINUTE: '1000' };
    server = await startServerProcess(port, `sqlite:${file}`, env);
    const admin = await loginAt(server.url, 'admin', ADMIN_PASSWORD);
    const made = await admin.post('/api/v1/webhooks', { url: receiver.url, events: ['ticket.created'] }).expect(201);
    receiver.secret = made.body.secret as string;
    let first = '';
    let held = false;
    receiver.answer = ({ id, n }) => {
      first ||= id;
      if (id !== first) return 200;
      if (n <= 2) return 500;
      if (!held) {
        held = true;
        return 'hold';
      }
      return 200;
    };
    const ids: number[] = [];
    for (let i = 0; i < 3; i += 1) ids.push((await request(server.url).post('/api/v1/help-requests').send({ requesterName: 'Eve', username: 'eve', hostname: `pc-${i}`, os: 'Linux', description: 'Crash' }).expect(201)).body.id as number);
    await expect.poll(() => held, { timeout: 10_000 }).toBe(true);
    server.child.kill('SIGKILL');
    await server.exited;
    expect(receiver.messages).toHaveLength(0);

    server = await startServerProcess(port, `sqlite:${file}`, env);
    await expect.poll(() => receiver!.messages.length, { timeout: 20_000 }).toBe(3);
    await new Promise((r) => setTimeout(r, 500)); // a repeat would arrive now
    expect(receiver.messages.map((m) => [m.data.ticketId, m.verified, m.attempts])).toEqual(ids.map((id) => [id, true, 1]));
    // The first was tried four times (two refusals, the one cut by the crash, the one accepted); the others once.
    expect(receiver.attempts.map((a) => [receiver!.messages.findIndex((m) => m.id === a.id), a.status])).toEqual([[0, 500], [0, 500], [0, 0], [0, 200], [1, 200], [2, 200]]);
    const again = await loginAt(server.url, 'admin', ADMIN_PASSWORD);
    const log = (await again.get(`/api/v1/webhooks/${made.body.endpoint.id}/deliveries`).expect(200)).body.deliveries as { state: string; attempts: number }[];
    expect(log.map((d) => [d.state, d.attempts])).toEqual([['delivered', 1], ['delivered', 1], ['delivered', 3]]);
    server.child.kill('SIGTERM');
    await server.exited;
  }, 90_000);
});
