// Every move of a ticket's state machine: one transaction that locks the row,
// rejects illegal moves with 409, writes the audit event and the live event
// (the outbox, server/events/event-log.ts) with the change; streams on every
// server see it once it commits.
import type { Knex } from 'knex';
import { AppError } from '../errors.ts';
import type { Clock } from '../clock.ts';
import type { EventBus } from '../events/event-bus.ts';
import type { TicketView } from '../../protocol/events.ts';
import type { ActorContext } from '../audit/actor.ts';
import { insertAuditEvent } from '../audit/store.ts';
import { activeStatuses, nextStatus, ticketMoves, type TicketAction } from './state-machine.ts';
import { ticketStore, type TicketRow } from './store.ts';
import { applyTicketChange, factsOf } from '../stats/rollups.ts';
import { participantStore } from '../participants/store.ts';
import { connectableStatuses } from '../../protocol/tickets.ts';
import { openParticipantStates } from '../../protocol/participants.ts';

export interface TransitionOptions {
  /** Extra checks on the locked row before the move (who may do it), inside the transaction. */
  check?: (row: TicketRow, trx: Knex.Transaction) => void | Promise<void>;
  /** More writes in the same transaction, after the move. */
  also?: (row: TicketRow, trx: Knex.Transaction, now: number) => Promise<void>;
  /** Extra columns, fixed or derived from the locked row. */
  patch?: Partial<TicketRow> | ((row: TicketRow) => Partial<TicketRow>);
  detail?: Record<string, unknown> | ((row: TicketRow) => Record<string, unknown>);
}

export type Transition = (id: number, action: TicketAction, context: ActorContext, options?: TransitionOptions) => Promise<TicketView>;

export function createTransition({ db, clock, bus, maxActiveTicketsPerTech }: { db: Knex; clock: Clock; bus: EventBus; maxActiveTicketsPerTech: number }): Transition {
  return (id, action, context, options = {}) =>
    // InnoDB may pick this transaction as a deadlock victim under concurrent moves: it is safe to run again.
    retryOnDeadlock(() => db.transaction(async (trx) => {
      const actor = context.actor;
      // Accepts by one technician are serialised on the technician's row, so
      // the active-ticket limit holds under concurrency; rows are always
      // locked technician first, then ticket (then the outbox's head, last).
      if (action === 'accept' && actor.type === 'technician') {
        await trx('technicians').where({ id: actor.id }).forUpdate().first();
      }
      const row = await ticketStore.rowForUpdate(trx, id);
      if (!row) throw new AppError('TICKET_NOT_FOUND', `No ticket with id ${id}`);
      await options.check?.(row, trx);
      const to = nextStatus(row.status, action);
      if (!to) {
        if (action === 'accept' && row.technician_id !== null) {
          throw new AppError('TICKET_TAKEN', `Ticket ${id} was already accepted by another technician`);
        }
        throw new AppError('ILLEGAL_TRANSITION', `Cannot ${action.replace('_', ' ')} ticket ${id}: it is ${row.status.replace('_', ' ')} (allowed from ${ticketMoves[action].from.join(', ')})`, {
          status: row.status,
          action,
        });
      }
      if (action === 'accept' && actor.type === 'technician') {
        const active = await ticketStore.countActiveFor(trx, actor.id, activeStatuses);
        if (active >= maxActiveTicketsPerTech) {
          throw new AppError('TOO_MANY_ACTIVE_TICKETS', `You already hold ${active} active ticket(s); the limit is ${maxActiveTicketsPerTech}. Finish or release one first.`);
        }
      }
      const now = clock.now();
      const extra = typeof options.patch === 'function' ? options.patch(row) : options.patch;
      const detail = typeof options.detail === 'function' ? options.detail(row) : options.detail;
      const patch: Partial<TicketRow> = { status: to, updated_at: now, ...stampsFor(action, now, row, context), ...extra };
      const moved = await ticketStore.moveStatus(trx, id, row.status, patch);
      if (moved !== 1) throw new AppError('ILLEGAL_TRANSITION', `Ticket ${id} changed while you acted; reload and try again`);
      const technicianId = patch.technician_id !== undefined ? patch.technician_id : row.technician_id;
      // The statistics' rollups move with the ticket, in this transaction.
      await applyTicketChange(trx, factsOf(row), factsOf({ ...row, ...patch }));
      await options.also?.(row, trx, now);
      // Out of its session (ended, back to the queue…): nobody takes part any more (issue 26).
      if (!connectableStatuses.includes(to)) {
        // Each in the timeline: who was connected left with the session, an invitation still open was withdrawn.
        const open = (await participantStore.forTicket(trx, id)).filter((p) => openParticipantStates.includes(p.state));
        await participantStore.closeOpen(trx, id, now);
        for (const p of open) {
          const left = p.state === 'connected';
          await insertAuditEvent(trx, now, context, left ? 'participant.left' : 'participant.cancelled', { ticketId: id, technicianId: p.technicianId }, { participantId: p.id, from: p.state, reason: `ticket.${action}` });
        }
      }
      await insertAuditEvent(trx, now, context, `ticket.${action}`, { ticketId: id, technicianId: technicianId ?? row.technician_id }, { from: row.status, to, ...detail });
      const ticket = await ticketStore.view(trx, id);
      if (!ticket) throw new AppError('TICKET_NOT_FOUND', `No ticket with id ${id}`);
      const previousTechnicianId = row.technician_id === null ? null : Number(row.technician_id);
      await bus.record(trx, 'ticket.changed', { ticket, action, previousStatus: row.status, previousTechnicianId });
      return ticket;
    }));
}

function stampsFor(action: TicketAction, now: number, row: TicketRow, context: ActorContext): Partial<TicketRow> {
  switch (action) {
    case 'accept':
      return { accepted_at: now, technician_id: context.actor.type === 'technician' ? context.actor.id : null };
    case 'release':
    case 'decline':
    case 'requeue':
      return { technician_id: null, accepted_at: null, approved_at: null, view_only: false, shared_screen: null };
    case 'approve':
      return { approved_at: now };
    case 'start_session':
      return row.started_at === null ? { started_at: now } : {};
    case 'end':
    case 'cancel':
    case 'expire':
      return { ended_at: now };
    case 'resolve':
      return { resolved_at: now };
  }
}

/** Runs a transaction again (up to 3 times) when MariaDB/MySQL chose it as a deadlock victim. */
async function retryOnDeadlock<T>(work: () => Promise<T>): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await work();
    } catch (err) {
      const code = (err as { code?: string }).code;
      if (attempt >= 3 || (code !== 'ER_LOCK_DEADLOCK' && code !== 'ER_LOCK_WAIT_TIMEOUT')) throw err;
      await new Promise((r) => setTimeout(r, 20 * attempt));
    }
  }
}
