// A whole help session at the real repeater (both legs as websockets), from
// the request to its resolution, told to a real receiver on loopback: every
// event in the order the changes committed (the audit timeline's), each
// signature verified with the standardwebhooks library, each message once,
// and session.ended carrying its bytes, duration and who ended it; and a
// request waiting past its topic's target told once.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import { engines } from '../../test/databases.ts';
import { ADMIN_PASSWORD, startHarness, type Harness, type Tech } from '../../test/server-harness.ts';
import { startWebhookReceiver, type WebhookReceiver } from '../../test/webhook-receiver.ts';
import { webhookEvents } from '../../protocol/webhooks.ts';
import { webhookEventOf } from './events.ts';

function wsOpen(url: string, origin?: string): Promise<WebSocket> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, origin ? { origin } : {});
    ws.once('open', () => resolve(ws));
    ws.once('error', reject);
  });
}
const closeOf = (ws: WebSocket) => new Promise<number>((resolve) => ws.once('close', (code) => resolve(code)));
const firstMessage = (ws: WebSocket) => new Promise<Buffer>((resolve) => ws.once('message', (d: Buffer) => resolve(d)));

describe.each(engines)('webhooks of a help session on %s', (engine) => {
  let h: Harness;
  let admin: Tech;
  let receiver: WebhookReceiver;

  beforeAll(async () => {
    [h, receiver] = await Promise.all([startHarness(engine, { WEBHOOK_ALLOW_PRIVATE: 'on', WEBHOOK_POLL_MS: '50', WEBHOOK_RETRY_FIRST_MS: '50', WEBHOOK_RETRY_MAX_MS: '200', WAIT_CHECK_MS: '200' }), startWebhookReceiver()]);
    admin = await h.login('admin', ADMIN_PASSWORD);
  });
  afterAll(async () => {
    await h?.close();
    await receiver?.close();
  });

  it('tells request, accept, approve, session start, message, end and resolve in commit order, signed, each once', async () => {
    const made = await admin.post('/api/v1/webhooks', { url: receiver.url, events: [...webhookEvents] }).expect(201);
    receiver.secret = made.body.secret as string;
    const ana = await h.freshTechnician(admin, 'ana');
    const bearer = (secret: string) => ({ Authorization: `Bearer ${secret}` });

    const t = await h.helpRequest();
    await ana.post(`/api/v1/tickets/${t.id}/accept`).expect(200);
    await h.api.post(`/api/v1/help-requests/${t.id}/approve`).set(bearer(t.secret)).send({ viewOnly: false }).expect(200);
    const d = (await h.api.post(`/api/v1/help-requests/${t.id}/desktop-token`).set(bearer(t.secret)).expect(201)).body as { url: string };
    const desktop = await wsOpen(d.url);
    desktop.send(Buffer.from('RFB 003.008\n'));
    const v = (await ana.post(`/api/v1/tickets/${t.id}/viewer-token`).expect(201)).body as { url: string };
    const viewer = new WebSocket(v.url, { origin: h.server.url });
    expect((await firstMessage(viewer)).toString()).toBe('RFB 003.008\n');
    viewer.send(Buffer.from('RFB 003.008\n'));
    await firstMessage(desktop);
    await expect.poll(async () => (await ana.get(`/api/v1/tickets/${t.id}`).expect(200)).body.ticket.status, { timeout: 10_000 }).toBe('in_session');
    await ana.post(`/api/v1/tickets/${t.id}/messages`, { text: 'I can see your screen now' }).expect(201);
    const closes = Promise.all([closeOf(desktop), closeOf(viewer)]);
    await h.api.post(`/api/v1/help-requests/${t.id}/end`).set(bearer(t.secret)).expect(200);
    await closes;
    await expect.poll(async () => (await ana.get(`/api/v1/tickets/${t.id}`).expect(200)).body.sessions[0]?.endReason, { timeout: 10_000 }).toBe('ENDED_BY_USER');
    await ana.post(`/api/v1/tickets/${t.id}/resolve`, { resolution: 'Reinstalled the printer driver' }).expect(200);

    const expected = ['ticket.created', 'ticket.accepted', 'ticket.approved', 'session.started', 'message.created', 'ticket.ended', 'session.ended', 'ticket.resolved'];
    const mine = () => receiver.messages.filter((m) => m.data.ticketId === t.id);
    await expect.poll(() => mine().length, { timeout: 15_000 }).toBe(expected.length);
    // The order the changes committed in is the audit timeline's.
    const timeline = (await admin.get(`/api/v1/tickets/${t.id}`).expect(200)).body.timeline as { action: string }[];
    const committed = timeline.map((e) => webhookEventOf(e.action)).filter((e) => e !== null);
    expect(mine().map((m) => m.type)).toEqual(committed);
    expect([...committed].sort()).toEqual([...expected].sort());
    expect(mine().every((m) => m.verified && m.attempts === 1)).toBe(true);
    expect(new Set(mine().map((m) => m.id)).size).toBe(expected.length);

    const byType = (type: string) => mine().find((m) => m.type === type)!.data;
    expect(byType('ticket.created')).toMatchObject({ hostname: 'pc-42', actor: { type: 'requester', name: 'Bob User' } });
    expect(byType('ticket.accepted')).toMatchObject({ technicianId: ana.id, actor: { type: 'technician', name: ana.username }, from: 'requested', to: 'accepted' });
    expect(byType('session.started')).toMatchObject({ technicianId: ana.id, resumed: false });
    expect(byType('message.created')).toMatchObject({ from: 'technician', characters: 25, messageId: expect.any(Number) });
    expect(JSON.stringify(byType('message.created'))).not.toContain('I can see your screen');
    expect(byType('session.ended')).toMatchObject({ reason: 'ENDED_BY_USER', bytesDesktopToViewer: 12, bytesViewerToDesktop: 12, durationMs: expect.any(Number), technicianId: ana.id });
    expect(byType('session.ended')).toHaveProperty('endedBy');
    expect(byType('ticket.resolved')).toMatchObject({ to: 'resolved', actor: { name: ana.username } });

    // The delivery log says the same: each delivered at the first attempt, answered 200.
    const log = (await admin.get(`/api/v1/webhooks/${made.body.endpoint.id}/deliveries`).expect(200)).body.deliveries as { messageId: string; state: string; attempts: number; responseStatus: number }[];
    for (const m of mine()) expect(log.find((d) => d.messageId === m.id)).toMatchObject({ state: 'delivered', attempts: 1, responseStatus: 200 });
    await admin.agent.delete(`/api/v1/webhooks/${made.body.endpoint.id}`).set('x-csrf-token', admin.csrf).expect(204);
  });

  it('tells a request still waiting past its topic\'s target wait, once (issue 29\'s check)', async () => {
    const made = await admin.post('/api/v1/webhooks', { url: receiver.url, events: ['request.waiting_too_long'] }).expect(201);
    receiver.secret = made.body.secret as string;
    const topic = (await admin.post('/api/v1/topics', { nameEn: 'Printers', nameEs: 'Impresoras', nameZh: '打印机', teamId: null, targetWaitSeconds: 1 }).expect(201)).body.topic.id as number;
    const t = await h.api.post('/api/v1/help-requests').send({ requesterName: 'Bob User', username: 'bob', hostname: 'pc-42', os: 'Debian 12', description: 'Still waiting', topicId: topic }).expect(201);
    await expect.poll(() => receiver.messages.filter((m) => m.type === 'request.waiting_too_long' && m.data.ticketId === t.body.id).length, { timeout: 15_000 }).toBe(1);
    const told = receiver.messages.find((m) => m.type === 'request.waiting_too_long')!;
    expect(told).toMatchObject({ verified: true, data: { topicId: topic, teamId: null, targetMs: 1000, actor: { type: 'system', name: 'wait-check' } } });
    expect(told.data.waitedMs).toBeGreaterThanOrEqual(1000);
    await new Promise((r) => setTimeout(r, 600));
    expect(receiver.messages.filter((m) => m.type === 'request.waiting_too_long' && m.data.ticketId === t.body.id)).toHaveLength(1);
  });
});
