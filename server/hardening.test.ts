// Past the happy path (issue: restarts, crashes, locked-out victims, cut
// streams): each failure found by the black-box battery, reproduced against the
// real server on each engine.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import { engines } from '../test/databases.ts';
import { ADMIN_PASSWORD, cookieOf, loginAt, openSse, startHarness, type Harness, type Tech } from '../test/server-harness.ts';
import { CloseCode } from '../protocol/close-codes.ts';

const bearer = (secret: string) => ({ Authorization: `Bearer ${secret}` });

function wsOpen(url: string, headers: Record<string, string> = {}): Promise<WebSocket> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, { headers });
    ws.once('open', () => resolve(ws));
    ws.once('unexpected-response', (_req, res) => reject(Object.assign(new Error(`HTTP ${res.statusCode}`), { status: res.statusCode })));
    ws.once('error', reject);
  });
}

describe.each(engines)('hardening on %s', (engine) => {
  let h: Harness;
  let admin: Tech;

  beforeAll(async () => {
    h = await startHarness(engine, { MAX_ACTIVE_TICKETS_PER_TECH: '5', SSE_MAX_PER_TICKET: '2' });
    admin = await h.login('admin', ADMIN_PASSWORD);
  });
  afterAll(async () => h?.close());

  async function approved(tech: Tech) {
    const t = await h.helpRequest();
    await tech.post(`/api/v1/tickets/${t.id}/accept`).expect(200);
    await h.api.post(`/api/v1/help-requests/${t.id}/approve`).set(bearer(t.secret)).send({ viewOnly: false }).expect(200);
    return t;
  }

  it('disabling a technician cuts their live stream and sessions at once, and puts what they held back in the queue', async () => {
    const eve = await h.createTechnician(admin, `eve${engine}`);
    const live = await openSse(`${h.server.url}/api/v1/events`, { cookie: await cookieOf(eve) });
    await live.next((e) => e === 'snapshot');
    const held = await h.helpRequest();
    await eve.post(`/api/v1/tickets/${held.id}/accept`).expect(200);
    const inSession = await approved(eve);
    const desktop = await wsOpen((await h.api.post(`/api/v1/help-requests/${inSession.id}/desktop-token`).set(bearer(inSession.secret)).expect(201)).body.url);
    const viewer = await wsOpen((await eve.post(`/api/v1/tickets/${inSession.id}/viewer-token`).expect(201)).body.url, { origin: h.server.url });
    await expect.poll(async () => (await admin.get(`/api/v1/tickets/${inSession.id}`)).body.ticket.status).toBe('in_session');
    const legsClosed = Promise.all([desktop, viewer].map((ws) => new Promise<number>((r) => ws.once('close', r))));

    await admin.patch(`/api/v1/technicians/${eve.id}`, { active: false }).expect(200);
    await live.next((e) => e === 'stream-end', 2000);
    expect(await legsClosed).toEqual([CloseCode.ENDED_BY_SERVER, CloseCode.ENDED_BY_SERVER]);
    // A new request is not seen by the disabled account: its stream is over, its session gone.
    await h.helpRequest({ description: 'Secret problem after the disable' });
    await eve.get('/api/v1/me').expect(401);
    const reopened = await fetch(`${h.server.url}/api/v1/events`, { headers: { cookie: await cookieOf(eve) } });
    expect(reopened.status).toBe(401);
    for (const id of [held.id, inSession.id]) {
      const detail = (await admin.get(`/api/v1/tickets/${id}`).expect(200)).body;
      expect(detail.ticket).toMatchObject({ status: 'requested', technician: null });
      const requeue = detail.timeline.find((e: { action: string }) => e.action === 'ticket.requeue');
      expect(requeue).toMatchObject({ actorType: 'system' });
    }
    live.close();
  });

  it('a password change ends the account\'s other sessions; an administrator\'s reset ends them all', async () => {
    const fay = await h.createTechnician(admin, `fay${engine}`);
    const other = await loginAt(h.server.url, `fay${engine}`, `fay${engine}-password-123`);
    const otherLive = await openSse(`${h.server.url}/api/v1/events`, { cookie: await cookieOf(other) });
    await otherLive.next((e) => e === 'snapshot');
    await fay.post('/api/v1/me/password', { currentPassword: `fay${engine}-password-123`, newPassword: 'a-brand-new-password-1' }).expect(204);
    await otherLive.next((e) => e === 'stream-end', 2000);
    await other.get('/api/v1/me').expect(401);
    await fay.get('/api/v1/me').expect(200);
    await admin.post(`/api/v1/technicians/${fay.id}/password`, {}).expect(200);
    await fay.get('/api/v1/me').expect(401);
    otherLive.close();
  });

  it('failed logins from one address lock that address out, never the owner elsewhere; administrators see and clear it', async () => {
    const gus = await h.createTechnician(admin, `gus${engine}`);
    const attacker = { 'x-forwarded-for': '203.0.113.50' };
    const owner = { 'x-forwarded-for': '198.51.100.7' };
    const attempt = async (password: string, from: Record<string, string>) => {
      const probe = await h.api.get('/auth/session').set(from);
      const cookie = (probe.headers['set-cookie'] as unknown as string[]).map((c) => c.split(';')[0]).join('; ');
      return h.api.post('/auth/login').set(from).set('cookie', cookie).set('x-csrf-token', probe.body.csrfToken).send({ username: `gus${engine}`, password });
    };
    for (let i = 0; i < 5; i++) expect((await attempt('wrong-password-xx', attacker)).status).toBe(401);
    const locked = await attempt(`gus${engine}-password-123`, attacker);
    expect(locked.status).toBe(423);
    expect(locked.body.error.message).toMatch(/try again in 1 minute$/);
    expect(Number(locked.headers['retry-after'])).toBeGreaterThan(50);
    expect((await attempt(`gus${engine}-password-123`, owner)).status).toBe(200);
    const list = (await admin.get('/api/v1/technicians').expect(200)).body.technicians;
    expect(list.find((t: { id: number }) => t.id === gus.id).logins).toMatchObject({ failedLogins: 5, lockedAddresses: 1 });
    // A sixth wrong try from the attacker's address doubles its lock.
    await admin.post(`/api/v1/technicians/${gus.id}/unlock`, {}).expect(200);
    expect((await attempt(`gus${engine}-password-123`, attacker)).status).toBe(200);
    const audit = (await admin.get(`/api/v1/audit?action=technician.unlocked`).expect(200)).body;
    expect(JSON.stringify(audit)).toContain('technician.unlocked');
  });

  it('answers bad bodies with 4xx and words, never 500: a foreign charset, text and multipart forms, unknown paths', async () => {
    const koi = await h.api.post('/api/v1/help-requests').set('content-type', 'application/json; charset=koi8-r').send('{"requesterName":"x"}');
    expect(koi.status).toBe(415);
    expect(koi.body.error.code).toBe('UNSUPPORTED_CHARSET');
    const probe = await admin.get('/auth/session');
    for (const type of ['text/plain', 'multipart/form-data; boundary=xyz', '']) {
      for (const path of ['/login', '/technicians', `/technicians/${admin.id}`, '/profile/password', '/auth/login']) {
        const req = admin.agent.post(path).set('x-csrf-token', probe.body.csrfToken).set('accept', 'application/json');
        if (type) req.set('content-type', type);
        const res = await req.send(Buffer.from('username=a&password=b'));
        expect({ path, type, status: res.status }).toEqual({ path, type, status: 400 });
      }
    }
    const empty = await h.api.post('/auth/login').set('accept', 'application/json');
    expect(empty.status).toBeLessThan(500);
    const unknown = await h.api.post('/no/such/path').set('accept', 'application/json').send({ a: 1 });
    expect(unknown.status).toBe(404);
    expect(unknown.body.error.code).toBe('NOT_FOUND');
    const unknownLoggedIn = await admin.agent.post('/api/v1/nothing-here').send({});
    expect(unknownLoggedIn.status).toBe(404);
    // CSRF still guards every real action.
    const noCsrf = await admin.agent.post('/api/v1/technicians').send({ username: 'x' });
    expect(noCsrf.body.error.code).toBe('CSRF_INVALID');
  });

  it('caps live streams per help request, with a coded refusal', async () => {
    const t = await h.helpRequest();
    const url = `${h.server.url}/api/v1/help-requests/${t.id}/events`;
    const a = await openSse(url, bearer(t.secret));
    const b = await openSse(url, bearer(t.secret));
    const third = await fetch(url, { headers: bearer(t.secret) });
    expect(third.status).toBe(429);
    expect((await third.json()).error.code).toBe('TOO_MANY_STREAMS');
    a.close();
    await expect.poll(async () => (await fetch(url, { headers: bearer(t.secret), signal: AbortSignal.timeout(1000) }).then((r) => { void r.body?.cancel(); return r.status; })), { timeout: 3000 }).toBe(200);
    b.close();
  });

  it('checks the viewer\'s Origin scheme too when PUBLIC_URL is unset (a trusted proxy may say https)', async () => {
    const tech = await h.createTechnician(admin, `hal${engine}`);
    const t = await approved(tech);
    const token = async () => (await tech.post(`/api/v1/tickets/${t.id}/viewer-token`).expect(201)).body.url as string;
    const host = new URL(h.server.url).host;
    await expect(wsOpen(await token(), { origin: `https://${host}` })).rejects.toMatchObject({ status: 403 });
    await expect(wsOpen(await token(), { origin: `http://${host}.evil.example` })).rejects.toMatchObject({ status: 403 });
    const behindTls = await wsOpen(await token(), { origin: `https://${host}`, 'x-forwarded-proto': 'https' });
    behindTls.close();
    const plain = await wsOpen(await token(), { origin: `http://${host}` });
    plain.close();
    await tech.post(`/api/v1/tickets/${t.id}/end`).expect(200);
  });
});

describe('stream caps per address', () => {
  it('refuses the stream past SSE_MAX_PER_ADDRESS from one address, with a coded refusal, and frees the place when one closes', async () => {
    const h = await startHarness('sqlite', { SSE_MAX_PER_ADDRESS: '3', SSE_MAX_PER_TICKET: '10' });
    try {
      const t = await h.helpRequest();
      const url = `${h.server.url}/api/v1/help-requests/${t.id}/events`;
      const open = [await openSse(url, bearer(t.secret)), await openSse(url, bearer(t.secret)), await openSse(url, bearer(t.secret))];
      const refused = await fetch(url, { headers: bearer(t.secret) });
      expect(refused.status).toBe(429);
      expect((await refused.json()).error.message).toMatch(/from this address/);
      open[0]!.close();
      await expect.poll(async () => fetch(url, { headers: bearer(t.secret), signal: AbortSignal.timeout(1000) }).then((r) => { void r.body?.cancel(); return r.status; }), { timeout: 3000 }).toBe(200);
      for (const s of open) s.close();
    } finally {
      await h.close();
    }
  });
});

describe('shutdown', () => {
  it('ends live streams cleanly: the reader sees an end it can reconnect from, not a cut', async () => {
    const h = await startHarness('sqlite');
    const admin = await h.login('admin', ADMIN_PASSWORD);
    const live = await openSse(`${h.server.url}/api/v1/events`, { cookie: await cookieOf(admin) });
    await live.next((e) => e === 'snapshot');
    const t = await h.helpRequest();
    const desktop = await openSse(`${h.server.url}/api/v1/help-requests/${t.id}/events`, bearer(t.secret));
    await desktop.next((e) => e === 'ticket');
    await h.close();
    await live.next((e) => e === 'stream-end' || e === 'stream-error').then((e) => expect(e.event).toBe('stream-end'));
    await desktop.next((e) => e === 'stream-end' || e === 'stream-error').then((e) => expect(e.event).toBe('stream-end'));
  });
});
