// Helpers of the participants' tests (issue 26): a ticket the user allowed,
// one in session with real legs at the embedded repeater, and a participant
// the user allowed with their own pair of legs on their channel.
import { expect } from 'vitest';
import { openLeg, type TestLeg } from '../../test/http-clients.ts';
import type { Harness, Tech } from '../../test/server-harness.ts';

export const bearer = (secret: string) => ({ Authorization: `Bearer ${secret}` });

export interface Ticket {
  id: number;
  secret: string;
}

/** Polls until `read` gives something `ok` accepts (the repeater's events are applied in the background). */
export async function eventually<T>(read: () => Promise<T>, ok: (v: T) => boolean, timeoutMs = 8_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await read();
    if (ok(v)) return v;
    if (Date.now() > deadline) throw new Error(`never reached the expected state; last: ${JSON.stringify(v)}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** A ticket `tech` holds and the user allowed (no legs yet). */
export async function approvedTicket(h: Harness, tech: Tech): Promise<Ticket> {
  const t = await h.helpRequest();
  await tech.post(`/api/v1/tickets/${t.id}/accept`).expect(200);
  await h.api.post(`/api/v1/help-requests/${t.id}/approve`).set(bearer(t.secret)).send({ viewOnly: false, recordingNoticeShown: true }).expect(200);
  return t;
}

export interface Pair {
  desktop: TestLeg;
  viewer: TestLeg;
}

/** Opens both legs of one channel and waits until bytes go from the desktop to the viewer. */
async function pairLegs(h: Harness, desktopUrl: string, viewerUrl: string, greeting: string): Promise<Pair> {
  const desktop = await openLeg(desktopUrl);
  desktop.ws.send(Buffer.from(greeting));
  const viewer = await openLeg(viewerUrl, h.server.url);
  await eventually(() => Promise.resolve(viewer.inbox.map(String).join('')), (s) => s.includes(greeting));
  return { desktop, viewer };
}

/** A ticket in session: `tech` holds it, the main channel's legs paired. */
export async function ticketInSession(h: Harness, tech: Tech): Promise<Ticket & { main: Pair }> {
  const t = await approvedTicket(h, tech);
  const d = await h.api.post(`/api/v1/help-requests/${t.id}/desktop-token`).set(bearer(t.secret)).expect(201);
  const v = await tech.post(`/api/v1/tickets/${t.id}/viewer-token`).expect(201);
  expect(v.body.channel).toBe(String(t.id));
  const main = await pairLegs(h, d.body.url as string, v.body.url as string, `main ${t.id}`);
  await eventually(() => ticketOf(h, tech, t.id), (ticket) => ticket.status === 'in_session');
  return { ...t, main };
}

export async function ticketOf(h: Harness, tech: Tech, id: number): Promise<{ status: string; technician: { id: number } | null }> {
  return (await tech.get(`/api/v1/tickets/${id}`).expect(200)).body.ticket;
}

/** `holder` invites `who`, who accepts, the user allows: returns the participant's id. */
export async function allowed(h: Harness, t: Ticket, holder: Tech, who: Tech, mode: 'view' | 'control'): Promise<number> {
  const invited = await holder.post(`/api/v1/tickets/${t.id}/invitations`, { technicianId: who.id, mode }).expect(201);
  await who.post(`/api/v1/invitations/${invited.body.id}/accept`).expect(200);
  await h.api.post(`/api/v1/help-requests/${t.id}/participants/${who.id}/approve`).set(bearer(t.secret)).expect(200);
  return invited.body.id as number;
}

/** A connected participant's own legs, paired on their channel. */
export async function participantLegs(h: Harness, t: Ticket, who: Tech, participantId: number): Promise<Pair> {
  const d = await h.api.post(`/api/v1/help-requests/${t.id}/participants/${who.id}/desktop-token`).set(bearer(t.secret)).expect(201);
  expect(d.body.channel).toBe(`${t.id}.p${participantId}`);
  const v = await who.post(`/api/v1/tickets/${t.id}/viewer-token`).expect(201);
  expect(v.body.channel).toBe(`${t.id}.p${participantId}`);
  return pairLegs(h, d.body.url as string, v.body.url as string, `participant ${participantId}`);
}

/** Whether bytes still go through a pair (its session is live). */
export async function stillRelays(pair: Pair, text: string): Promise<boolean> {
  pair.desktop.ws.send(Buffer.from(text));
  await eventually(() => Promise.resolve(pair.viewer.inbox.map(String).join('')), (s) => s.includes(text));
  return true;
}

export async function participantsOf(tech: Tech, id: number): Promise<{ technicianId: number; state: string; mode: string; holder: boolean; kind: string; id: number | null }[]> {
  return (await tech.get(`/api/v1/tickets/${id}/participants`).expect(200)).body.participants;
}
