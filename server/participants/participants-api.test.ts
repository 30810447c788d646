// Participants over HTTP against the real server on each engine (issue 26):
// invite → accept → the user allows → a token per channel, paired at the
// embedded repeater; the limit in words; concurrent invites and a watch that
// keep the list whole; a hand-over with its note; supervision asked or told.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { engines } from '../../test/databases.ts';
import { ADMIN_PASSWORD, cookieOf, openSse, startHarness, type Harness, type Tech } from '../../test/server-harness.ts';
import { describeAudit, type People } from '../../admin-web/audit-words.ts';
import { languages, translator } from '../../admin-web/messages/index.ts';
import type { AuditEvent } from '../audit/store.ts';
import { approvedTicket, bearer, eventually, participantLegs, participantsOf } from './participants.test-helpers.ts';

describe.each(engines)('participants on %s', (engine) => {
  let h: Harness;
  let admin: Tech;
  beforeAll(async () => {
    h = await startHarness(engine);
    admin = await h.login('admin', ADMIN_PASSWORD);
  });
  afterAll(async () => h?.close());

  it('invite → accept → the user allows by name → each has a token for their own channel, paired apart', async () => {
    const ana = await h.freshTechnician(admin, 'ana');
    const luis = await h.freshTechnician(admin, 'luis');
    const t = await approvedTicket(h, ana);
    const live = await openSse(`${h.server.url}/api/v1/events`, { cookie: await cookieOf(luis) });
    await live.next((e) => e === 'snapshot');
    const invited = await ana.post(`/api/v1/tickets/${t.id}/invitations`, { technicianId: luis.id, mode: 'view' }).expect(201);
    expect(invited.body).toMatchObject({ id: expect.any(Number), technicianId: luis.id, mode: 'view', state: 'invited', kind: 'invite', invitedBy: { id: ana.id, displayName: 'Ana' } });
    const pid = invited.body.id as number;
    // Luis hears of it live; he may not open the viewer yet.
    await live.next((e, d) => e === 'participant' && d.action === 'invited' && d.participant.id === pid && d.technicianIds.includes(luis.id));
    expect((await luis.post(`/api/v1/tickets/${t.id}/viewer-token`)).status).toBe(403);
    // Only the invitee accepts; only the holder invites.
    expect((await ana.post(`/api/v1/invitations/${pid}/accept`)).status).toBe(403);
    expect((await luis.post(`/api/v1/tickets/${t.id}/invitations`, { technicianId: ana.id, mode: 'view' })).status).toBe(403);
    await luis.post(`/api/v1/invitations/${pid}/accept`).expect(200);
    const asked = await h.api.get(`/api/v1/help-requests/${t.id}`).set(bearer(t.secret)).expect(200);
    expect(asked.body.mainChannel).toBe(true);
    expect(asked.body.participants).toEqual([{ technicianId: luis.id, displayName: 'Luis', mode: 'view', state: 'waiting_user', kind: 'invite', invitedBy: 'Ana', channel: `${t.id}.p${pid}`, controlRequested: false }]);
    expect((await h.api.post(`/api/v1/help-requests/${t.id}/participants/${luis.id}/desktop-token`).set(bearer(t.secret))).status).toBe(409);
    await h.api.post(`/api/v1/help-requests/${t.id}/participants/${luis.id}/approve`).set(bearer(t.secret)).expect(200);
    await live.next((e, d) => e === 'participant' && d.action === 'allowed' && d.participant.state === 'connected');
    // Allowed, Luis writes to the user under his name, and the ticket's conversation reaches his stream.
    await luis.post(`/api/v1/tickets/${t.id}/messages`, { text: 'Luis here, watching too' }).expect(201);
    await h.api.post(`/api/v1/help-requests/${t.id}/messages`).set(bearer(t.secret)).send({ text: 'Welcome' }).expect(201);
    const heard = await live.next((e, d) => e === 'message' && d.ticketId === t.id && d.message.text === 'Welcome');
    expect(heard.data.message.from).toBe('user');
    live.close();
    const chat = (await h.api.get(`/api/v1/help-requests/${t.id}/messages`).set(bearer(t.secret)).expect(200)).body.messages as { authorName: string; text: string }[];
    expect(chat[0]).toMatchObject({ authorName: 'Luis', text: 'Luis here, watching too' });
    const list = await participantsOf(ana, t.id);
    expect(list.map((p) => [p.technicianId, p.holder, p.state, p.mode])).toEqual([[ana.id, true, 'connected', 'control'], [luis.id, false, 'connected', 'view']]);
    expect((await h.freshTechnician(admin, 'eve').then((eve) => eve.get(`/api/v1/tickets/${t.id}/participants`))).status).toBe(403);
    const luisToken = await luis.post(`/api/v1/tickets/${t.id}/viewer-token`).expect(201);
    expect(luisToken.body).toMatchObject({ channel: `${t.id}.p${pid}`, mode: 'view', viewOnly: true });
    expect((await ana.post(`/api/v1/tickets/${t.id}/viewer-token`).expect(201)).body).toMatchObject({ channel: String(t.id), mode: 'control' });
    const legs = await participantLegs(h, t, luis, pid);
    await eventually(() => h.server.legState(`${t.id}.p${pid}`, 'desktop'), (state) => state === 'paired');
    // Luis's channel paired does not start the ticket's session: the main channel does.
    expect(await h.server.legState(String(t.id), 'desktop')).toBeNull();
    const detail = await ana.get(`/api/v1/tickets/${t.id}`).expect(200);
    expect(detail.body.ticket.status).toBe('approved');
    const timeline = await eventually(async () => (await ana.get(`/api/v1/tickets/${t.id}`).expect(200)).body.timeline as { action: string }[], (tl) => tl.some((e) => e.action === 'participant.joined'));
    expect(timeline.map((e) => e.action)).toEqual(expect.arrayContaining(['participant.invited', 'participant.accepted', 'participant.allowed', 'participant.joined']));
    legs.desktop.ws.terminate();
    legs.viewer.ws.terminate();
  });

  it('a fifth technician is refused in words; a declined invitation frees its place; one open row per technician', async () => {
    const ana = await h.freshTechnician(admin, 'ana');
    const others = await Promise.all(['ben', 'cai', 'dora', 'eli'].map((n) => h.freshTechnician(admin, n)));
    const t = await approvedTicket(h, ana);
    const ids: number[] = [];
    for (const o of others.slice(0, 3)) ids.push((await ana.post(`/api/v1/tickets/${t.id}/invitations`, { technicianId: o.id, mode: 'control' }).expect(201)).body.id);
    const fifth = await ana.post(`/api/v1/tickets/${t.id}/invitations`, { technicianId: others[3]!.id, mode: 'view' }).expect(409);
    expect(fifth.body.error).toMatchObject({ code: 'TOO_MANY_PARTICIPANTS', message: expect.stringMatching(/already has 4 technicians.*the limit is 4/) });
    const spanish = await ana.agent.post(`/api/v1/tickets/${t.id}/invitations`).set('x-csrf-token', ana.csrf).set('accept-language', 'es').send({ technicianId: others[3]!.id, mode: 'view' });
    expect(spanish.body.error.message).toMatch(/como mucho pueden participar 4/);
    const twice = await ana.post(`/api/v1/tickets/${t.id}/invitations`, { technicianId: others[0]!.id, mode: 'view' }).expect(409);
    expect(twice.body.error.code).toBe('ALREADY_PARTICIPANT');
    await others[1]!.post(`/api/v1/invitations/${ids[1]}/decline`).expect(200);
    await ana.post(`/api/v1/tickets/${t.id}/invitations`, { technicianId: others[3]!.id, mode: 'view' }).expect(201);
    // The inviter withdraws one (DELETE), and invites again.
    await ana.agent.delete(`/api/v1/invitations/${ids[2]}`).set('x-csrf-token', ana.csrf).expect(200);
    await ana.post(`/api/v1/tickets/${t.id}/invitations`, { technicianId: others[2]!.id, mode: 'view' }).expect(201);
    const states = (await participantsOf(ana, t.id)).map((p) => `${p.technicianId}:${p.state}`);
    expect(states).toEqual([`${ana.id}:connected`, `${others[0]!.id}:invited`, `${others[1]!.id}:declined`, `${others[2]!.id}:cancelled`, `${others[3]!.id}:invited`, `${others[2]!.id}:invited`]);
  });

  it('invites and a watch at the same moment keep the list whole: never past the limit, never one technician twice', async () => {
    const ana = await h.freshTechnician(admin, 'ana');
    const colleagues = await Promise.all(['fay', 'gus', 'hal', 'ivy', 'jon'].map((n) => h.freshTechnician(admin, n)));
    const t = await approvedTicket(h, ana);
    const invite = (tech: Tech) => ana.post(`/api/v1/tickets/${t.id}/invitations`, { technicianId: tech.id, mode: 'view' });
    const answers = await Promise.all([...colleagues.map(invite), invite(colleagues[0]!), invite(colleagues[1]!), admin.post(`/api/v1/tickets/${t.id}/watch`), admin.post(`/api/v1/tickets/${t.id}/watch`)]);
    const codes = answers.map((r) => (r.status === 201 ? 'ok' : (r.body.error?.code as string)));
    expect(codes.filter((c) => c === 'ok')).toHaveLength(3);
    expect(codes.filter((c) => c !== 'ok').every((c) => c === 'TOO_MANY_PARTICIPANTS' || c === 'ALREADY_PARTICIPANT')).toBe(true);
    const open = (await h.server.db('ticket_participants').where({ ticket_id: t.id }).whereIn('state', ['invited', 'waiting_user', 'connected']).select('technician_id')) as { technician_id: number }[];
    const techs = open.map((r) => Number(r.technician_id));
    expect(techs).toHaveLength(3);
    expect(new Set(techs).size).toBe(3);
    expect(techs).not.toContain(ana.id);
    const list = await participantsOf(ana, t.id);
    expect(list.filter((p) => ['invited', 'waiting_user', 'connected'].includes(p.state))).toHaveLength(4);
  });

  it('hands over with a note: Ana stays until the user allows Luis, then Luis holds the ticket on his own channel', async () => {
    const ana = await h.freshTechnician(admin, 'ana');
    const luis = await h.freshTechnician(admin, 'luis');
    const t = await approvedTicket(h, ana);
    const asked = await ana.post(`/api/v1/tickets/${t.id}/transfer`, { technicianId: luis.id, note: 'Printer queue is stuck; driver 5.1 reinstalled' }).expect(200);
    expect(asked.body.participant).toMatchObject({ technicianId: luis.id, kind: 'transfer', mode: 'control', state: 'waiting_user', note: 'Printer queue is stuck; driver 5.1 reinstalled' });
    expect(asked.body.ticket.technician.id).toBe(ana.id);
    expect((await luis.post(`/api/v1/tickets/${t.id}/transfer`, { technicianId: ana.id, note: '' })).status).toBe(403);
    const allowedView = await h.api.post(`/api/v1/help-requests/${t.id}/participants/${luis.id}/approve`).set(bearer(t.secret)).expect(200);
    expect(allowedView.body.participant).toMatchObject({ state: 'connected', holder: true });
    const view = await h.api.get(`/api/v1/help-requests/${t.id}`).set(bearer(t.secret)).expect(200);
    expect(view.body).toMatchObject({ technician: { displayName: 'Luis' }, mainChannel: false, status: 'approved' });
    expect((await ana.post(`/api/v1/tickets/${t.id}/viewer-token`)).status).toBe(403);
    expect((await luis.post(`/api/v1/tickets/${t.id}/viewer-token`).expect(201)).body.channel).toBe(`${t.id}.p${asked.body.participant.id}`);
    const list = await luis.get(`/api/v1/tickets/${t.id}/participants`).expect(200);
    expect(list.body.participants[0]).toMatchObject({ technicianId: luis.id, holder: true });
    const detail = await luis.get(`/api/v1/tickets/${t.id}`).expect(200);
    const transferred = detail.body.timeline.find((e: { action: string }) => e.action === 'participant.transferred');
    expect(transferred).toMatchObject({ actorType: 'requester', technicianId: luis.id, detail: expect.objectContaining({ note: 'Printer queue is stuck; driver 5.1 reinstalled', invitedBy: 'Ana' }) });
    // Back to the queue with a note for whoever takes it next.
    const back = await luis.post(`/api/v1/tickets/${t.id}/transfer`, { technicianId: null, note: 'Needs an on-site visit' }).expect(200);
    expect(back.body.ticket).toMatchObject({ status: 'requested', technician: null });
    expect((await admin.get(`/api/v1/tickets/${t.id}/participants`).expect(200)).body.handoverNote).toBe('Needs an on-site visit');
    expect((await participantsOf(admin, t.id)).every((p) => !['invited', 'waiting_user', 'connected'].includes(p.state))).toBe(true);
    // The timeline reads in words, in every language, naming Luis and the notes.
    const events = (await admin.get(`/api/v1/tickets/${t.id}`).expect(200)).body.timeline as AuditEvent[];
    const people: People = new Map([[ana.id, { displayName: 'Ana', role: 'technician' }], [luis.id, { displayName: 'Luis', role: 'technician' }]]);
    for (const lang of languages) {
      const t9n = translator(lang);
      const ours = events.filter((e) => e.action.startsWith('participant.') || e.action === 'ticket.requeue' || e.action === 'ticket.release');
      expect(ours.map((e) => e.action)).toEqual(['participant.transfer_requested', 'participant.transferred', 'participant.left', 'ticket.release']);
      const said = ours.map((e) => describeAudit(e, t9n, people, (n) => `${n} B`).what);
      ours.forEach((e, i) => expect(said[i]).not.toBe(t9n('audit.do.unknown', { action: e.action })));
      expect(said.join(' ')).toContain('Luis');
      expect(said.join(' ')).toContain('driver 5.1 reinstalled');
      expect(said.join(' ')).toContain('Needs an on-site visit');
    }
  });

  it('administrators watch: asked like an invite (SUPERVISOR_WATCH=ask); technicians may not', async () => {
    const ana = await h.freshTechnician(admin, 'ana');
    const boss = await h.freshTechnician(admin, 'boss', 'admin');
    const t = await approvedTicket(h, ana);
    expect((await ana.post(`/api/v1/tickets/${t.id}/watch`)).status).toBe(403);
    const watch = await boss.post(`/api/v1/tickets/${t.id}/watch`).expect(201);
    expect(watch.body.participant).toMatchObject({ kind: 'supervise', mode: 'view', state: 'waiting_user' });
    expect((await boss.post(`/api/v1/tickets/${t.id}/viewer-token`)).status).toBe(403);
    await h.api.post(`/api/v1/help-requests/${t.id}/participants/${boss.id}/approve`).set(bearer(t.secret)).expect(200);
    expect((await boss.post(`/api/v1/tickets/${t.id}/viewer-token`).expect(201)).body.mode).toBe('view');
    // The watcher asks for control; the user says no, then yes.
    await boss.post(`/api/v1/tickets/${t.id}/participants/me/request-control`).expect(200);
    const view = await h.api.get(`/api/v1/help-requests/${t.id}`).set(bearer(t.secret)).expect(200);
    expect(view.body.participants[0]).toMatchObject({ technicianId: boss.id, kind: 'supervise', invitedBy: null, controlRequested: true });
    await h.api.post(`/api/v1/help-requests/${t.id}/participants/${boss.id}/decline`).set(bearer(t.secret)).expect(200);
    expect((await participantsOf(boss, t.id))[1]).toMatchObject({ mode: 'view', state: 'connected' });
    await boss.post(`/api/v1/tickets/${t.id}/participants/me/request-control`).expect(200);
    await h.api.post(`/api/v1/help-requests/${t.id}/participants/${boss.id}/approve`).set(bearer(t.secret)).expect(200);
    expect((await participantsOf(boss, t.id))[1]).toMatchObject({ mode: 'control', state: 'connected' });
    const actions = (await boss.get(`/api/v1/tickets/${t.id}`).expect(200)).body.timeline.map((e: { action: string }) => e.action);
    expect(actions).toEqual(expect.arrayContaining(['participant.watch', 'participant.allowed', 'participant.control_requested', 'participant.control_refused', 'participant.control_granted']));
  });
});

describe('SUPERVISOR_WATCH=notify', () => {
  let h: Harness;
  let admin: Tech;
  beforeAll(async () => {
    h = await startHarness('sqlite', { SUPERVISOR_WATCH: 'notify' });
    admin = await h.login('admin', ADMIN_PASSWORD);
  });
  afterAll(async () => h?.close());

  it('an administrator watching is connected at once, and the user\'s view names them', async () => {
    const ana = await h.freshTechnician(admin, 'ana');
    const t = await approvedTicket(h, ana);
    const stream = await openSse(`${h.server.url}/api/v1/help-requests/${t.id}/events`, bearer(t.secret));
    await stream.next((e) => e === 'ticket');
    await admin.post(`/api/v1/tickets/${t.id}/watch`).expect(201);
    const told = await stream.next((e, d) => e === 'ticket' && d.participants.length === 1);
    expect(told.data.participants[0]).toMatchObject({ displayName: expect.any(String), kind: 'supervise', mode: 'view', state: 'connected', invitedBy: null });
    stream.close();
    expect((await admin.post(`/api/v1/tickets/${t.id}/viewer-token`).expect(201)).body.mode).toBe('view');
  });
});
