// Who may read a ticket through a participant row, and who may remove a participant (issue 26; found by
// a hostile review: each failed before the fix).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ADMIN_PASSWORD, startHarness, type Harness, type Tech } from '../../test/server-harness.ts';
import { allowed, approvedTicket, bearer, participantsOf } from './participants.test-helpers.ts';

describe('participants: reading and removing (sqlite)', () => {
  let h: Harness;
  let admin: Tech;
  beforeAll(async () => {
    h = await startHarness('sqlite');
    admin = await h.login('admin', ADMIN_PASSWORD);
  });
  afterAll(async () => h?.close());

  it('a technician the user refused cannot read the ticket, its conversation or its file list', async () => {
    const ana = await h.freshTechnician(admin, 'ana1');
    const eve = await h.freshTechnician(admin, 'eve1');
    const t = await approvedTicket(h, ana);
    await h.api.post(`/api/v1/help-requests/${t.id}/messages`).set(bearer(t.secret)).send({ text: 'my bank PIN is 1234' }).expect(201);
    const inv = await ana.post(`/api/v1/tickets/${t.id}/invitations`, { technicianId: eve.id, mode: 'view' }).expect(201);
    await eve.post(`/api/v1/invitations/${inv.body.id}/accept`).expect(200);
    await h.api.post(`/api/v1/help-requests/${t.id}/participants/${eve.id}/decline`).set(bearer(t.secret)).expect(200);
    const detail = await eve.get(`/api/v1/tickets/${t.id}`);
    const chat = await eve.get(`/api/v1/tickets/${t.id}/messages`);
    const files = await eve.get(`/api/v1/tickets/${t.id}/files`);
    expect([detail.status, chat.status, files.status]).toEqual([403, 403, 403]);
  });

  it('an invitee the user has not allowed yet cannot read the conversation', async () => {
    const ana = await h.freshTechnician(admin, 'ana2');
    const eve = await h.freshTechnician(admin, 'eve2');
    const t = await approvedTicket(h, ana);
    await h.api.post(`/api/v1/help-requests/${t.id}/messages`).set(bearer(t.secret)).send({ text: 'private words' }).expect(201);
    await ana.post(`/api/v1/tickets/${t.id}/invitations`, { technicianId: eve.id, mode: 'view' }).expect(201);
    const chat = await eve.get(`/api/v1/tickets/${t.id}/messages`);
    expect(chat.status).toBe(403);
    // Nor on the viewer's page, which tells her where she stands (found by review: it listed the conversation and the files).
    await h.api.post(`/api/v1/help-requests/${t.id}/files?name=${encodeURIComponent('payslip.pdf')}`).set(bearer(t.secret)).set('content-type', 'application/octet-stream').send(Buffer.from('salary')).expect(201);
    const page = await eve.agent.get(`/tech/${t.id}`).expect(200);
    expect(page.text).not.toContain('private words');
    expect(page.text).not.toContain('payslip.pdf');
  });

  it('after Ana hands over to Bob, Ana (no longer in the session) cannot remove Luis whom she invited', async () => {
    const ana = await h.freshTechnician(admin, 'ana3');
    const bob = await h.freshTechnician(admin, 'bob3');
    const luis = await h.freshTechnician(admin, 'luis3');
    const t = await approvedTicket(h, ana);
    const luisId = await allowed(h, t, ana, luis, 'view');
    const tr = await ana.post(`/api/v1/tickets/${t.id}/transfer`, { technicianId: bob.id, note: 'yours' }).expect(200);
    expect(tr.body.participant.state).toBe('waiting_user');
    await h.api.post(`/api/v1/help-requests/${t.id}/participants/${bob.id}/approve`).set(bearer(t.secret)).expect(200);
    const list = await participantsOf(bob, t.id);
    expect(list.find((p) => p.holder)?.technicianId).toBe(bob.id);
    const kick = await ana.post(`/api/v1/invitations/${luisId}/cancel`);
    expect(kick.status).toBe(403);
  });

  it('the session ending with people still in it leaves each in the timeline: who was connected left, an invitation still open was withdrawn', async () => {
    const ana = await h.freshTechnician(admin, 'ana4');
    const luis = await h.freshTechnician(admin, 'luis4');
    const marta = await h.freshTechnician(admin, 'marta4');
    const t = await approvedTicket(h, ana);
    await allowed(h, t, ana, luis, 'view');
    await ana.post(`/api/v1/tickets/${t.id}/invitations`, { technicianId: marta.id, mode: 'view' }).expect(201);
    await h.api.post(`/api/v1/help-requests/${t.id}/end`).set(bearer(t.secret)).expect(200);
    const { body } = await ana.get(`/api/v1/tickets/${t.id}`).expect(200);
    const timeline = body.timeline as { action: string; technicianId: number | null }[];
    expect(timeline.filter((e) => e.action === 'participant.left').map((e) => e.technicianId)).toEqual([luis.id]);
    expect(timeline.filter((e) => e.action === 'participant.cancelled').map((e) => e.technicianId)).toEqual([marta.id]);
  });
});
