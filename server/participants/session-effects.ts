// What a remote session's start and end mean for participants (issue 26),
// applied with the repeater's event (server/remote-sessions/event-effects.ts,
// in its transaction). A participant channel's session never moves the
// ticket: its row alone changes (the viewer left → left). When the holder's
// main-channel viewer leaves or drops while a participant with control is
// connected, the longest connected of them becomes holder at once, the ticket
// stays in session, and the main channel closes for good.
import type { Knex } from 'knex';
import { systemActor } from '../audit/actor.ts';
import { ticketStore } from '../tickets/store.ts';
import { recordChange, type Emit } from './changes.ts';
import { makeHolder } from './handover.ts';
import { participantStore } from './store.ts';

const system = systemActor('repeater');

/** The viewer's side closing on its own: the person left (or their browser dropped). */
const viewerGone: readonly string[] = ['VIEWER_LEFT', 'VIEWER_LOST'];

/** A participant's channel paired: they joined (once per row: later pairings are resumptions). */
export async function participantPaired(trx: Knex.Transaction, now: number, emit: Emit, participantId: number): Promise<void> {
  const row = await participantStore.byId(trx, participantId);
  if (!row || row.state !== 'connected') return;
  const before = (await trx('remote_sessions').where({ participant_id: participantId }).count({ n: '*' }).first()) as { n: number | string } | undefined;
  if (Number(before?.n ?? 0) > 1) return;
  await recordChange(trx, now, system, emit, { participantId, action: 'joined', audit: 'participant.joined' });
}

/** A participant's channel's session ended: the viewer leaving makes the row `left`; anything else leaves it as it is (the legs come back). */
export async function participantSessionEnded(trx: Knex.Transaction, now: number, emit: Emit, participantId: number, reason: string): Promise<void> {
  if (!viewerGone.includes(reason)) return;
  const row = await participantStore.byId(trx, participantId);
  if (!row || row.state !== 'connected') return;
  const ticket = await ticketStore.rowForUpdate(trx, row.ticketId);
  // The holder's own channel: promoted or handed over earlier, they are the holder — the same rule as the main channel.
  if (ticket && ticket.technician_id !== null && Number(ticket.technician_id) === row.technicianId) {
    await holderLeft(trx, now, emit, row.ticketId, reason);
    return;
  }
  if (!(await participantStore.move(trx, participantId, ['connected'], 'left', now))) return;
  await recordChange(trx, now, system, emit, { participantId, action: 'left', audit: 'participant.left', detail: { reason } });
}

/**
 * The holder's viewer left or dropped: the longest-connected participant with
 * control becomes holder (none: nothing changes, as before issue 26). Says
 * whether someone was promoted.
 */
export async function holderLeft(trx: Knex.Transaction, now: number, emit: Emit, ticketId: number, reason: string): Promise<boolean> {
  if (!viewerGone.includes(reason)) return false;
  const ticket = await ticketStore.rowForUpdate(trx, ticketId);
  if (!ticket || ticket.status !== 'in_session' || ticket.technician_id === null) return false;
  const holderId = Number(ticket.technician_id);
  const rows = await participantStore.forTicket(trx, ticketId);
  const candidates = rows
    .filter((r) => r.state === 'connected' && r.mode === 'control' && r.technicianId !== holderId && r.connectedAt !== null)
    .sort((a, b) => a.connectedAt! - b.connectedAt! || a.id - b.id);
  // Those whose own session is live come first: a participant allowed but not (or no longer) on the screen is promoted only when nobody is.
  const live = new Set(((await trx('remote_sessions').whereIn('participant_id', candidates.map((r) => r.id)).whereNull('ended_at').select('participant_id')) as { participant_id: number }[]).map((r) => Number(r.participant_id)));
  const next = candidates.find((r) => live.has(r.id)) ?? candidates[0];
  if (!next) return false;
  const moved = await makeHolder(trx, now, ticket, next, null);
  await recordChange(trx, now, system, emit, { participantId: next.id, action: 'promoted', audit: 'participant.promoted', detail: { reason, previousHolderId: holderId }, ...moved });
  return true;
}
