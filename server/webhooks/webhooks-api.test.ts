// Webhooks through the real API on each engine, delivered to a real receiver
// on loopback (test/webhook-receiver.ts) that verifies every signature with
// the standardwebhooks library: validation in words, the secret shown once
// and sealed, the endpoint bound, a test delivery, in order per endpoint
// behind a delivery being retried (500 three times, then 200: delivered
// once), a redirect not followed, a delivery given up on after the retry
// window (endpoint failing, administrators told, resumed), and the waiting
// deliveries' bound (events counted, said, never dropped silently).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { engines } from '../../test/databases.ts';
import { ADMIN_PASSWORD, startHarness, type Harness, type Tech } from '../../test/server-harness.ts';
import { startWebhookReceiver, type WebhookReceiver } from '../../test/webhook-receiver.ts';

const fast = {
  WEBHOOK_ALLOW_PRIVATE: 'on',
  WEBHOOK_RETRY_FIRST_MS: '40',
  WEBHOOK_RETRY_MAX_MS: '150',
  WEBHOOK_RETRY_FOR_MS: '2000',
  WEBHOOK_POLL_MS: '40',
  WEBHOOK_MAX_ENDPOINTS: '3',
  WEBHOOK_MAX_PENDING: '10',
  WEBHOOK_TIMEOUT_MS: '3000',
  WEBHOOK_CONNECT_TIMEOUT_MS: '1000',
};

describe.each(engines)('webhooks API on %s', (engine) => {
  let h: Harness;
  let admin: Tech;
  let receiver: WebhookReceiver;
  const del = (path: string) => admin.agent.delete(path).set('x-csrf-token', admin.csrf);
  const register = async (events: string[], extra: Record<string, unknown> = {}) => {
    const res = await admin.post('/api/v1/webhooks', { url: receiver.url, events, ...extra }).expect(201);
    receiver.secret = res.body.secret as string;
    return res.body.endpoint.id as number;
  };
  const deliveries = async (id: number) => (await admin.get(`/api/v1/webhooks/${id}/deliveries`).expect(200)).body.deliveries as Record<string, any>[];

  beforeAll(async () => {
    h = await startHarness(engine, fast);
    admin = await h.login('admin', ADMIN_PASSWORD);
  });
  afterAll(async () => h?.close());
  beforeAll(async () => void (receiver = await startWebhookReceiver()));
  afterAll(async () => receiver?.close());

  it('refuses bad input in words, makes and shows a secret once, seals it, and holds the endpoint bound', async () => {
    const refused = async (body: object, words: RegExp) => {
      const res = await admin.post('/api/v1/webhooks', body).expect(400);
      expect(res.body.error.code).toBe('VALIDATION_FAILED');
      expect(res.body.error.message).toMatch(words);
    };
    await refused({ url: 'ftp://example.com/x', events: ['ticket.created'] }, /must start with http:\/\/ or https:\/\//);
    await refused({ url: 'not a url', events: ['ticket.created'] }, /must be a full URL/);
    await refused({ url: `https://example.com/${'a'.repeat(2000)}`, events: ['ticket.created'] }, /at most 2000 characters/);
    await refused({ url: 'https://u:p@example.com/x', events: ['ticket.created'] }, /user name or password/);
    await refused({ url: 'https://example.com/x', events: [] }, /name at least one event/);
    await refused({ url: 'https://example.com/x', events: ['ticket.exploded'] }, /must each be one of: ticket\.created/);
    await refused({ url: 'https://example.com/x', events: ['ticket.created'], secret: 'hunter2' }, /whsec_/);
    await refused({ url: 'https://example.com/x', events: ['ticket.created'], color: 'red' }, /color/);

    const made = await admin.post('/api/v1/webhooks', { url: receiver.url, events: ['ticket.created', 'ticket.created'] }).expect(201);
    expect(made.body.secret).toMatch(/^whsec_[A-Za-z0-9+/]{43}=$/);
    expect(made.body.endpoint).toMatchObject({ url: receiver.url, events: ['ticket.created'], enabled: true, health: 'ok', pending: 0 });
    const id = made.body.endpoint.id as number;
    const listed = await admin.get('/api/v1/webhooks').expect(200);
    expect(JSON.stringify(listed.body)).not.toContain(made.body.secret.slice(6));
    const row = await h.server.db('webhook_endpoints').where({ id }).first();
    expect(row.secret_sealed).toMatch(/^sealed:v1:/);
    expect(row.secret_sealed).not.toContain(made.body.secret.slice(6));
    const given = `whsec_${Buffer.alloc(32, 7).toString('base64')}`;
    const second = await admin.post('/api/v1/webhooks', { url: receiver.url, events: ['login.locked'], secret: given }).expect(201);
    expect(second.body.secret).toBe(given);
    const third = await admin.post('/api/v1/webhooks', { url: receiver.url, events: ['login.locked'] }).expect(201);
    const over = await admin.post('/api/v1/webhooks', { url: receiver.url, events: ['login.locked'] }).expect(409);
    expect(over.body.error).toMatchObject({ code: 'TOO_MANY_WEBHOOKS', message: expect.stringMatching(/already 3 webhook endpoints \(WEBHOOK_MAX_ENDPOINTS is 3\)/) });
    const technician = await h.freshTechnician(admin, 'tom');
    expect((await technician.get('/api/v1/webhooks')).status).toBe(403);
    await (await admin.patch(`/api/v1/webhooks/${id}`, {}).expect(400)).body;
    expect((await admin.patch(`/api/v1/webhooks/${id}`, { description: 'Ticketing bridge', enabled: false }).expect(200)).body.endpoint).toMatchObject({ description: 'Ticketing bridge', enabled: false });
    for (const e of [id, second.body.endpoint.id, third.body.endpoint.id]) await del(`/api/v1/webhooks/${e}`).expect(204);
    expect((await del(`/api/v1/webhooks/${id}`)).body.error.code).toBe('WEBHOOK_NOT_FOUND');
    const audit = await admin.get('/api/v1/audit?limit=200').expect(200);
    const actions = audit.body.events.map((e: { action: string }) => e.action);
    expect(actions).toEqual(expect.arrayContaining(['webhook.created', 'webhook.disabled', 'webhook.deleted']));
    expect(JSON.stringify(audit.body)).not.toContain(made.body.secret.slice(6));
  });

  it('sends a signed test delivery, and delivers in order behind one retried: 500 three times, then 200, each once', async () => {
    const id = await register(['ticket.created']);
    const test = await admin.post(`/api/v1/webhooks/${id}/test`).expect(202);
    await expect.poll(() => receiver.messages.some((m) => m.id === test.body.delivery.messageId), { timeout: 10_000 }).toBe(true);
    expect(receiver.messages.find((m) => m.id === test.body.delivery.messageId)).toMatchObject({ type: 'webhook.test', verified: true });

    let first = '';
    receiver.answer = ({ id: messageId, n }) => {
      first ||= messageId;
      return messageId === first && n <= 3 ? 500 : 200;
    };
    const before = receiver.messages.length;
    const tickets = [await h.helpRequest(), await h.helpRequest(), await h.helpRequest()];
    await expect.poll(() => receiver.messages.length - before, { timeout: 15_000 }).toBe(3);
    const got = receiver.messages.slice(before);
    expect(got.map((m) => [m.type, m.data.ticketId, m.verified, m.attempts])).toEqual(tickets.map((t) => ['ticket.created', t.id, true, 1]));
    expect(got[0]!.data).toMatchObject({ hostname: 'pc-42', os: 'Debian 12', actor: { type: 'requester', name: 'Bob User' } });
    // Every attempt of the first came before anything of the later ones.
    const order = receiver.attempts.filter((a) => got.some((m) => m.id === a.id)).map((a) => [got.findIndex((m) => m.id === a.id), a.status]);
    expect(order).toEqual([[0, 500], [0, 500], [0, 500], [0, 200], [1, 200], [2, 200]]);
    const log = await deliveries(id);
    expect(log.find((d) => d.messageId === got[0]!.id)).toMatchObject({ state: 'delivered', attempts: 4, responseStatus: 200, lastError: null });
    // Send again: the same webhook-id, at the end of the queue; the receiver counts the repeat.
    const again = await admin.post(`/api/v1/webhooks/${id}/deliveries/${log.find((d) => d.messageId === got[1]!.id)!.id}/resend`).expect(202);
    expect(again.body.delivery).toMatchObject({ messageId: got[1]!.id, resentFrom: log.find((d) => d.messageId === got[1]!.id)!.id });
    await expect.poll(() => receiver.messages.find((m) => m.id === got[1]!.id)?.attempts, { timeout: 10_000 }).toBe(2);
    receiver.answer = () => 200;
    await del(`/api/v1/webhooks/${id}`).expect(204);
  });

  it('never follows a redirect (a failed attempt, in words), and gives up after the retry window: failing, told, resumed', async () => {
    const id = await register(['ticket.created']);
    let elsewhere = 0;
    receiver.answer = ({ type }) => (type === 'ticket.created' ? { status: 302, headers: { location: `${receiver.url}/elsewhere` } } : 200);
    const seen = receiver.attempts.length;
    const t = await h.helpRequest();
    await expect.poll(async () => (await deliveries(id))[0]?.attempts ?? 0, { timeout: 10_000 }).toBeGreaterThanOrEqual(1);
    const [redirected] = await deliveries(id);
    expect(redirected).toMatchObject({ state: 'pending', responseStatus: 302, lastError: expect.stringMatching(/redirected to .*\/elsewhere; redirects are never followed/) });
    elsewhere = receiver.attempts.slice(seen).filter((a) => a.body === '').length;
    expect(elsewhere).toBe(0);
    // WEBHOOK_RETRY_FOR_MS (2 s here) after the first attempt, the next refusal gives up.
    await expect.poll(async () => (await admin.get(`/api/v1/webhooks/${id}`).expect(200)).body.endpoint.health, { timeout: 10_000 }).toBe('failing');
    const endpoint = (await admin.get(`/api/v1/webhooks/${id}`).expect(200)).body.endpoint;
    expect(endpoint.failingReason).toMatch(/was not accepted for 2 s: the receiver redirected/);
    expect((await deliveries(id))[0]).toMatchObject({ state: 'failed' });
    const audit = await admin.get('/api/v1/audit?action=webhook.failing').expect(200);
    expect(audit.body.events[0]).toMatchObject({ actorName: 'webhooks', detail: { endpointId: id, url: receiver.url } });
    // Held while failing: a later event waits; resumed, it goes.
    receiver.answer = () => 200;
    const later = await h.helpRequest();
    await new Promise((r) => setTimeout(r, 300));
    expect(receiver.messages.some((m) => m.data.ticketId === later.id)).toBe(false);
    await admin.post(`/api/v1/webhooks/${id}/resume`).expect(200);
    await expect.poll(() => receiver.messages.some((m) => m.data.ticketId === later.id), { timeout: 10_000 }).toBe(true);
    expect(receiver.messages.some((m) => m.data.ticketId === t.id)).toBe(false);
    await del(`/api/v1/webhooks/${id}`).expect(204);
  });

  it('bounds the deliveries waiting per endpoint: past it, events are counted and said, and a test is refused in words', async () => {
    const id = await register(['ticket.created']);
    // The first attempt hangs (WEBHOOK_TIMEOUT_MS), so nothing leaves the queue meanwhile.
    receiver.answer = () => 'hold';
    for (let i = 0; i < 12; i += 1) await h.helpRequest();
    const endpoint = (await admin.get(`/api/v1/webhooks/${id}`).expect(200)).body.endpoint;
    expect(endpoint).toMatchObject({ pending: 10, overflowed: 2, overflowSince: expect.any(Number) });
    const audit = await admin.get('/api/v1/audit?action=webhook.overflowed').expect(200);
    expect(audit.body.events.filter((e: { detail: { endpointId: number } }) => e.detail.endpointId === id)).toHaveLength(1);
    const full = await admin.post(`/api/v1/webhooks/${id}/test`).expect(409);
    expect(full.body.error).toMatchObject({ code: 'WEBHOOK_QUEUE_FULL', message: expect.stringMatching(/already has 10 deliveries waiting \(WEBHOOK_MAX_PENDING\)/) });
    receiver.answer = () => 200;
    await del(`/api/v1/webhooks/${id}`).expect(204);
  });
});

describe('webhooks to private addresses, without WEBHOOK_ALLOW_PRIVATE', () => {
  let h: Harness;
  beforeAll(async () => void (h = await startHarness('sqlite', { WEBHOOK_POLL_MS: '40' })));
  afterAll(async () => h?.close());

  it('refuses loopback, private and link-local URLs in words, by address and by name', async () => {
    const admin = await h.login('admin', ADMIN_PASSWORD);
    for (const url of ['http://127.0.0.1:9/x', 'http://localhost:9/x', 'http://10.1.2.3/x', 'http://[::1]/x', 'http://169.254.169.254/latest', 'http://[fd00::1]/x', 'http://224.0.0.1/x', 'http://[::ffff:192.168.1.1]/x']) {
      const res = await admin.post('/api/v1/webhooks', { url, events: ['ticket.created'] });
      expect([url, res.status, res.body.error?.code]).toEqual([url, 400, 'WEBHOOK_URL_REFUSED']);
      expect(res.body.error.message).toMatch(/loopback, private, link-local, unique-local, multicast or reserved address \(set WEBHOOK_ALLOW_PRIVATE=on to allow\)/);
    }
  });
});

describe('the delivery log is bounded in time (WEBHOOK_KEEP_DAYS)', () => {
  let h: Harness;
  let receiver: WebhookReceiver;
  beforeAll(async () => {
    [h, receiver] = await Promise.all([startHarness('sqlite', { ...fast, WEBHOOK_KEEP_DAYS: '1' }), startWebhookReceiver()]);
  });
  afterAll(async () => {
    await h?.close();
    await receiver?.close();
  });

  it('housekeeping deletes delivered deliveries older than the setting, and keeps newer and waiting ones (found by review: the log grew for ever)', async () => {
    const admin = await h.login('admin', ADMIN_PASSWORD);
    const res = await admin.post('/api/v1/webhooks', { url: receiver.url, events: ['ticket.created'] }).expect(201);
    receiver.secret = res.body.secret as string;
    const id = res.body.endpoint.id as number;
    const count = async (state?: string) => Number(((await h.server.db('webhook_deliveries').where({ endpoint_id: id }).modify((q) => void (state && q.where({ state }))).count({ n: '*' }).first()) as { n: number | string }).n);
    await h.helpRequest();
    await expect.poll(() => count('delivered'), { timeout: 10_000 }).toBe(1);
    h.clock.advance(2 * 86_400_000);
    await h.helpRequest();
    await expect.poll(() => count('delivered'), { timeout: 10_000 }).toBe(2);
    // A third waits: the receiver holds it.
    receiver.answer = () => 'hold';
    await h.helpRequest();
    await expect.poll(async () => (await h.server.housekeeping()) && (await count()), { timeout: 10_000 }).toBe(2);
    expect(await count('delivered')).toBe(1);
    expect(await count('pending')).toBe(1);
    receiver.answer = () => 200;
  });
});
