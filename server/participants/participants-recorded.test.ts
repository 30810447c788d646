// Each participant's session is recorded like any other and listed with its
// participant on the ticket (issue 26), with the embedded repeater and with a
// repeater process that hands its recordings over (the channel "42.p7" names
// the file: <month>/42.p7-<id>.hcrec).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CloseCode } from '../../protocol/close-codes.ts';
import { ADMIN_PASSWORD, startHarness, type Harness, type RepeaterMode, type Tech } from '../../test/server-harness.ts';
import { allowed, bearer, eventually, participantLegs, ticketInSession } from './participants.test-helpers.ts';

describe.each<RepeaterMode>(['embedded', 'process'])('recorded participants, repeater %s', (mode) => {
  let h: Harness;
  let admin: Tech;
  beforeAll(async () => {
    h = await startHarness('sqlite', { RECORD_SESSIONS: 'on', MAX_ACTIVE_TICKETS_PER_TECH: '10' }, { repeater: mode });
    admin = await h.login('admin', ADMIN_PASSWORD);
  });
  afterAll(async () => h?.close());

  it('records Luis\'s channel apart from Ana\'s, each row naming its participant and technician', async () => {
    const ana = await h.freshTechnician(admin, 'ana');
    const luis = await h.freshTechnician(admin, 'luis');
    const t = await ticketInSession(h, ana);
    const luisId = await allowed(h, t, ana, luis, 'view');
    const legs = await participantLegs(h, t, luis, luisId);
    const closes = Promise.all([t.main.viewer.closed, legs.viewer.closed]);
    await h.api.post(`/api/v1/help-requests/${t.id}/end`).set(bearer(t.secret)).expect(200);
    expect(await closes).toEqual([CloseCode.ENDED_BY_USER, CloseCode.ENDED_BY_USER]);
    type Recording = { participantId: number | null; technicianId: number | null; state: string };
    const recordings = await eventually(
      async () => (await admin.get(`/api/v1/tickets/${t.id}`).expect(200)).body.recordings as Recording[],
      (list) => list.length === 2 && list.every((r) => r.state === 'complete'),
      20_000,
    );
    expect(recordings.map((r) => [r.participantId, r.technicianId]).sort()).toEqual([[luisId, luis.id], [null, ana.id]].sort());
    const files = (await h.server.db('recordings').where({ ticket_id: t.id, participant_id: luisId }).select('file')) as { file: string }[];
    expect(files.map((f) => f.file)).toEqual([expect.stringMatching(new RegExp(`^\\d{4}-\\d{2}/${t.id}\\.p${luisId}-[0-9a-f-]{36}\\.hcrec$`))]);
  });
});
