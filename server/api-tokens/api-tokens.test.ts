// API tokens (issue 27) through the real server over HTTP, on each engine:
// made on a web session and shown once (stored as SHA-256 only), used as
// Bearer with no CSRF token, held to their scopes and to the owner's current
// role and state, expired by the server's clock, revoked, limited per token,
// and named by the audit. A token cannot make tokens.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import request from 'supertest';
import { sha256 } from '../../lib/crypto.ts';
import { engines } from '../../test/databases.ts';
import { ADMIN_PASSWORD, openSse, startHarness, type Harness, type Tech } from '../../test/server-harness.ts';

const RATE = 25;
const DAY_MS = 86_400_000;

describe.each(engines)('API tokens, on %s', (engine) => {
  let h: Harness;
  let admin: Tech;
  let ana: Tech & { username: string };

  beforeAll(async () => {
    // The clock moves days ahead in the expiry test: web sessions must outlast it.
    h = await startHarness(engine, { API_TOKEN_RATE_PER_MINUTE: String(RATE), SESSION_IDLE_MS: String(7 * DAY_MS), WEBHOOK_ALLOW_PRIVATE: 'on' });
    admin = await h.login('admin', ADMIN_PASSWORD);
    ana = await h.freshTechnician(admin, 'ana');
  });
  afterAll(async () => h?.close());

  async function makeToken(owner: Tech, name: string, scopes: string[], expiresInDays = 30): Promise<{ id: number; token: string }> {
    const res = await owner.post('/api/v1/tokens', { name, scopes, expiresInDays });
    expect(res.status, JSON.stringify(res.body)).toBe(201);
    return res.body as { id: number; token: string };
  }
  const bearer = (token: string) => ({ authorization: `Bearer ${token}` });

  it('is shown once, recognisable, kept only as its SHA-256, and listed with its last use but never its secret', async () => {
    const { id, token } = await makeToken(ana, 'Queue reader', ['tickets:read']);
    expect(token).toMatch(/^hd_[A-Za-z0-9_-]{43}$/);
    const row = await h.server.db('api_tokens').where({ id }).first();
    expect(row.token_hash).toBe(sha256(token));
    expect(JSON.stringify(row)).not.toContain(token.slice(3));

    const before = await ana.get('/api/v1/tokens').expect(200);
    const listed = before.body.tokens.find((t: { id: number }) => t.id === id);
    expect(listed).toMatchObject({ name: 'Queue reader', scopes: ['tickets:read'], lastUsedAt: null, revokedAt: null });
    expect(listed.expiresAt - listed.createdAt).toBe(30 * DAY_MS);
    expect(JSON.stringify(before.body)).not.toContain(token.slice(3));
    expect(JSON.stringify(before.body)).not.toContain(row.token_hash);
    expect(before.body.grantableScopes).toEqual(['tickets:read', 'tickets:write']);

    await h.api.get('/api/v1/tickets/queue').set(bearer(token)).expect(200);
    await h.api.get('/api/v1/me').set(bearer(token)).expect(200).expect((res) => expect(res.body.technician.username).toBe(ana.username));
    const after = await ana.get('/api/v1/tokens').expect(200);
    const used = after.body.tokens.find((t: { id: number }) => t.id === id).lastUsedAt;
    expect(used).toBeGreaterThan(0);
    // Used again within the minute: last use is not written again.
    await h.api.get('/api/v1/tickets/mine').set(bearer(token)).expect(200);
    expect((await h.server.db('api_tokens').where({ id }).first()).last_used_at).toBe(row.last_used_at ?? used);
  });

  it('is refused in words where its scopes do not reach (403 naming the scope), and a technician may not give admin scopes', async () => {
    const { token } = await makeToken(ana, 'Reader', ['tickets:read']);
    const t = await h.helpRequest();
    const accept = await h.api.post(`/api/v1/tickets/${t.id}/accept`).set(bearer(token)).send({});
    expect(accept.status).toBe(403);
    expect(accept.body.error.code).toBe('API_TOKEN_SCOPE');
    expect(accept.body.error.message).toContain('tickets:write');
    const audit = await h.api.get('/api/v1/audit').set(bearer(token));
    expect([audit.status, audit.body.error.message]).toEqual([403, expect.stringContaining('audit:read')]);

    // Reading colleagues and live sessions is reading tickets; a token without tickets:read may not.
    await h.api.get('/api/v1/colleagues').set(bearer(token)).expect(200);
    const { token: writer } = await makeToken(ana, 'Writer', ['tickets:write']);
    const colleagues = await h.api.get('/api/v1/colleagues').set(bearer(writer));
    expect([colleagues.status, colleagues.body.error.message]).toEqual([403, expect.stringContaining('lacks the scope tickets:read')]);

    const refused = await ana.post('/api/v1/tokens', { name: 'Too much', scopes: ['tickets:read', 'audit:read'], expiresInDays: 7 });
    expect(refused.status).toBe(403);
    expect(refused.body.error.message).toMatch(/may not give a token the scope audit:read/);
    const unknown = await ana.post('/api/v1/tokens', { name: 'Odd', scopes: ['everything'], expiresInDays: 7 });
    expect(unknown.status).toBe(400);
  });

  it('cannot make tokens, set a password or make an account: those need a web session', async () => {
    const { token } = await makeToken(admin, 'All of it', ['tickets:read', 'tickets:write', 'technicians:manage', 'teams:manage', 'webhooks:manage', 'audit:read']);
    const made = await h.api.post('/api/v1/tokens').set(bearer(token)).send({ name: 'Child', scopes: ['tickets:read'], expiresInDays: 1 });
    expect(made.status).toBe(403);
    expect(made.body.error.code).toBe('WEB_SESSION_REQUIRED');
    expect(made.body.error.message).toMatch(/needs a web session.*tokens cannot create tokens/);
    const listed = await h.api.get('/api/v1/tokens').set(bearer(token));
    expect(listed.body.error.code).toBe('WEB_SESSION_REQUIRED');
    const password = await h.api.post('/api/v1/me/password').set(bearer(token)).send({ currentPassword: ADMIN_PASSWORD, newPassword: 'another-password-1' });
    expect(password.body.error.code).toBe('WEB_SESSION_REQUIRED');
    // Nor any password, nor an account with one: the token could sign in as a person and make itself any token (found by review).
    const me = (await admin.get('/api/v1/me').expect(200)).body.technician as { id: number };
    const reset = await h.api.post(`/api/v1/technicians/${me.id}/password`).set(bearer(token)).send({ password: 'stolen-password-123' });
    expect([reset.status, reset.body.error?.code]).toEqual([403, 'WEB_SESSION_REQUIRED']);
    const created = await h.api.post('/api/v1/technicians').set(bearer(token)).send({ username: `mole-${engine}`, displayName: 'Mole', role: 'admin', password: 'mole-password-123' });
    expect([created.status, created.body.error?.code]).toEqual([403, 'WEB_SESSION_REQUIRED']);
    await h.login(`mole-${engine}`, 'mole-password-123').then(() => expect.fail('an account made by a token signed in'), (err: unknown) => expect(String(err)).toMatch(/40[013]/));
  });

  it('needs no CSRF token; the same action with the session cookie still does, and the audit names the token', async () => {
    const { id, token } = await makeToken(ana, 'Dispatcher', ['tickets:read', 'tickets:write']);
    const t = await h.helpRequest();
    const refused = await ana.agent.post(`/api/v1/tickets/${t.id}/accept`).send({});
    expect([refused.status, refused.body.error.code]).toEqual([403, 'CSRF_INVALID']);
    // Bearer wins over the cookie the same client also sends, and needs no CSRF token.
    await ana.agent.post(`/api/v1/tickets/${t.id}/accept`).set(bearer(token)).send({}).expect(200);

    const { body } = await admin.get(`/api/v1/audit?ticketId=${t.id}&action=ticket.accept`).expect(200);
    expect(body.events).toHaveLength(1);
    expect(body.events[0]).toMatchObject({ actorName: ana.username, actorId: ana.id, viaToken: { id, name: 'Dispatcher' } });
    const page = await admin.get(`/audit?ticketId=${t.id}`).expect(200);
    // Named by display name on the page (issue 31: the username "ana" was mixed with "Ana").
    expect(page.text).toContain("Ana (technician) via token Dispatcher");
    // Its making and its revocation are audited too.
    await ana.agent.delete(`/api/v1/tokens/${id}`).set('x-csrf-token', ana.csrf).expect(200);
    const own = await admin.get('/api/v1/audit?action=token.revoked').expect(200);
    expect(own.body.events[0]).toMatchObject({ actorName: ana.username, technicianId: ana.id, detail: { tokenId: id, name: 'Dispatcher' }, viaToken: null });
  });

  it('is refused at once once revoked, and an unknown or malformed token is refused in words (401)', async () => {
    const { id, token } = await makeToken(ana, 'Short lived', ['tickets:read']);
    await h.api.get('/api/v1/tickets/queue').set(bearer(token)).expect(200);
    const revoked = await ana.agent.delete(`/api/v1/tokens/${id}`).set('x-csrf-token', ana.csrf).expect(200);
    expect(revoked.body.token.revokedAt).toBeGreaterThan(0);
    const after = await h.api.get('/api/v1/tickets/queue').set(bearer(token));
    expect([after.status, after.body.error.code]).toEqual([401, 'API_TOKEN_INVALID']);
    expect(after.body.error.message).toMatch(/"Short lived" was revoked/);
    // Another's token is not yours to revoke.
    await admin.agent.delete(`/api/v1/tokens/${id}`).set('x-csrf-token', admin.csrf).expect(404);

    const unknown = await h.api.get('/api/v1/tickets/queue').set(bearer(`hd_${'A'.repeat(43)}`));
    expect([unknown.status, unknown.body.error.message]).toEqual([401, expect.stringContaining('not known')]);
    const malformed = await h.api.get('/api/v1/tickets/queue').set(bearer('not-a-token'));
    expect([malformed.status, malformed.body.error.message]).toEqual([401, expect.stringContaining('Bearer hd_')]);
  });

  it('never does more than its owner may now: demoted, the admin scopes are refused; disabled, everything is', async () => {
    const owner = await h.freshTechnician(admin, 'olga', 'admin');
    const { token } = await makeToken(owner, 'Directory sync', ['technicians:manage', 'tickets:read']);
    await h.api.get('/api/v1/technicians').set(bearer(token)).expect(200);
    await admin.patch(`/api/v1/technicians/${owner.id}`, { role: 'technician' }).expect(200);
    const demoted = await h.api.get('/api/v1/technicians').set(bearer(token));
    expect([demoted.status, demoted.body.error.code]).toEqual([403, 'API_TOKEN_SCOPE']);
    expect(demoted.body.error.message).toMatch(/may no longer use the scope technicians:manage/);
    await h.api.get('/api/v1/tickets/queue').set(bearer(token)).expect(200);
    await admin.patch(`/api/v1/technicians/${owner.id}`, { active: false }).expect(200);
    const disabled = await h.api.get('/api/v1/tickets/queue').set(bearer(token));
    expect([disabled.status, disabled.body.error.code]).toEqual([403, 'ACCOUNT_DISABLED']);
  });

  it('manages teams, topics and canned replies with teams:manage, and webhooks with webhooks:manage — administrators\' scopes only', async () => {
    const { token: routing } = await makeToken(admin, `Routing sync ${engine}`, ['teams:manage']);
    const team = (await h.api.post('/api/v1/teams').set(bearer(routing)).send({ name: `Synced team ${engine}`, members: [ana.id] }).expect(201)).body.team.id as number;
    await h.api.put(`/api/v1/teams/${team}`).set(bearer(routing)).send({ name: `Synced team ${engine}`, members: [] }).expect(200);
    const topic = await h.api.post('/api/v1/topics').set(bearer(routing)).send({ nameEn: 'Synced', nameEs: 'Sincronizado', nameZh: '同步', teamId: team, targetWaitSeconds: 300 });
    expect(topic.status, JSON.stringify(topic.body)).toBe(201);
    await h.api.get('/api/v1/topics/all').set(bearer(routing)).expect(200);
    const reply = (await h.api.post('/api/v1/canned-replies').set(bearer(routing)).send({ title: 'Hello', body: 'Hi {user}', teamId: team }).expect(201)).body.cannedReply.id as number;
    await h.api.delete(`/api/v1/canned-replies/${reply}`).set(bearer(routing)).expect(204);
    // The audit names the token, as for any other change.
    const made = (await admin.get('/api/v1/audit?action=team.created').expect(200)).body.events[0];
    expect(made.viaToken).toMatchObject({ name: `Routing sync ${engine}` });
    // teams:manage is not webhooks:manage.
    const hook = { url: 'http://127.0.0.1:9/hook', events: ['login.locked'] };
    const refused = await h.api.post('/api/v1/webhooks').set(bearer(routing)).send(hook);
    expect([refused.status, refused.body.error.message]).toEqual([403, expect.stringContaining('lacks the scope webhooks:manage')]);
    const { token: hooks } = await makeToken(admin, `Webhook setup ${engine}`, ['webhooks:manage']);
    const endpoint = (await h.api.post('/api/v1/webhooks').set(bearer(hooks)).send(hook).expect(201)).body.endpoint.id as number;
    await h.api.get(`/api/v1/webhooks/${endpoint}/deliveries`).set(bearer(hooks)).expect(200);
    await h.api.delete(`/api/v1/webhooks/${endpoint}`).set(bearer(hooks)).expect(204);
    expect((await h.api.get('/api/v1/teams').set(bearer(hooks))).body.error.message).toContain('lacks the scope teams:manage');

    // A technician may give neither, and their tickets token reaches none of these routes.
    for (const scope of ['teams:manage', 'webhooks:manage']) {
      const grant = await ana.post('/api/v1/tokens', { name: 'Too much', scopes: [scope], expiresInDays: 7 });
      expect([grant.status, grant.body.error.message]).toEqual([403, expect.stringContaining(`may not give a token the scope ${scope}`)]);
    }
    const { token: tech } = await makeToken(ana, 'Tickets', ['tickets:read', 'tickets:write']);
    for (const [method, path] of [['get', '/api/v1/teams'], ['post', '/api/v1/topics'], ['get', '/api/v1/canned-replies'], ['get', '/api/v1/webhooks']] as const) {
      const res = await h.api[method](path).set(bearer(tech)).send({});
      expect([path, res.status, res.body.error.code]).toEqual([path, 403, 'API_TOKEN_SCOPE']);
    }
    // An administrator demoted keeps the token but not its power.
    const olga = await h.freshTechnician(admin, 'hooks-owner', 'admin');
    const { token: demotedHooks } = await makeToken(olga, 'Hooks', ['webhooks:manage']);
    await h.api.get('/api/v1/webhooks').set(bearer(demotedHooks)).expect(200);
    await admin.patch(`/api/v1/technicians/${olga.id}`, { role: 'technician' }).expect(200);
    expect((await h.api.get('/api/v1/webhooks').set(bearer(demotedHooks))).body.error.message).toMatch(/may no longer use the scope webhooks:manage/);
  });

  it('opens the staff live stream with tickets:read, and only with it', async () => {
    const { token } = await makeToken(ana, 'Wallboard', ['tickets:read']);
    const stream = await openSse(`${h.server.url}/api/v1/events`, bearer(token));
    try {
      await stream.next((event) => event === 'snapshot');
      const t = await h.helpRequest();
      await stream.next((event, data) => event === 'ticket' && data.ticket.id === t.id);
    } finally {
      stream.close();
    }
    const { token: writer } = await makeToken(ana, 'Writer only', ['tickets:write']);
    await expect(openSse(`${h.server.url}/api/v1/events`, bearer(writer))).rejects.toThrow(/403.*tickets:read/);
  });

  it('is limited per token: one past its limit is refused (429) while another token still works', async () => {
    const busy = await makeToken(ana, 'Busy', ['tickets:read']);
    const calm = await makeToken(ana, 'Calm', ['tickets:read']);
    for (let i = 0; i < RATE; i++) await h.api.get('/api/v1/tickets/queue').set(bearer(busy.token)).expect(200);
    const over = await h.api.get('/api/v1/tickets/queue').set(bearer(busy.token));
    expect([over.status, over.body.error.code]).toEqual([429, 'RATE_LIMITED']);
    expect(over.body.error.message).toContain('this API token');
    await h.api.get('/api/v1/tickets/queue').set(bearer(calm.token)).expect(200);
    // The web session of the same owner is not counted with its tokens.
    await ana.get('/api/v1/tickets/queue').expect(200);
  });

  it('expires by the server\'s clock (401 in words)', async () => {
    const { token } = await makeToken(ana, 'One day', ['tickets:read'], 1);
    await h.api.get('/api/v1/tickets/queue').set(bearer(token)).expect(200);
    h.clock.advance(DAY_MS - 60_000);
    await h.api.get('/api/v1/tickets/queue').set(bearer(token)).expect(200);
    h.clock.advance(61_000);
    const expired = await request(h.server.url).get('/api/v1/tickets/queue').set(bearer(token));
    expect([expired.status, expired.body.error.code]).toEqual([401, 'API_TOKEN_INVALID']);
    expect(expired.body.error.message).toMatch(/"One day" expired on/);
  });
});
