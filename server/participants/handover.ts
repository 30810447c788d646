// A change of holder inside a ticket's session: a hand-over the user allowed,
// or the promotion of the longest-connected participant with control when the
// holder's viewer dropped. The ticket's status does not move; the new holder
// keeps the channel they are on, and the previous holder's channel closes
// (HANDED_OVER) — their own participant channel, or the main one, which is
// then not re-armed (`mainChannel: false` in the user's view).
import type { Knex } from 'knex';
import { channelKey } from '../../protocol/participants.ts';
import type { CloseCodeId } from '../../protocol/close-codes.ts';
import { participantStore, type ParticipantRow } from './store.ts';
import { applyTicketChange, factsOf, type TicketFacts } from '../stats/rollups.ts';

export async function makeHolder(
  trx: Knex.Transaction,
  now: number,
  ticket: { id: number; technician_id: number | null },
  next: ParticipantRow,
  note: string | null,
): Promise<{ previousHolderId: number | null; close: { channel: string; reason: CloseCodeId }[] }> {
  const previousHolderId = ticket.technician_id === null ? null : Number(ticket.technician_id);
  const facts = (await trx('tickets').where({ id: ticket.id }).first('created_at', 'technician_id', 'accepted_at', 'resolved_at')) as TicketFacts;
  await trx('tickets').where({ id: ticket.id }).update({ technician_id: next.technicianId, updated_at: now, ...(note === null ? {} : { handover_note: note }) });
  // The statistics' rollups count the ticket under its new holder, in this transaction (server/stats/rollups.ts).
  await applyTicketChange(trx, factsOf(facts), factsOf({ ...facts, technician_id: next.technicianId }));
  const close: { channel: string; reason: CloseCodeId }[] = [];
  if (previousHolderId !== null && previousHolderId !== next.technicianId) {
    const own = await participantStore.openFor(trx, ticket.id, previousHolderId);
    if (own) {
      await participantStore.move(trx, own.id, ['invited', 'waiting_user', 'connected'], 'left', now);
      close.push({ channel: channelKey(ticket.id, own.id), reason: 'HANDED_OVER' });
    } else {
      close.push({ channel: channelKey(ticket.id, null), reason: 'HANDED_OVER' });
    }
  }
  return { previousHolderId, close };
}
