// Participants as the technicians move them (issue 26): the holder invites a
// colleague or hands the ticket over, the invitee accepts or declines, a
// participant leaves or asks for control, an administrator watches. Every
// change runs in one transaction with the ticket's row locked (two inviters at
// once are serialised: the limit and the one-open-row rule hold), and leaves
// its audit and live events with it (changes.ts). The user's consent is
// consent.ts.
import type { Knex } from 'knex';
import type { ParticipantMode, ParticipantView } from '../../protocol/participants.ts';
import type { TicketView } from '../../protocol/events.ts';
import { connectableStatuses } from '../../protocol/tickets.ts';
import type { Clock } from '../clock.ts';
import type { EventBus } from '../events/event-bus.ts';
import type { ActorContext } from '../audit/actor.ts';
import { AppError } from '../errors.ts';
import { retrying } from '../remote-sessions/db-retry.ts';
import { ticketStore, type TicketRow } from '../tickets/store.ts';
import type { TicketService } from '../tickets/service.ts';
import { channelKey, openParticipantStates } from '../../protocol/participants.ts';
import { participantViews, recordChange, type Emit, type ParticipantChange } from './changes.ts';
import { makeHolder } from './handover.ts';
import { isOpen, mayReadTicket, participantStore, type ParticipantRow } from './store.ts';

export interface ParticipantServiceDeps {
  db: Knex;
  clock: Clock;
  bus: EventBus;
  tickets: TicketService;
  /** MAX_PARTICIPANTS: technicians in open states on one ticket, the holder counted. */
  maxParticipants: number;
  /** SUPERVISOR_WATCH: an administrator's watch asks the user first, or only tells them. */
  supervisorWatch: 'ask' | 'notify';
}

export interface Technician {
  id: number;
  role: 'admin' | 'technician';
}

export type ParticipantService = ReturnType<typeof createParticipantService>;

type Work<T> = (ticket: TicketRow, trx: Knex.Transaction, now: number, emit: Emit) => Promise<T>;

export function createParticipantService({ db, clock, bus, tickets, maxParticipants, supervisorWatch }: ParticipantServiceDeps) {
  /** Runs `work` with the ticket's row locked; its live events go to the outbox in the same transaction. */
  const onTicket = <T>(ticketId: number, work: Work<T>): Promise<T> =>
    retrying(() =>
      db.transaction(async (trx) => {
        const ticket = await ticketStore.rowForUpdate(trx, ticketId);
        if (!ticket) throw new AppError('TICKET_NOT_FOUND', `No ticket with id ${ticketId}`);
        return work(ticket, trx, clock.now(), (name, event) => bus.record(trx, name, event));
      }),
    );

  const change = (trx: Knex.Transaction, now: number, context: ActorContext, emit: Emit, c: ParticipantChange) => recordChange(trx, now, context, emit, c);

  function mustBeLive(ticket: TicketRow): void {
    if (!connectableStatuses.includes(ticket.status)) {
      throw new AppError('ILLEGAL_TRANSITION', `Ticket ${ticket.id} is ${ticket.status.replace('_', ' ')}: nobody can join its session now`, { status: ticket.status });
    }
  }

  function holderOnly(ticket: TicketRow, me: Technician, what: string): void {
    if (ticket.technician_id === null || Number(ticket.technician_id) !== me.id) throw new AppError('FORBIDDEN', `Only the technician who holds ticket ${ticket.id} may ${what}`);
  }

  /** Refuses a technician who cannot be added: unknown or disabled, the holder, already in; and a ticket with MAX_PARTICIPANTS in. */
  async function mayAdd(trx: Knex.Transaction, ticket: TicketRow, technicianId: number): Promise<void> {
    const tech = (await trx('technicians').where({ id: technicianId }).first('id', 'active', 'display_name')) as { active: number | boolean; display_name: string } | undefined;
    if (!tech || !tech.active) throw new AppError('TECHNICIAN_NOT_FOUND', `No enabled technician with id ${technicianId}`);
    if (ticket.technician_id !== null && Number(ticket.technician_id) === technicianId) {
      throw new AppError('ALREADY_PARTICIPANT', `${tech.display_name} already holds ticket ${ticket.id}`, { name: tech.display_name });
    }
    const rows = await participantStore.forTicket(trx, ticket.id);
    if (rows.some((r) => isOpen(r.state) && r.technicianId === technicianId)) {
      throw new AppError('ALREADY_PARTICIPANT', `${tech.display_name} already takes part in ticket ${ticket.id} (or is invited)`, { name: tech.display_name });
    }
    const open = new Set(rows.filter((r) => isOpen(r.state)).map((r) => r.technicianId));
    if (ticket.technician_id !== null) open.add(Number(ticket.technician_id));
    if (open.size >= maxParticipants) {
      throw new AppError('TOO_MANY_PARTICIPANTS', `Ticket ${ticket.id} already has ${open.size} technicians in its session (the holder counted); the limit is ${maxParticipants}`, { count: open.size, max: maxParticipants });
    }
  }

  /** A participant row of this ticket in one of `states`, or PARTICIPANT_NOT_FOUND in words. */
  async function rowOf(trx: Knex.Transaction, id: number): Promise<ParticipantRow> {
    const row = await participantStore.byId(trx, id);
    if (!row) throw new AppError('PARTICIPANT_NOT_FOUND', `No invitation or participant with id ${id}`);
    return row;
  }

  function stateIs(row: ParticipantRow, ...states: ParticipantRow['state'][]): void {
    if (!states.includes(row.state)) {
      throw new AppError('PARTICIPANT_STATE', `${row.displayName} is ${row.state.replace('_', ' ')} on ticket ${row.ticketId}: this cannot be done now`, { name: row.displayName, state: row.state });
    }
  }

  /** Moves an invitation or participant (found by id) on its ticket, with the ticket locked. */
  async function onRow<T>(id: number, work: (row: ParticipantRow, ticket: TicketRow, trx: Knex.Transaction, now: number, emit: Emit) => Promise<T>): Promise<T> {
    const first = await participantStore.byId(db, id);
    if (!first) throw new AppError('PARTICIPANT_NOT_FOUND', `No invitation or participant with id ${id}`);
    return onTicket(first.ticketId, async (ticket, trx, now, emit) => work(await rowOf(trx, id), ticket, trx, now, emit));
  }

  return {
    /** The holder invites a colleague to watch or to take control; the colleague accepts, then the user allows. */
    invite: (ticketId: number, me: Technician, input: { technicianId: number; mode: ParticipantMode }, context: ActorContext): Promise<ParticipantView> =>
      onTicket(ticketId, async (ticket, trx, now, emit) => {
        holderOnly(ticket, me, 'invite a colleague');
        mustBeLive(ticket);
        await mayAdd(trx, ticket, input.technicianId);
        const id = await participantStore.insert(trx, { ticketId, technicianId: input.technicianId, mode: input.mode, kind: 'invite', state: 'invited', invitedBy: me.id, note: null, now });
        return change(trx, now, context, emit, { participantId: id, action: 'invited', audit: 'participant.invited' });
      }),

    accept: (id: number, me: Technician, context: ActorContext): Promise<ParticipantView> =>
      onRow(id, async (row, ticket, trx, now, emit) => {
        if (row.technicianId !== me.id) throw new AppError('FORBIDDEN', `Invitation ${id} is for another technician`);
        stateIs(row, 'invited');
        mustBeLive(ticket);
        await participantStore.move(trx, id, ['invited'], 'waiting_user', now);
        return change(trx, now, context, emit, { participantId: id, action: 'accepted', audit: 'participant.accepted' });
      }),

    decline: (id: number, me: Technician, context: ActorContext): Promise<ParticipantView> =>
      onRow(id, async (row, _ticket, trx, now, emit) => {
        if (row.technicianId !== me.id) throw new AppError('FORBIDDEN', `Invitation ${id} is for another technician`);
        stateIs(row, 'invited');
        await participantStore.move(trx, id, ['invited'], 'declined', now);
        return change(trx, now, context, emit, { participantId: id, action: 'declined', audit: 'participant.declined' });
      }),

    /** The inviter (or the holder, or an administrator) withdraws an invitation, or removes a participant. */
    cancel: (id: number, me: Technician, context: ActorContext): Promise<ParticipantView> =>
      onRow(id, async (row, ticket, trx, now, emit) => {
        const holds = ticket.technician_id !== null && Number(ticket.technician_id) === me.id;
        // The inviter only while still in the session (holding it, or connected): one who handed over and left removes no one.
        const inviterStillIn = row.invitedBy?.id === me.id && (holds || (await participantStore.openFor(trx, ticket.id, me.id))?.state === 'connected');
        const mine = inviterStillIn || holds || me.role === 'admin';
        if (!mine) throw new AppError('FORBIDDEN', `Only who invited ${row.displayName} (or the holder) may withdraw it`);
        if (ticket.technician_id !== null && Number(ticket.technician_id) === row.technicianId) throw new AppError('FORBIDDEN', `${row.displayName} holds ticket ${ticket.id}: hand it over or end the session instead`);
        stateIs(row, 'invited', 'waiting_user', 'connected');
        await participantStore.move(trx, id, ['invited', 'waiting_user', 'connected'], 'cancelled', now);
        const close = row.state === 'connected' ? [{ channel: channelKey(ticket.id, id), reason: 'ENDED_BY_TECHNICIAN' as const }] : [];
        return change(trx, now, context, emit, { participantId: id, action: 'cancelled', audit: 'participant.cancelled', close });
      }),

    /** Everyone on a ticket, holder first; for an administrator, the holder, or anyone with a row on it. */
    async list(ticketId: number, me: Technician): Promise<{ participants: ParticipantView[]; handoverNote: string | null }> {
      const ticket = await tickets.get(ticketId);
      const rows = await participantStore.forTicket(db, ticketId);
      // Who is on it: for those in it or on their way in (an open row); not for one refused, stopped or gone.
      const allowed = me.role === 'admin' || ticket.technician?.id === me.id || rows.some((r) => r.technicianId === me.id && (openParticipantStates.includes(r.state) || mayReadTicket(r)));
      if (!allowed) throw new AppError('FORBIDDEN', `Ticket ${ticketId} is held by another technician`);
      const note = (await db('tickets').where({ id: ticketId }).first('handover_note')) as { handover_note: string | null } | undefined;
      return { participants: participantViews(ticket, rows), handoverNote: note?.handover_note ?? null };
    },

    /**
     * The holder hands the ticket over: to the queue (technicianId null: a
     * release, with the note), to a participant already in control (at once),
     * or to a colleague (a transfer row waiting for the user; the holder
     * stays until the user allows).
     */
    async transfer(ticketId: number, me: Technician, input: { technicianId: number | null; note: string }, context: ActorContext): Promise<{ participant: ParticipantView | null; ticket: TicketView }> {
      if (input.technicianId === null) {
        // A live session is not released (the state machine): it goes back to the queue as a requeue, said as a hand-over.
        const now = await tickets.get(ticketId);
        const ticket = await tickets.transition(ticketId, now.status === 'in_session' ? 'requeue' : 'release', context, {
          check: (row) => holderOnly(row, me, 'hand it over'),
          patch: { handover_note: input.note || null, end_reason: 'HANDED_OVER' },
          detail: { reason: 'HANDED_OVER', note: input.note, handedOver: true },
        });
        return { participant: null, ticket };
      }
      const target = input.technicianId;
      const participant = await onTicket(ticketId, async (ticket, trx, now, emit) => {
        holderOnly(ticket, me, 'hand it over');
        mustBeLive(ticket);
        const already = await participantStore.openFor(trx, ticketId, target);
        if (already?.state === 'connected' && already.mode === 'control') {
          await participantStore.update(trx, already.id, { note: input.note || null });
          const moved = await makeHolder(trx, now, ticket, already, input.note || null);
          return change(trx, now, context, emit, { participantId: already.id, action: 'transferred', audit: 'participant.transferred', ...moved });
        }
        await mayAdd(trx, ticket, target);
        const id = await participantStore.insert(trx, { ticketId, technicianId: target, mode: 'control', kind: 'transfer', state: 'waiting_user', invitedBy: me.id, note: input.note || null, now });
        return change(trx, now, context, emit, { participantId: id, action: 'invited', audit: 'participant.transfer_requested' });
      });
      return { participant, ticket: await tickets.get(ticketId) };
    },

    /** A participant leaves (or withdraws before the user answered). The holder hands over or ends instead. */
    leave: (ticketId: number, me: Technician, context: ActorContext): Promise<ParticipantView> =>
      onTicket(ticketId, async (ticket, trx, now, emit) => {
        if (ticket.technician_id !== null && Number(ticket.technician_id) === me.id) throw new AppError('FORBIDDEN', `You hold ticket ${ticketId}: hand it over or end the session instead`);
        const row = await participantStore.openFor(trx, ticketId, me.id);
        if (!row) throw new AppError('PARTICIPANT_NOT_FOUND', `You take no part in ticket ${ticketId}`);
        const to = row.state === 'connected' ? 'left' : 'cancelled';
        await participantStore.move(trx, row.id, [row.state], to, now);
        const close = row.state === 'connected' ? [{ channel: channelKey(ticketId, row.id), reason: 'VIEWER_LEFT' as const }] : [];
        return change(trx, now, context, emit, { participantId: row.id, action: to === 'left' ? 'left' : 'cancelled', audit: to === 'left' ? 'participant.left' : 'participant.cancelled', close });
      }),

    /** A watcher asks the user for control. */
    requestControl: (ticketId: number, me: Technician, context: ActorContext): Promise<ParticipantView> =>
      onTicket(ticketId, async (_ticket, trx, now, emit) => {
        const row = await participantStore.openFor(trx, ticketId, me.id);
        if (!row) throw new AppError('PARTICIPANT_NOT_FOUND', `You take no part in ticket ${ticketId}`);
        stateIs(row, 'connected');
        if (row.mode === 'control') throw new AppError('PARTICIPANT_STATE', `You already have control on ticket ${ticketId}`, { name: row.displayName, state: row.state });
        await participantStore.update(trx, row.id, { control_requested: true, updated_at: now });
        return change(trx, now, context, emit, { participantId: row.id, action: 'control_requested', audit: 'participant.control_requested' });
      }),

    /** An administrator watches a live session: asked like an invite (SUPERVISOR_WATCH=ask), or connected at once with the user told (notify). */
    watch: (ticketId: number, me: Technician, context: ActorContext): Promise<ParticipantView> =>
      onTicket(ticketId, async (ticket, trx, now, emit) => {
        if (me.role !== 'admin') throw new AppError('FORBIDDEN', 'Only administrators supervise sessions');
        mustBeLive(ticket);
        await mayAdd(trx, ticket, me.id);
        const state = supervisorWatch === 'notify' ? 'connected' : 'waiting_user';
        const id = await participantStore.insert(trx, { ticketId, technicianId: me.id, mode: 'view', kind: 'supervise', state, invitedBy: null, note: null, now });
        return change(trx, now, context, emit, { participantId: id, action: state === 'connected' ? 'joined' : 'invited', audit: 'participant.watch', detail: { watch: supervisorWatch } });
      }),

    /** Administrators: every ticket in session with everyone on it. */
    async live(me: Technician): Promise<{ sessions: { ticket: TicketView; participants: ParticipantView[] }[] }> {
      if (me.role !== 'admin') throw new AppError('FORBIDDEN', 'Only administrators see every live session');
      const live = await ticketStore.listByStatus(db, ['in_session']);
      const rows = await participantStore.forTickets(db, live.map((t) => t.id));
      return { sessions: live.map((ticket) => ({ ticket, participants: participantViews(ticket, rows.filter((r) => r.ticketId === ticket.id)) })) };
    },

    /** Which channel a technician's viewer opens: the main one (the holder without a row), or their connected participant's. */
    async viewerChannel(ticket: TicketView, me: Technician): Promise<{ participantId: number | null; mode: ParticipantMode }> {
      const row = await participantStore.openFor(db, ticket.id, me.id);
      if (row?.state === 'connected') return { participantId: row.id, mode: row.mode };
      if (ticket.technician?.id === me.id && !row) return { participantId: null, mode: ticket.viewOnly ? 'view' : 'control' };
      throw new AppError('FORBIDDEN', row ? `The user has not allowed you on ticket ${ticket.id} yet` : `Only the technician who holds ticket ${ticket.id}, or a participant the user allowed, may view it`);
    },

    /** The holder's channel: their connected participant row (promoted, handed over), or null for the main channel. */
    async holderChannel(ticketId: number): Promise<number | null> {
      const ticket = (await db('tickets').where({ id: ticketId }).first('technician_id')) as { technician_id: number | null } | undefined;
      if (!ticket?.technician_id) return null;
      const row = await participantStore.openFor(db, ticketId, Number(ticket.technician_id));
      return row?.state === 'connected' ? row.id : null;
    },

    /** The tickets a technician takes part in now (an open row), for their live stream. */
    async participatingIn(technicianId: number): Promise<number[]> {
      const rows = (await db('ticket_participants').where({ technician_id: technicianId }).whereIn('state', openParticipantStates).select('ticket_id')) as { ticket_id: number }[];
      return rows.map((r) => Number(r.ticket_id));
    },

    onTicket,
  };
}
