// Help requests (tickets): every move of the state machine through one
// transition() (./transition.ts) that locks the row, rejects illegal moves
// with 409, and writes the audit event and the live event in the same
// transaction. Creation, the queues by team and moves between teams are
// ./queue.ts's (issue 29).
import { matchesHash } from '../../lib/crypto.ts';
import type { Knex } from 'knex';
import { AppError } from '../errors.ts';
import type { Clock } from '../clock.ts';
import type { EventBus } from '../events/event-bus.ts';
import type { HelpRequestView } from '../../protocol/desktop-api.ts';
import type { TicketView } from '../../protocol/events.ts';
import type { ActorContext } from '../audit/actor.ts';
import { activeStatuses } from './state-machine.ts';
import { createTransition } from './transition.ts';
import { declineStore, type DeclineRow } from './declines.ts';
import type { AuditEvent } from '../audit/store.ts';
import type { AuditService } from '../audit/service.ts';
import { remoteSessionStore, type RemoteSession } from '../remote-sessions/store.ts';
import type { RecordingService, RecordingSummary } from '../recordings/service.ts';
import { ticketStore, type TicketRow } from './store.ts';
import { ticketReads } from './reads.ts';
import { ticketQueue } from './queue.ts';
import { helpRequestViewOf } from '../participants/consent.ts';
import { mayReadTicket, participantStore } from '../participants/store.ts';

export interface TicketServiceDeps {
  db: Knex;
  clock: Clock;
  bus: EventBus;
  maxActiveTicketsPerTech: number;
  ticketExpiryMs: number;
  /** RECORD_SESSIONS: new requests' sessions are recorded. */
  recordSessions?: boolean;
  /** DECLINE_COOLDOWN_MS: after a user declines a technician, that technician may offer again on the ticket only after this long. */
  declineCooldownMs?: number;
  /** For a ticket's detail: its timeline and its recordings. */
  audit: AuditService;
  recordings: RecordingService;
}

/** Everything the ticket page and GET /api/v1/tickets/:id show. */
export interface TicketDetail {
  ticket: TicketView;
  timeline: AuditEvent[];
  sessions: RemoteSession[];
  recordings: RecordingSummary[];
}

/** Who is looking at a ticket. */
export interface Viewer {
  id: number;
  role: 'admin' | 'technician';
}

export type TicketService = ReturnType<typeof createTicketService>;

/** The desktop client's view; `people`: its participants and whether the main channel is the holder's (issue 26; none for a new request). */
export function toHelpRequestView(ticket: TicketView, people: Pick<HelpRequestView, 'participants' | 'mainChannel'> = { participants: [], mainChannel: true }): HelpRequestView {
  return {
    id: ticket.id,
    status: ticket.status,
    technician: ticket.technician ? { displayName: ticket.technician.displayName } : null,
    viewOnly: ticket.viewOnly,
    recorded: ticket.recorded,
    endReason: ticket.endReason,
    createdAt: ticket.createdAt,
    updatedAt: ticket.updatedAt,
    participants: people.participants,
    mainChannel: people.mainChannel,
  };
}

export function createTicketService({ db, clock, bus, maxActiveTicketsPerTech, ticketExpiryMs, recordSessions = false, declineCooldownMs = 10 * 60_000, audit, recordings }: TicketServiceDeps) {
  async function get(id: number): Promise<TicketView> {
    const view = await ticketStore.view(db, id);
    if (!view) throw new AppError('TICKET_NOT_FOUND', `No ticket with id ${id}`);
    return view;
  }

  const transition = createTransition({ db, clock, bus, maxActiveTicketsPerTech });
  // The queue and its routing by team (issue 29): creation, the queues a viewer sees, moves between teams.
  const queue = ticketQueue({ db, clock, bus, recordSessions });

  /** How long until a declined technician may offer again on the ticket: Infinity when the user said never, ≤ 0 when they may now. */
  const offerAgainIn = (declined: DeclineRow): number =>
    declined.blocked ? Infinity : Number(declined.declined_at) + declineCooldownMs - clock.now();

  const holderOnly = (context: ActorContext) => (row: TicketRow) => {
    const actor = context.actor;
    if (actor.type !== 'technician') return;
    if (actor.role === 'admin') return;
    if (row.technician_id !== actor.id) throw new AppError('FORBIDDEN', `Ticket ${row.id} is held by another technician`);
  };

  /** Admins see every ticket; a technician sees the queue and the tickets they hold or held. */
  function canView(ticket: TicketView, viewer: Viewer): boolean {
    return viewer.role === 'admin' || ticket.status === 'requested' || ticket.technician?.id === viewer.id;
  }

  async function viewable(id: number, viewer: Viewer): Promise<TicketView> {
    const ticket = await get(id);
    // A technician the user allowed into its session sees it too (issue 26): not one merely invited, refused or stopped.
    // A waiting request of another team's queue is theirs (issue 29).
    if (ticket.status === 'requested' && !(await queue.mayServe(viewer, ticket.routing?.team?.id ?? null))) throw new AppError('FORBIDDEN', `Request ${ticket.id} is in another team's queue`);
    if (!canView(ticket, viewer) && !(await participantStore.forTicket(db, id)).some((r) => r.technicianId === viewer.id && mayReadTicket(r))) throw new AppError('FORBIDDEN', `Ticket ${ticket.id} is held by another technician`);
    return ticket;
  }

  return {
    get,
    transition,

    /** The desktop client's view of a ticket with everyone on it. */
    helpView: (ticket: TicketView): Promise<HelpRequestView> => helpRequestViewOf(db, ticket, toHelpRequestView),

    /** Checks a desktop client's bearer secret for one ticket; unknown ticket and wrong secret look the same. */
    async authenticateClient(id: number, secret: string | null): Promise<TicketView> {
      const row = await ticketStore.row(db, id);
      if (!row || !matchesHash(secret, row.client_secret_hash)) {
        throw new AppError('CLIENT_SECRET_INVALID', `This client secret does not grant access to help request ${id}`);
      }
      return get(id);
    },

    /** A technician takes a queued ticket, unless its user declined them lately (or for good) on it. */
    accept: (id: number, context: ActorContext) =>
      transition(id, 'accept', context, {
        check: async (row, trx) => {
          if (context.actor.type !== 'technician') return;
          // A request waits in its team's queue: only its members (and administrators) take it (issue 29).
          if (!(await queue.mayServe({ id: context.actor.id, role: context.actor.role }, row.team_id ?? null, trx))) throw new AppError('FORBIDDEN', `Request ${id} is in another team's queue`);
          const declined = await declineStore.find(trx, id, context.actor.id);
          if (!declined) return;
          const waitMs = offerAgainIn(declined);
          if (waitMs === Infinity) {
            throw new AppError('DECLINED_BY_USER', `${row.requester_name} asked not to be offered your help again on request ${id}`, { requester: row.requester_name, variant: 'blocked' });
          }
          if (waitMs > 0) {
            const minutes = Math.ceil(waitMs / 60_000);
            throw new AppError('DECLINED_BY_USER', `${row.requester_name} declined your offer on request ${id}; you may offer again in ${minutes} minute${minutes === 1 ? '' : 's'}`, { requester: row.requester_name, retryAfterMs: waitMs, minutes });
          }
        },
      }),
    release: (id: number, context: ActorContext) => transition(id, 'release', context, { check: holderOnly(context) }),

    /**
     * The user says no to the technician who offered. That technician may
     * offer again on this ticket after the cooldown, or never when the user
     * asked not to be asked again.
     */
    async decline(id: number, context: ActorContext, dontAskAgain = false): Promise<TicketView> {
      const before = await get(id);
      return transition(id, 'decline', context, {
        detail: { declinedTechnician: before.technician?.displayName ?? null, dontAskAgain },
        also: async (row, trx, now) => {
          if (row.technician_id !== null) await declineStore.note(trx, id, row.technician_id, now, dontAskAgain);
        },
      });
    },

    /** For a technician, the tickets (among `ids`) whose user declined them, and how long until they may offer again (ms; Infinity: never). */
    async declinedFor(technicianId: number, ids: number[]): Promise<Map<number, number>> {
      if (ids.length === 0) return new Map();
      const rows = await declineStore.forTechnician(db, technicianId, ids);
      const result = new Map<number, number>();
      for (const r of rows) {
        const waitMs = offerAgainIn(r);
        if (waitMs > 0) result.set(Number(r.ticket_id), waitMs);
      }
      return result;
    },

    /** The user allows the offered technician. A recorded request needs the client to have shown the recording notice. */
    approve: (id: number, viewOnly: boolean, context: ActorContext, screen: string | null = null, recordingNoticeShown = false) =>
      transition(id, 'approve', context, {
        check: (row) => {
          if (row.recorded && !recordingNoticeShown) {
            throw new AppError('RECORDING_NOTICE_REQUIRED', `Sessions of help request ${id} are recorded: the user must be told before allowing (send recordingNoticeShown: true once the notice was shown)`);
          }
        },
        patch: { view_only: viewOnly, shared_screen: screen },
        detail: (row) => ({ viewOnly, screen, ...(row.recorded ? { recordingNoticeShown } : {}) }),
      }),

    cancel: (id: number, context: ActorContext) => transition(id, 'cancel', context, { patch: { end_reason: 'CANCELLED_BY_USER' } }),

    /**
     * Ends a session. The reason follows from who ends it: the user
     * (ENDED_BY_USER), the technician who holds the ticket
     * (ENDED_BY_TECHNICIAN), or an administrator who does not (ENDED_BY_SERVER).
     */
    end(id: number, context: ActorContext): Promise<TicketView> {
      const reasonFor = (row: TicketRow) => {
        const actor = context.actor;
        if (actor.type === 'requester') return 'ENDED_BY_USER';
        return actor.type === 'technician' && row.technician_id === actor.id ? 'ENDED_BY_TECHNICIAN' : 'ENDED_BY_SERVER';
      };
      return transition(id, 'end', context, {
        check: holderOnly(context),
        patch: (row) => ({ end_reason: reasonFor(row) }),
        detail: (row) => ({ reason: reasonFor(row) }),
      });
    },

    resolve(id: number, resolution: string, context: ActorContext): Promise<TicketView> {
      return transition(id, 'resolve', context, { check: holderOnly(context), patch: { resolution } });
    },

    startSession: (id: number, context: ActorContext) => transition(id, 'start_session', context),

    /** Sends every ticket a technician holds back to the queue (their account lost access); returns how many. */
    async requeueHeldBy(technicianId: number, context: ActorContext, reason: string): Promise<number> {
      let moved = 0;
      for (const ticket of await ticketStore.listByStatus(db, activeStatuses, technicianId)) {
        try {
          await transition(ticket.id, 'requeue', context, { detail: { reason, technicianId } });
          moved += 1;
        } catch (err) {
          // Moved on meanwhile (ended, released): nothing to requeue.
          if (!(err instanceof AppError && err.code === 'ILLEGAL_TRANSITION')) throw err;
        }
      }
      return moved;
    },

    /** Expires requests nobody accepted within ticketExpiryMs; returns how many. */
    async expireStale(context: ActorContext): Promise<number> {
      const ids = await ticketStore.idsCreatedBefore(db, 'requested', clock.now() - ticketExpiryMs);
      let expired = 0;
      for (const id of ids) {
        try {
          await transition(id, 'expire', context, { patch: { end_reason: 'EXPIRED' } });
          expired += 1;
        } catch (err) {
          // Accepted or cancelled since the scan: nothing to expire.
          if (!(err instanceof AppError && err.code === 'ILLEGAL_TRANSITION')) throw err;
        }
      }
      return expired;
    },

    activeFor: (technicianId: number) => ticketStore.listByStatus(db, activeStatuses, technicianId),
    /** A technician's tickets whose session is over and that wait for a resolution. */
    toResolveFor: (technicianId: number) => ticketStore.listByStatus(db, ['ended'], technicianId),

    canView,

    /** The ticket, if this viewer may see it (else FORBIDDEN). */
    viewable,

    /** A ticket with its timeline, remote sessions and recordings, for a viewer who may see it. */
    async detail(id: number, viewer: Viewer): Promise<TicketDetail> {
      const ticket = await viewable(id, viewer);
      const [timeline, sessions, recorded] = await Promise.all([audit.timeline(ticket.id), remoteSessionStore.forTicket(db, ticket.id), recordings.forTicket(ticket.id)]);
      return { ticket, timeline, sessions, recordings: recorded };
    },

    // The history, its CSV, the statistics and the dashboard strip.
    ...ticketReads(db, clock),
    // Creation, the queues by team, moves between teams.
    ...queue,
  };
}

