// One change to a ticket's participants, written whole in the transaction
// that made it: the audit event (the timeline's words), the channels to close
// (session.channel_end: every repeater closes that channel's legs), the
// ticket's own live event when its holder changed, and the participant event
// for the staff stream and the user's list — live events last.
import type { Knex } from 'knex';
import type { CloseCodeId } from '../../protocol/close-codes.ts';
import type { BusEventName, BusEvents, TicketView } from '../../protocol/events.ts';
import type { ParticipantEvent, ParticipantView } from '../../protocol/participants.ts';
import type { ActorContext } from '../audit/actor.ts';
import { insertAuditEvent } from '../audit/store.ts';
import { AppError } from '../errors.ts';
import { ticketStore } from '../tickets/store.ts';
import { desktopList, isOpen, mainChannelOpen, participantStore, toParticipantView, type ParticipantRow } from './store.ts';

/** Records a live event in the change's transaction (bus.record), or queues it to be recorded last (repeater events). */
export type Emit = <K extends BusEventName>(name: K, event: BusEvents[K]) => Promise<void> | void;

export interface ParticipantChange {
  participantId: number;
  action: ParticipantEvent['action'];
  /** The audit action, `participant.<what>`. */
  audit: string;
  detail?: Record<string, unknown>;
  /** Channels whose legs close now, and why. */
  close?: { channel: string; reason: CloseCodeId }[];
  /** Set when the holder changed: who held it before. */
  previousHolderId?: number | null;
}

/** The ticket's holder as a participant view, when they have no row of their own (the main channel). */
export function holderView(ticket: TicketView): ParticipantView | null {
  if (!ticket.technician) return null;
  return {
    id: null,
    technicianId: ticket.technician.id,
    displayName: ticket.technician.displayName,
    mode: ticket.viewOnly ? 'view' : 'control',
    state: 'connected',
    kind: 'holder',
    holder: true,
    invitedBy: null,
    note: null,
    controlRequested: false,
    createdAt: ticket.acceptedAt ?? ticket.createdAt,
    connectedAt: ticket.startedAt,
    endedAt: null,
  };
}

/** Everyone on a ticket, the holder first. */
export function participantViews(ticket: TicketView, rows: readonly ParticipantRow[]): ParticipantView[] {
  const holderId = ticket.technician?.id ?? null;
  const views = rows.map((r) => toParticipantView(r, holderId));
  const own = views.findIndex((v) => v.holder);
  if (own >= 0) return [views[own]!, ...views.filter((_, i) => i !== own)];
  const holder = holderView(ticket);
  return holder ? [holder, ...views] : views;
}

/** Technicians who hear of a change: the holder (and the one before), every participant with an open row, the row's own technician. */
function concerned(ticket: TicketView, rows: readonly ParticipantRow[], row: ParticipantRow, previousHolderId: number | null | undefined): number[] {
  const ids = new Set<number>([row.technicianId]);
  if (ticket.technician) ids.add(ticket.technician.id);
  if (previousHolderId) ids.add(previousHolderId);
  for (const r of rows) if (isOpen(r.state)) ids.add(r.technicianId);
  return [...ids].sort((a, b) => a - b);
}

/** Writes what a change leaves besides its row: audit, channel ends, live events (see the file's head). */
export async function recordChange(trx: Knex.Transaction, now: number, context: ActorContext, emit: Emit, change: ParticipantChange): Promise<ParticipantView> {
  const row = await participantStore.byId(trx, change.participantId);
  if (!row) throw new AppError('PARTICIPANT_NOT_FOUND', `No participant ${change.participantId}`);
  const ticket = await ticketStore.view(trx, row.ticketId);
  if (!ticket) throw new AppError('TICKET_NOT_FOUND', `No ticket with id ${row.ticketId}`);
  const rows = await participantStore.forTicket(trx, row.ticketId);
  const holderId = ticket.technician?.id ?? null;
  await insertAuditEvent(trx, now, context, change.audit, { ticketId: row.ticketId, technicianId: row.technicianId }, {
    mode: row.mode,
    kind: row.kind,
    participantId: row.id,
    ...(row.invitedBy ? { invitedBy: row.invitedBy.displayName } : {}),
    ...(row.note !== null && (change.action === 'invited' || change.action === 'transferred') ? { note: row.note } : {}),
    ...change.detail,
  });
  for (const c of change.close ?? []) await emit('session.channel_end', { ticketId: row.ticketId, channel: c.channel, reason: c.reason });
  if (change.previousHolderId !== undefined) {
    await emit('ticket.changed', { ticket, action: 'handed_over', previousStatus: ticket.status, previousTechnicianId: change.previousHolderId });
  }
  const participant = toParticipantView(row, holderId);
  await emit('ticket.participant', {
    ticketId: row.ticketId,
    action: change.action,
    participant,
    technicianIds: concerned(ticket, rows, row, change.previousHolderId),
    desktop: { participants: desktopList(rows), mainChannel: mainChannelOpen(rows, holderId) },
  });
  return participant;
}
