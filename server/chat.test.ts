// Chat on a ticket through the real server on both engines: the desktop API
// (bearer secret) and the technicians' API (session + CSRF), live on both
// event streams, stored, refused in words when it must be.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { engines } from '../test/databases.ts';
import { ADMIN_PASSWORD, cookieOf, openSse, startHarness, type Harness, type Tech } from '../test/server-harness.ts';

describe.each(engines)('chat on %s', (engine) => {
  let h: Harness;
  let admin: Tech;
  beforeAll(async () => {
    h = await startHarness(engine, { MAX_ACTIVE_TICKETS_PER_TECH: '20', MESSAGE_RATE_PER_MINUTE: '12' });
    admin = await h.login('admin', ADMIN_PASSWORD);
  }, 60_000);
  afterAll(async () => {
    await h?.close();
  });

  const bearer = (secret: string) => ({ Authorization: `Bearer ${secret}` });
  const userStream = (t: { id: number; secret: string }) => openSse(`${h.server.url}/api/v1/help-requests/${t.id}/events`, bearer(t.secret));
  const staffStream = async (tech: Tech) => openSse(`${h.server.url}/api/v1/events`, { cookie: await cookieOf(tech) });

  it('a technician writes to a request still in the queue; the user sees it live with the technician\'s name, and answers', async () => {
    const ana = await h.createTechnician(admin, `ana${engine}`);
    const t = await h.helpRequest();
    const user = await userStream(t);
    const staff = await staffStream(ana);
    const sent = await ana.post(`/api/v1/tickets/${t.id}/messages`, { text: 'Seen, coming in five minutes' }).expect(201);
    expect(sent.body.message).toMatchObject({ from: 'technician', authorName: `Ana${engine}`, text: 'Seen, coming in five minutes' });
    const live = await user.next((event) => event === 'message', 1000);
    expect(live.data).toEqual(sent.body.message);
    const answer = await h.api.post(`/api/v1/help-requests/${t.id}/messages`).set(bearer(t.secret)).send({ text: 'Thanks! <script>alert(1)</script>' }).expect(201);
    const atTech = await staff.next((event, data) => event === 'message' && data.message.id === answer.body.message.id, 1000);
    expect(atTech.data).toMatchObject({ ticketId: t.id, queued: true, message: { from: 'user', authorName: 'Bob User', text: 'Thanks! <script>alert(1)</script>' } });
    // Stored: both sides read the same conversation again.
    const mine = (await ana.get(`/api/v1/tickets/${t.id}/messages`).expect(200)).body.messages;
    const theirs = (await h.api.get(`/api/v1/help-requests/${t.id}/messages`).set(bearer(t.secret)).expect(200)).body.messages;
    expect(mine).toEqual(theirs);
    expect(mine.map((m: { text: string }) => m.text)).toEqual(['Seen, coming in five minutes', 'Thanks! <script>alert(1)</script>']);
    // Part of the timeline.
    const timeline = (await ana.get(`/api/v1/tickets/${t.id}`).expect(200)).body.timeline.map((e: { action: string }) => e.action);
    expect(timeline.filter((a: string) => a === 'message.sent')).toHaveLength(2);
    user.close();
    staff.close();
  });

  it('once accepted, only the holder and administrators write; others get 403 in words; unread counts follow reading', async () => {
    const ana = await h.createTechnician(admin, `anb${engine}`);
    const eve = await h.createTechnician(admin, `eve${engine}`);
    const t = await h.helpRequest();
    await ana.post(`/api/v1/tickets/${t.id}/accept`).expect(200);
    const refused = await eve.post(`/api/v1/tickets/${t.id}/messages`, { text: 'me too' }).expect(403);
    expect(refused.body.error).toMatchObject({ code: 'FORBIDDEN', message: expect.stringMatching(/held by Anb/) });
    await eve.get(`/api/v1/tickets/${t.id}/messages`).expect(403);
    await admin.post(`/api/v1/tickets/${t.id}/messages`, { text: 'Admin here' }).expect(201);
    await ana.post(`/api/v1/tickets/${t.id}/messages`, { text: 'On it' }).expect(201);
    await h.api.post(`/api/v1/help-requests/${t.id}/messages`).set(bearer(t.secret)).send({ text: 'one' }).expect(201);
    const second = await h.api.post(`/api/v1/help-requests/${t.id}/messages`).set(bearer(t.secret)).send({ text: 'two' }).expect(201);
    const mine = await ana.get('/mine');
    expect(mine.text).toMatch(new RegExp(`data-ticket-id="${t.id}"[^]*?data-unread="2"`));
    await ana.post(`/api/v1/tickets/${t.id}/messages/read`, { lastReadId: second.body.message.id }).expect(204);
    expect((await ana.get('/mine')).text).toMatch(new RegExp(`data-ticket-id="${t.id}"[^]*?data-unread="0"`));
  });

  it('refuses in words: empty, too long, no text, a closed ticket; keeps the conversation readable after', async () => {
    const ana = await h.createTechnician(admin, `anc${engine}`);
    const t = await h.helpRequest();
    const user = (text: unknown) => h.api.post(`/api/v1/help-requests/${t.id}/messages`).set(bearer(t.secret)).send(text === undefined ? {} : { text });
    expect((await user('   ').expect(400)).body.error.code).toBe('MESSAGE_EMPTY');
    const long = await user('x'.repeat(2001)).expect(400);
    expect(long.body.error).toMatchObject({ code: 'MESSAGE_TOO_LONG', message: expect.stringMatching(/at most 2000 characters \(this one has 2001\)/) });
    await user('é'.repeat(2000)).expect(201);
    expect((await user(undefined).expect(400)).body.error.code).toBe('VALIDATION_FAILED');
    await h.api.post(`/api/v1/help-requests/${t.id}/messages`).set(bearer('not-the-secret')).send({ text: 'hi' }).expect(401);
    await ana.post(`/api/v1/tickets/${t.id}/accept`).expect(200);
    await h.api.post(`/api/v1/help-requests/${t.id}/cancel`).set(bearer(t.secret)).expect(200);
    const closed = await user('are you there?').expect(409);
    expect(closed.body.error).toMatchObject({ code: 'TICKET_CLOSED', message: expect.stringMatching(/cancelled: its conversation is kept/) });
    expect((await ana.post(`/api/v1/tickets/${t.id}/messages`, { text: 'late' }).expect(409)).body.error.code).toBe('TICKET_CLOSED');
    expect((await ana.get(`/api/v1/tickets/${t.id}/messages`).expect(200)).body.messages).toHaveLength(1);
  });

  it('rate-limits a user\'s messages per help request (429 in words)', async () => {
    const t = await h.helpRequest();
    for (let i = 0; i < 12; i++) await h.api.post(`/api/v1/help-requests/${t.id}/messages`).set(bearer(t.secret)).send({ text: `m${i}` }).expect(201);
    const limited = await h.api.post(`/api/v1/help-requests/${t.id}/messages`).set(bearer(t.secret)).send({ text: 'one more' }).expect(429);
    expect(limited.body.error).toMatchObject({ code: 'RATE_LIMITED', message: expect.stringMatching(/Too many messages/) });
  });
});
