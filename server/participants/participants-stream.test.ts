// The desktop stream resumed with Last-Event-ID (a blip, another server) tells the same participants and
// mainChannel as a fresh one (issue 26; found by review: it started from an empty list and mainChannel true,
// so after a hand-over the client dropped the new holder's leg and re-opened the closed main channel).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ADMIN_PASSWORD, openSse, startHarness, type Harness, type Tech } from '../../test/server-harness.ts';
import { allowed, approvedTicket } from './participants.test-helpers.ts';

describe('the desktop stream with participants (sqlite)', () => {
  let h: Harness;
  let admin: Tech;
  beforeAll(async () => {
    h = await startHarness('sqlite');
    admin = await h.login('admin', ADMIN_PASSWORD);
  });
  afterAll(async () => h?.close());

  it('a resumed desktop stream tells the same participants and mainChannel as a fresh one', async () => {
    const ana = await h.freshTechnician(admin, 'ana');
    const luis = await h.freshTechnician(admin, 'luis');
    const t = await approvedTicket(h, ana);
    await allowed(h, t, ana, luis, 'control');
    const url = `${h.server.url}/api/v1/help-requests/${t.id}/events`;
    const first = await openSse(url, { authorization: `Bearer ${t.secret}` });
    const snap = await first.next((e) => e === 'ticket');
    expect(snap.data.participants.map((p: { technicianId: number }) => p.technicianId)).toEqual([luis.id]);
    first.close();
    const resumed = await openSse(url, { authorization: `Bearer ${t.secret}`, 'last-event-id': String(snap.id) });
    const fresh = await openSse(url, { authorization: `Bearer ${t.secret}` });
    await fresh.next((e) => e === 'ticket');
    await ana.post(`/api/v1/tickets/${t.id}/transfer`, { technicianId: luis.id, note: 'over to you' }).expect(200);
    const a = await resumed.next((e) => e === 'ticket');
    const b = await fresh.next((e) => e === 'ticket');
    const shape = (d: { technician?: { id: number } | null; mainChannel: boolean; participants: { technicianId: number; state: string }[] }) => ({ holder: d.technician?.id ?? null, mainChannel: d.mainChannel, people: d.participants.map((p) => `${p.technicianId}:${p.state}`) });
    resumed.close();
    fresh.close();
    expect(shape(a.data)).toEqual(shape(b.data));
    expect(a.data.mainChannel).toBe(false);
  });
});
