// The user's say over each person (issue 26), through the desktop API: allow
// or refuse a participant waiting for them (an invite, a hand-over — which
// then makes them the holder —, an administrator's watch), grant or refuse a
// watcher's request for control, stop one person or every participant. A
// stop closes only that person's channel (STOPPED_BY_USER); the holder's
// session goes on. Also the user's view of the list, and the desktop token of
// a participant's channel.
import type { ParticipantView } from '../../protocol/participants.ts';
import type { HelpRequestView } from '../../protocol/desktop-api.ts';
import type { TicketView } from '../../protocol/events.ts';
import { channelKey } from '../../protocol/participants.ts';
import type { ActorContext } from '../audit/actor.ts';
import { AppError } from '../errors.ts';
import type { Knex } from 'knex';
import type { MintedToken, PairingTokenService } from '../tokens/service.ts';
import { recordChange, type Emit } from './changes.ts';
import { makeHolder } from './handover.ts';
import type { ParticipantService } from './service.ts';
import { desktopList, isOpen, mainChannelOpen, participantStore, type ParticipantRow } from './store.ts';
import type { TicketRow } from '../tickets/store.ts';

export type ParticipantConsent = ReturnType<typeof createParticipantConsent>;

export function createParticipantConsent({ db, participants, tokens }: { db: Knex; participants: ParticipantService; tokens: PairingTokenService }) {
  /** The technician's latest open row on the ticket, or PARTICIPANT_NOT_FOUND in words. */
  async function openRow(trx: Knex, ticketId: number, technicianId: number): Promise<ParticipantRow> {
    const row = await participantStore.openFor(trx, ticketId, technicianId);
    if (!row) throw new AppError('PARTICIPANT_NOT_FOUND', `Technician ${technicianId} is not waiting for you, nor taking part, on help request ${ticketId}`);
    return row;
  }

  const notHolder = (ticket: TicketRow, row: ParticipantRow): void => {
    if (ticket.technician_id !== null && Number(ticket.technician_id) === row.technicianId) {
      throw new AppError('PARTICIPANT_STATE', `${row.displayName} holds help request ${ticket.id}: end the session to stop them`, { name: row.displayName, state: row.state });
    }
  };

  /** Stops one row (connected → stopped, its channel closed; waiting → refused). */
  async function stopRow(trx: Knex.Transaction, now: number, context: ActorContext, emit: Emit, row: ParticipantRow): Promise<ParticipantView> {
    if (row.state === 'connected') {
      await participantStore.move(trx, row.id, ['connected'], 'stopped', now);
      return recordChange(trx, now, context, emit, { participantId: row.id, action: 'stopped', audit: 'participant.stopped', close: [{ channel: channelKey(row.ticketId, row.id), reason: 'STOPPED_BY_USER' }] });
    }
    await participantStore.move(trx, row.id, ['invited', 'waiting_user'], 'refused', now);
    return recordChange(trx, now, context, emit, { participantId: row.id, action: 'refused', audit: 'participant.refused' });
  }

  return {
    /** The user allows a participant waiting for them, or grants a watcher's request for control. A hand-over allowed makes them the holder. */
    approve: (ticketId: number, technicianId: number, context: ActorContext): Promise<ParticipantView> =>
      participants.onTicket(ticketId, async (ticket, trx, now, emit) => {
        const row = await openRow(trx, ticketId, technicianId);
        if (row.state === 'connected' && row.controlRequested) {
          await participantStore.update(trx, row.id, { mode: 'control', control_requested: false, updated_at: now });
          return recordChange(trx, now, context, emit, { participantId: row.id, action: 'control_granted', audit: 'participant.control_granted' });
        }
        if (row.state !== 'waiting_user') {
          throw new AppError('PARTICIPANT_STATE', `${row.displayName} is ${row.state.replace('_', ' ')} on help request ${ticketId}: there is nothing to allow`, { name: row.displayName, state: row.state });
        }
        await participantStore.move(trx, row.id, ['waiting_user'], 'connected', now);
        if (row.kind === 'transfer') {
          const moved = await makeHolder(trx, now, ticket, row, row.note);
          return recordChange(trx, now, context, emit, { participantId: row.id, action: 'transferred', audit: 'participant.transferred', ...moved });
        }
        return recordChange(trx, now, context, emit, { participantId: row.id, action: 'allowed', audit: 'participant.allowed' });
      }),

    /** The user refuses a participant waiting for them (nothing changes for the others), or a watcher's request for control. */
    decline: (ticketId: number, technicianId: number, context: ActorContext): Promise<ParticipantView> =>
      participants.onTicket(ticketId, async (_ticket, trx, now, emit) => {
        const row = await openRow(trx, ticketId, technicianId);
        if (row.state === 'connected' && row.controlRequested) {
          await participantStore.update(trx, row.id, { control_requested: false, updated_at: now });
          return recordChange(trx, now, context, emit, { participantId: row.id, action: 'refused', audit: 'participant.control_refused' });
        }
        if (row.state !== 'waiting_user') {
          throw new AppError('PARTICIPANT_STATE', `${row.displayName} is ${row.state.replace('_', ' ')} on help request ${ticketId}: there is nothing to refuse`, { name: row.displayName, state: row.state });
        }
        await participantStore.move(trx, row.id, ['waiting_user'], 'refused', now);
        return recordChange(trx, now, context, emit, { participantId: row.id, action: 'refused', audit: 'participant.refused' });
      }),

    /** The user stops one participant: only that person's channel closes. */
    stop: (ticketId: number, technicianId: number, context: ActorContext): Promise<ParticipantView> =>
      participants.onTicket(ticketId, async (ticket, trx, now, emit) => {
        const row = await openRow(trx, ticketId, technicianId);
        notHolder(ticket, row);
        return stopRow(trx, now, context, emit, row);
      }),

    /** The user stops every participant; the holder stays (ending the whole session is POST …/end). */
    stopAll: (ticketId: number, context: ActorContext): Promise<ParticipantView[]> =>
      participants.onTicket(ticketId, async (ticket, trx, now, emit) => {
        const holderId = ticket.technician_id === null ? null : Number(ticket.technician_id);
        const stopped: ParticipantView[] = [];
        for (const row of await participantStore.forTicket(trx, ticketId)) {
          if (isOpen(row.state) && row.technicianId !== holderId) stopped.push(await stopRow(trx, now, context, emit, row));
        }
        return stopped;
      }),

    /** A desktop token for a connected participant's channel ("42.p7"). */
    async desktopToken(ticket: TicketView, technicianId: number): Promise<{ minted: MintedToken; channel: string }> {
      const row = await openRow(db, ticket.id, technicianId);
      if (row.state !== 'connected') throw new AppError('PARTICIPANT_STATE', `You have not allowed ${row.displayName} yet on help request ${ticket.id}`, { name: row.displayName, state: row.state });
      return { minted: await tokens.mintFor(ticket, 'desktop', null, row.id), channel: channelKey(ticket.id, row.id) };
    },
  };
}

/** The desktop client's view of its ticket with everyone on it. */
export async function helpRequestViewOf(db: Knex, ticket: TicketView, base: (t: TicketView) => Omit<HelpRequestView, 'participants' | 'mainChannel'>): Promise<HelpRequestView> {
  const rows = await participantStore.forTicket(db, ticket.id);
  return { ...base(ticket), participants: desktopList(rows), mainChannel: mainChannelOpen(rows, ticket.technician?.id ?? null) };
}
