// The server's API against the real app on each engine: desktop API,
// technicians, state machine, live events (tokens at the real repeater:
// api-pairing.test.ts).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { engines } from '../test/databases.ts';
import { ADMIN_PASSWORD, openSse, startHarness, type Harness, type RepeaterMode, type Tech } from '../test/server-harness.ts';
import { systemActor } from './audit/actor.ts';

// Every engine with the embedded repeater; SQLite also with the repeater as its own process.
const setups: [string, RepeaterMode][] = [...engines.map((e): [string, RepeaterMode] => [e, 'embedded']), ['sqlite', 'process']];

describe.each(setups)('server API on %s, repeater %s', (engineName, repeaterMode) => {
  const engine = engineName as (typeof engines)[number];
  let h: Harness;
  let admin: Tech;
  const bearer = (secret: string) => ({ Authorization: `Bearer ${secret}` });

  beforeAll(async () => {
    h = await startHarness(engine, {}, { repeater: repeaterMode });
    admin = await h.login('admin', ADMIN_PASSWORD);
  });
  afterAll(async () => h?.close());

  describe('desktop API', () => {
    it('creates a help request and reads it only with its own client secret', async () => {
      const a = await h.helpRequest();
      const b = await h.helpRequest();
      const ok = await h.api.get(`/api/v1/help-requests/${a.id}`).set(bearer(a.secret)).expect(200);
      expect(ok.body).toMatchObject({ id: a.id, status: 'requested', technician: null, viewOnly: false });
      expect(ok.body).not.toHaveProperty('requesterName');
      const crossed = await h.api.get(`/api/v1/help-requests/${a.id}`).set(bearer(b.secret)).expect(401);
      expect(crossed.body.error.code).toBe('CLIENT_SECRET_INVALID');
      await h.api.get(`/api/v1/help-requests/${a.id}`).expect(401);
      await h.api.get('/api/v1/help-requests/99999').set(bearer(a.secret)).expect(401);
    });

    it('validates bodies and ids with field-level messages', async () => {
      const res = await h.api.post('/api/v1/help-requests').send({ requesterName: '', hostname: 'x'.repeat(300) }).expect(400);
      expect(res.body.error.code).toBe('VALIDATION_FAILED');
      const fields = res.body.error.details.fields.map((f: { field: string }) => f.field);
      expect(fields).toEqual(expect.arrayContaining(['requesterName', 'username', 'hostname', 'os']));
      await h.api.post('/api/v1/help-requests').set('content-type', 'application/json').send('{not json').expect(400);
      const badId = await h.api.get('/api/v1/help-requests/abc').set(bearer('x')).expect(400);
      expect(badId.body.error.code).toBe('VALIDATION_FAILED');
      const a = await h.helpRequest();
      const badApprove = await h.api.post(`/api/v1/help-requests/${a.id}/approve`).set(bearer(a.secret)).send({ viewOnly: 'yes' }).expect(400);
      expect(badApprove.body.error.message).toMatch(/viewOnly/);
    });

    it('rejects illegal transitions with 409 and leaves the ticket as it was', async () => {
      const ana = await h.freshTechnician(admin, 'ana');
      const a = await h.helpRequest();
      const res = await h.api.post(`/api/v1/help-requests/${a.id}/approve`).set(bearer(a.secret)).send({ viewOnly: false }).expect(409);
      expect(res.body.error.code).toBe('ILLEGAL_TRANSITION');
      await h.api.post(`/api/v1/help-requests/${a.id}/end`).set(bearer(a.secret)).expect(409);
      const token = await h.api.post(`/api/v1/help-requests/${a.id}/desktop-token`).set(bearer(a.secret)).expect(409);
      expect(token.body.error.message).toMatch(/approved/);
      const still = await h.api.get(`/api/v1/help-requests/${a.id}`).set(bearer(a.secret)).expect(200);
      expect(still.body.status).toBe('requested');
      await h.api.post(`/api/v1/help-requests/${a.id}/cancel`).set(bearer(a.secret)).expect(200);
      const accept = await ana.post(`/api/v1/tickets/${a.id}/accept`).expect(409);
      expect(accept.body.error.code).toBe('ILLEGAL_TRANSITION');
    });
  });

  describe('technicians and auth', () => {
    it('refuses a wrong password, then locks the account after repeated failures', async () => {
      const carl = await h.createTechnician(admin, 'carl');
      await carl.post('/auth/logout').expect(204);
      await expect(h.login('carl', 'wrong-password')).rejects.toThrow(/401.*LOGIN_FAILED/);
      for (let i = 0; i < 4; i++) await expect(h.login('carl', 'wrong-password')).rejects.toThrow(/LOGIN_FAILED/);
      await expect(h.login('carl', 'carl-password-123')).rejects.toThrow(/423.*ACCOUNT_LOCKED/);
      await admin.post(`/api/v1/technicians/${carl.id}/password`, { password: 'carl-new-password' }).expect(200);
      await h.login('carl', 'carl-new-password');
    });

    it('requires the CSRF token on state-changing requests made with the session cookie', async () => {
      const ana = await h.freshTechnician(admin, 'ana');
      const res = await ana.agent.post('/api/v1/tickets/1/accept').send({});
      expect(res.status).toBe(403);
      expect(res.body.error.code).toBe('CSRF_INVALID');
      const login = await h.api.post('/auth/login').send({ username: ana.username, password: ana.password });
      expect(login.status).toBe(403);
    });

    it('stores passwords hashed with argon2id', async () => {
      const ana = await h.freshTechnician(admin, 'ana');
      const row = await h.server.db('technicians').where({ username: ana.username }).first();
      expect(row.password_hash).toMatch(/^\$argon2id\$/);
      expect(row.password_hash).not.toContain(ana.password);
    });

    it('lets only administrators manage technicians; a disabled technician is logged out and cannot log in', async () => {
      const ana = await h.freshTechnician(admin, 'ana');
      expect((await ana.get('/api/v1/technicians')).status).toBe(403);
      expect((await ana.post('/api/v1/technicians', { username: 'eve', displayName: 'Eve', password: 'eve-password-123' })).status).toBe(403);
      await h.api.get('/api/v1/technicians').expect(401);
      const dora = await h.createTechnician(admin, 'dora');
      await dora.get('/api/v1/me').expect(200);
      const dup = await admin.post('/api/v1/technicians', { username: 'Dora', displayName: 'Dora 2', password: 'another-password' });
      expect(dup.status).toBe(409);
      expect(dup.body.error.code).toBe('USERNAME_TAKEN');
      await admin.patch(`/api/v1/technicians/${dora.id}`, { active: false }).expect(200);
      await dora.get('/api/v1/me').expect(401);
      await expect(h.login('dora', 'dora-password-123')).rejects.toThrow(/403.*ACCOUNT_DISABLED/);
      const list = await admin.get('/api/v1/technicians').expect(200);
      expect(list.body.technicians.find((t: { username: string }) => t.username === 'dora')).toMatchObject({ active: false });
      expect(JSON.stringify(list.body)).not.toMatch(/password/i);
    });

    it('keeps at least one active administrator', async () => {
      const me = await admin.get('/api/v1/me').expect(200);
      const res = await admin.patch(`/api/v1/technicians/${me.body.technician.id}`, { role: 'technician' }).expect(409);
      expect(res.body.error.code).toBe('LAST_ADMIN');
    });
  });

  describe('tickets', () => {
    it('lets exactly one of two technicians win a concurrent accept', async () => {
      const ana = await h.freshTechnician(admin, 'ana');
      const ben = await h.freshTechnician(admin, 'ben');
      const t = await h.helpRequest();
      const [a, b] = await Promise.all([ana.post(`/api/v1/tickets/${t.id}/accept`), ben.post(`/api/v1/tickets/${t.id}/accept`)]);
      expect([a.status, b.status].sort()).toEqual([200, 409]);
      const loser = a.status === 409 ? a : b;
      expect(loser.body.error.code).toBe('TICKET_TAKEN');
      const winner = a.status === 200 ? ana : ben;
      await winner.post(`/api/v1/tickets/${t.id}/release`).expect(200);
    });

    it('holds a technician to MAX_ACTIVE_TICKETS_PER_TECH, and refuses another technician\'s ticket', async () => {
      const ana = await h.freshTechnician(admin, 'ana');
      const ben = await h.freshTechnician(admin, 'ben');
      const t1 = await h.helpRequest();
      const t2 = await h.helpRequest();
      await ana.post(`/api/v1/tickets/${t1.id}/accept`).expect(200);
      const second = await ana.post(`/api/v1/tickets/${t2.id}/accept`).expect(409);
      expect(second.body.error.code).toBe('TOO_MANY_ACTIVE_TICKETS');
      expect((await ben.get(`/api/v1/tickets/${t1.id}`)).status).toBe(403);
      expect((await ben.post(`/api/v1/tickets/${t1.id}/release`)).status).toBe(403);
      expect((await ben.post(`/api/v1/tickets/${t1.id}/viewer-token`)).status).toBe(403);
      await admin.get(`/api/v1/tickets/${t1.id}`).expect(200);
      await ana.post(`/api/v1/tickets/${t1.id}/release`).expect(200);
    });

    it('sends a declined ticket back to the queue and shows the technician to the user', async () => {
      const ana = await h.freshTechnician(admin, 'ana');
      const ben = await h.freshTechnician(admin, 'ben');
      const t = await h.helpRequest();
      const events = await openSse(`${h.server.url}/api/v1/help-requests/${t.id}/events`, bearer(t.secret));
      await events.next((e, d) => e === 'ticket' && d.status === 'requested');
      await ana.post(`/api/v1/tickets/${t.id}/accept`).expect(200);
      const offered = await events.next((e, d) => e === 'ticket' && d.status === 'accepted');
      expect(offered.data.technician).toEqual({ displayName: 'Ana' });
      await h.api.post(`/api/v1/help-requests/${t.id}/decline`).set(bearer(t.secret)).expect(200);
      const back = await events.next((e, d) => e === 'ticket' && d.status === 'requested');
      expect(back.data.technician).toBeNull();
      events.close();
      const queue = await ben.get('/api/v1/tickets/queue').expect(200);
      expect(queue.body.tickets.map((x: { id: number }) => x.id)).toContain(t.id);
      const detail = await admin.get(`/api/v1/tickets/${t.id}`).expect(200);
      const decline = detail.body.timeline.find((e: { action: string }) => e.action === 'ticket.decline');
      expect(decline).toMatchObject({ actorType: 'requester', actorName: 'Bob User', detail: { declinedTechnician: 'Ana' } });
      await h.api.post(`/api/v1/help-requests/${t.id}/cancel`).set(bearer(t.secret)).expect(200);
    });

    it('expires requests nobody accepted in time', async () => {
      const t = await h.helpRequest();
      h.clock.advance(2 * 60 * 60_000);
      try {
        await h.server.tickets.expireStale(systemActor('expiry'));
      } finally {
        h.clock.advance(-2 * 60 * 60_000);
      }
      const res = await h.api.get(`/api/v1/help-requests/${t.id}`).set(bearer(t.secret)).expect(200);
      expect(res.body).toMatchObject({ status: 'expired', endReason: 'EXPIRED' });
    });

    it('searches history with filters, sorting and paging', async () => {
      const host = `hist-${engine}-${Date.now()}`;
      for (let i = 0; i < 3; i++) await h.helpRequest({ hostname: `${host}-${i}`, requesterName: `Zed ${i}` });
      const res = await admin.get(`/api/v1/tickets?hostname=${host}&sort=hostname&order=asc&pageSize=2&page=1`).expect(200);
      expect(res.body.total).toBe(3);
      expect(res.body.rows.map((r: { hostname: string }) => r.hostname)).toEqual([`${host}-0`, `${host}-1`]);
      const wildcard = await admin.get('/api/v1/tickets?hostname=%25').expect(200);
      expect(wildcard.body.total).toBe(0);
      const bad = await admin.get('/api/v1/tickets?status=flying').expect(400);
      expect(bad.body.error.code).toBe('VALIDATION_FAILED');
    });
  });

  it('answers /healthz from the database', async () => {
    expect((await h.api.get('/healthz').expect(200)).body).toEqual({ status: 'ok' });
  });
});

describe('desktop API gatekeeping', () => {
  it('refuses a request with no description in words: the technician must not get a blank problem (issue 16)', async () => {
    const h = await startHarness('sqlite');
    try {
      for (const description of ['', '   ', undefined]) {
        const res = await h.api.post('/api/v1/help-requests').send({ requesterName: 'Kim', username: 'kim', hostname: 'kim-pc', os: 'Linux', description }).expect(400);
        expect(res.body.error).toMatchObject({ code: 'VALIDATION_FAILED', message: expect.stringMatching(/description: describe the problem/) });
      }
    } finally {
      await h.close();
    }
  });

  it('requires X-Client-Key when CLIENT_KEY is set, and rate limits creation (and key guesses) per address', async () => {
    const h = await startHarness('sqlite', { CLIENT_KEY: 'a-client-key-of-some-length', TICKET_CREATE_RATE_PER_MINUTE: '3' });
    try {
      const body = { requesterName: 'Kim', username: 'kim', hostname: 'kim-pc', os: 'Linux', description: 'Screen flickers' };
      const missing = await h.api.post('/api/v1/help-requests').send(body).expect(401);
      expect(missing.body.error.code).toBe('CLIENT_KEY_INVALID');
      await h.api.post('/api/v1/help-requests').set('x-client-key', 'a-client-key-of-some-lengtX').send(body).expect(401);
      const ok = await h.api.post('/api/v1/help-requests').set('x-client-key', 'a-client-key-of-some-length').send(body).expect(201);
      expect(ok.body).toMatchObject({ status: 'requested', clientSecret: expect.stringMatching(/^[A-Za-z0-9_-]{43}$/) });
      // The key gates creation only; the ticket's own secret is what later calls carry.
      await h.api.get(`/api/v1/help-requests/${ok.body.id}`).set('authorization', `Bearer ${ok.body.clientSecret}`).expect(200);
      // Three requests in this minute (two of them wrong guesses at the key): the fourth is refused.
      const limited = await h.api.post('/api/v1/help-requests').set('x-client-key', 'a-client-key-of-some-length').send(body).expect(429);
      expect(limited.body.error.code).toBe('RATE_LIMITED');
    } finally {
      await h.close();
    }
  });
});
