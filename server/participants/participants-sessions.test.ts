// Participants' own sessions at the real (embedded) repeater, on each engine
// (issue 26): the user stops one person and only that channel closes; a
// participant leaving does not move the ticket; the holder's viewer dropping
// makes the longest-connected participant with control the holder; a
// hand-over the user allows closes the previous holder's channel; the ticket
// ending closes every channel.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CloseCode } from '../../protocol/close-codes.ts';
import { engines } from '../../test/databases.ts';
import { openLeg } from '../../test/http-clients.ts';
import { ADMIN_PASSWORD, cookieOf, openSse, startHarness, type Harness, type Tech } from '../../test/server-harness.ts';
import { allowed, bearer, eventually, participantLegs, participantsOf, stillRelays, ticketInSession, ticketOf } from './participants.test-helpers.ts';

describe.each(engines)('participants\' sessions on %s', (engine) => {
  let h: Harness;
  let admin: Tech;
  beforeAll(async () => {
    h = await startHarness(engine);
    admin = await h.login('admin', ADMIN_PASSWORD);
  });
  afterAll(async () => h?.close());

  it('the user stops Luis only: his legs close STOPPED_BY_USER, Ana\'s session goes on; the ticket ending closes every channel', async () => {
    const ana = await h.freshTechnician(admin, 'ana');
    const luis = await h.freshTechnician(admin, 'luis');
    const carl = await h.freshTechnician(admin, 'carl');
    const t = await ticketInSession(h, ana);
    const luisId = await allowed(h, t, ana, luis, 'view');
    const carlId = await allowed(h, t, ana, carl, 'control');
    const luisLegs = await participantLegs(h, t, luis, luisId);
    const carlLegs = await participantLegs(h, t, carl, carlId);
    const live = await openSse(`${h.server.url}/api/v1/events`, { cookie: await cookieOf(luis) });
    await live.next((e) => e === 'snapshot');
    const closes = Promise.all([luisLegs.desktop.closed, luisLegs.viewer.closed]);
    await h.api.post(`/api/v1/help-requests/${t.id}/participants/${luis.id}/stop`).set(bearer(t.secret)).expect(200);
    expect(await closes).toEqual([CloseCode.STOPPED_BY_USER, CloseCode.STOPPED_BY_USER]);
    await live.next((e, d) => e === 'participant' && d.action === 'stopped' && d.participant.technicianId === luis.id);
    live.close();
    expect(await stillRelays(t.main, 'ana still works')).toBe(true);
    expect(await stillRelays(carlLegs, 'carl still works')).toBe(true);
    expect(await ticketOf(h, ana, t.id)).toMatchObject({ status: 'in_session', technician: { id: ana.id } });
    expect((await participantsOf(ana, t.id)).find((p) => p.technicianId === luis.id)?.state).toBe('stopped');
    // A stopped participant's channel refuses a new leg.
    expect((await luis.post(`/api/v1/tickets/${t.id}/viewer-token`)).status).toBe(403);
    // The user ends the session: every channel closes with it, and nobody is left in the user's list.
    const desktopStream = await openSse(`${h.server.url}/api/v1/help-requests/${t.id}/events`, bearer(t.secret));
    await desktopStream.next((e, d) => e === 'ticket' && d.participants.length === 2);
    const all = Promise.all([t.main.viewer.closed, carlLegs.viewer.closed, carlLegs.desktop.closed]);
    await h.api.post(`/api/v1/help-requests/${t.id}/end`).set(bearer(t.secret)).expect(200);
    expect(await all).toEqual([CloseCode.ENDED_BY_USER, CloseCode.ENDED_BY_USER, CloseCode.ENDED_BY_USER]);
    const ended = await desktopStream.next((e, d) => e === 'ticket' && d.status === 'ended');
    desktopStream.close();
    expect(ended.data.participants.map((p: { technicianId: number; state: string }) => [p.technicianId, p.state])).toEqual([[luis.id, 'stopped'], [carl.id, 'cancelled']]);
    expect((await participantsOf(ana, t.id)).find((p) => p.technicianId === carl.id)?.state).toBe('cancelled');
    const timeline = (await ana.get(`/api/v1/tickets/${t.id}`).expect(200)).body.timeline as { action: string; actorType: string }[];
    expect(timeline.find((e) => e.action === 'participant.stopped')?.actorType).toBe('requester');
  });

  it('a participant leaving changes only their row: the ticket stays in session with its holder', async () => {
    const ana = await h.freshTechnician(admin, 'ana');
    const luis = await h.freshTechnician(admin, 'luis');
    const t = await ticketInSession(h, ana);
    const luisId = await allowed(h, t, ana, luis, 'control');
    const legs = await participantLegs(h, t, luis, luisId);
    legs.viewer.ws.close();
    expect(await legs.desktop.closed).toBe(CloseCode.VIEWER_LEFT);
    await eventually(() => participantsOf(ana, t.id), (list) => list.find((p) => p.technicianId === luis.id)?.state === 'left');
    expect(await ticketOf(h, ana, t.id)).toMatchObject({ status: 'in_session', technician: { id: ana.id } });
    expect(await stillRelays(t.main, 'the holder goes on')).toBe(true);
    const detail = (await ana.get(`/api/v1/tickets/${t.id}`).expect(200)).body;
    const sessions = detail.sessions as { participantId: number | null; endReason: string | null }[];
    expect(sessions.filter((s) => s.participantId === null).map((s) => s.endReason)).toEqual([null]);
    expect(sessions.filter((s) => s.participantId === luisId).map((s) => s.endReason)).toEqual(['VIEWER_LEFT']);
    // The live sessions page lists it, with everyone.
    const liveList = (await admin.get('/api/v1/sessions/live').expect(200)).body.sessions as { ticket: { id: number }; participants: { technicianId: number; state: string }[] }[];
    expect(liveList.find((s) => s.ticket.id === t.id)?.participants.map((p) => [p.technicianId, p.state])).toEqual([[ana.id, 'connected'], [luis.id, 'left']]);
    expect((await ana.get('/api/v1/sessions/live')).status).toBe(403);
  });

  it('the holder\'s viewer drops: the longest-connected participant with control (on the screen) becomes holder, the ticket stays in session', async () => {
    const ana = await h.freshTechnician(admin, 'ana');
    const luis = await h.freshTechnician(admin, 'luis');
    const vic = await h.freshTechnician(admin, 'vic');
    const t = await ticketInSession(h, ana);
    const vicId = await allowed(h, t, ana, vic, 'view'); // longest present, but only watching
    const kim = await h.freshTechnician(admin, 'kim');
    await allowed(h, t, ana, kim, 'control'); // allowed before Luis, but never opened her viewer
    const luisId = await allowed(h, t, ana, luis, 'control');
    const luisLegs = await participantLegs(h, t, luis, luisId);
    const vicLegs = await participantLegs(h, t, vic, vicId);
    const desktopStream = await openSse(`${h.server.url}/api/v1/help-requests/${t.id}/events`, bearer(t.secret));
    await desktopStream.next((e) => e === 'ticket');
    t.main.viewer.ws.terminate();
    await eventually(() => ticketOf(h, luis, t.id), (ticket) => ticket.technician?.id === luis.id);
    expect(await ticketOf(h, luis, t.id)).toMatchObject({ status: 'in_session' });
    const told = await desktopStream.next((e, d) => e === 'ticket' && d.mainChannel === false);
    expect(told.data.technician).toEqual({ displayName: 'Luis' });
    desktopStream.close();
    const list = await participantsOf(luis, t.id);
    expect(list[0]).toMatchObject({ technicianId: luis.id, holder: true, state: 'connected' });
    expect(await stillRelays(luisLegs, 'luis holds it now')).toBe(true);
    expect(await stillRelays(vicLegs, 'vic goes on watching')).toBe(true);
    // The main channel is closed for good: a new desktop leg on it is refused.
    const token = await h.api.post(`/api/v1/help-requests/${t.id}/desktop-token`).set(bearer(t.secret)).expect(201);
    await expect(openLeg(token.body.url as string)).rejects.toMatchObject({ status: 409, body: { error: { code: 'TICKET_NOT_CONNECTABLE' } } });
    const timeline = (await luis.get(`/api/v1/tickets/${t.id}`).expect(200)).body.timeline as { action: string; technicianId: number }[];
    expect(timeline.find((e) => e.action === 'participant.promoted')?.technicianId).toBe(luis.id);
  });

  it('a hand-over the user allows closes Ana\'s channel HANDED_OVER; Luis holds the ticket on his own channel with the note', async () => {
    const ana = await h.freshTechnician(admin, 'ana');
    const luis = await h.freshTechnician(admin, 'luis');
    const t = await ticketInSession(h, ana);
    const asked = await ana.post(`/api/v1/tickets/${t.id}/transfer`, { technicianId: luis.id, note: 'VPN profile half set up' }).expect(200);
    // Warm: Ana works on until the user allows Luis.
    expect(await stillRelays(t.main, 'ana waits for the user')).toBe(true);
    const closes = Promise.all([t.main.desktop.closed, t.main.viewer.closed]);
    await h.api.post(`/api/v1/help-requests/${t.id}/participants/${luis.id}/approve`).set(bearer(t.secret)).expect(200);
    expect(await closes).toEqual([CloseCode.HANDED_OVER, CloseCode.HANDED_OVER]);
    const legs = await participantLegs(h, t, luis, asked.body.participant.id as number);
    expect(await stillRelays(legs, 'luis took over')).toBe(true);
    expect(await ticketOf(h, luis, t.id)).toMatchObject({ status: 'in_session', technician: { id: luis.id } });
    expect((await luis.get(`/api/v1/tickets/${t.id}/participants`).expect(200)).body.handoverNote).toBe('VPN profile half set up');
  });
});
