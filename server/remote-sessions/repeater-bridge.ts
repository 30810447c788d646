// Joins the repeater to the rest of the server: the authorizer it is given
// (tokens redeemed in the database, ticket state and holder checked, viewer
// Origin checked), and what its events do to tickets, remote sessions, the
// audit log and the bus. The repeater itself knows none of this.
import type { Knex } from 'knex';
import type { EventEmitter } from 'node:events';
import type { AuthorizeLeg, RepeaterEvents } from '../../repeater/contract.ts';
import type { LegRequest, RecordOrder } from '../../protocol/repeater.ts';
import type { CloseCodeId } from '../../protocol/close-codes.ts';
import type { Logger } from '../../lib/logger.ts';
import type { Clock } from '../clock.ts';
import type { EventBus } from '../events/event-bus.ts';
import type { BackgroundWork } from '../events/background.ts';
import { systemActor, type ActorContext } from '../audit/actor.ts';
import { insertAuditEvent } from '../audit/store.ts';
import { connectableStatuses } from '../tickets/state-machine.ts';
import type { TicketService } from '../tickets/service.ts';
import type { TicketView } from '../../protocol/events.ts';
import type { RecordingService } from '../recordings/service.ts';
import type { PairingTokenService } from '../tokens/service.ts';
import { remoteSessionStore } from './store.ts';

export interface OriginPolicy {
  publicUrl: string | null;
  allowedOrigins: readonly string[];
  /** Whether an address is a proxy whose X-Forwarded-Proto is believed (TRUST_PROXY). */
  trustsProxy?: (address: string) => boolean;
}

/**
 * The viewer's Origin must be the server's own — PUBLIC_URL, or else the Host
 * and scheme the leg arrived with (scheme from a trusted proxy's
 * X-Forwarded-Proto) — or allow-listed. Scheme, host and port all count.
 */
export function originAllowed(
  origin: string | null,
  request: { host: string | null; scheme?: 'http' | 'https'; forwardedProto?: string | null; remoteAddress?: string },
  policy: OriginPolicy,
): boolean {
  if (!origin) return false;
  let parsed: URL;
  try {
    parsed = new URL(origin);
  } catch {
    return false;
  }
  if (policy.allowedOrigins.includes(parsed.origin)) return true;
  if (policy.publicUrl) return parsed.origin === policy.publicUrl;
  if (request.host === null) return false;
  const forwarded = request.forwardedProto?.split(',')[0]?.trim().toLowerCase();
  const viaTrustedProxy = forwarded && request.remoteAddress !== undefined && policy.trustsProxy?.(request.remoteAddress);
  const scheme = viaTrustedProxy && (forwarded === 'http' || forwarded === 'https') ? forwarded : (request.scheme ?? 'http');
  let expected: URL;
  try {
    expected = new URL(`${scheme}://${request.host}`);
  } catch {
    return false;
  }
  return parsed.origin === expected.origin;
}

export function createLegAuthorizer(deps: {
  tokens: PairingTokenService;
  tickets: TicketService;
  origins: OriginPolicy;
  /** With repeater nodes: the node a ticket is assigned to (a leg arriving elsewhere is refused). */
  assignedNode?: (ticketId: number) => Promise<string | null>;
  /** What a recorded ticket's file header says about the two ends. */
  recordingMeta?: (ticket: TicketView) => RecordOrder['meta'];
  /** Whether the recordings' disk is above DATA_MIN_FREE_BYTES (below it, sessions go on unrecorded; administrators see a banner). */
  recordingRoom?: () => Promise<boolean>;
  /** RECORDING_REQUIRED: a recorded ticket's session does not start without room for its recording. */
  recordingRequired?: boolean;
}): AuthorizeLeg {
  return async (request: LegRequest) => {
    if (request.side === 'viewer' && !originAllowed(request.origin, request, deps.origins)) {
      return { ok: false, code: 'ORIGIN_NOT_ALLOWED', message: 'This page\'s origin may not open the viewer' };
    }
    if (request.node && deps.assignedNode) {
      // Both legs of a ticket must meet on one node: the one its tokens were minted for. Checked before the
      // token is spent, so a leg that reached the wrong node can still use it at the right one.
      const ticketId = await deps.tokens.ticketOf(request.token ?? '');
      const assigned = ticketId === null ? null : await deps.assignedNode(ticketId);
      if (assigned && assigned !== request.node) {
        return { ok: false, code: 'WRONG_NODE', message: `Ticket ${ticketId} is carried by repeater node ${assigned}, not ${request.node}; the token is still good there` };
      }
    }
    const redemption = await deps.tokens.redeem(request.token ?? '', request.side);
    if (!redemption.ok) return { ok: false, code: redemption.code, message: redemption.message };
    const ticket = await deps.tickets.get(redemption.ticketId);
    if (!connectableStatuses.includes(ticket.status)) {
      return { ok: false, code: 'TICKET_NOT_CONNECTABLE', message: `Ticket ${ticket.id} is ${ticket.status.replace('_', ' ')}; it cannot be connected now` };
    }
    if (request.side === 'viewer' && ticket.technician?.id !== redemption.technicianId) {
      return { ok: false, code: 'NOT_TICKET_HOLDER', message: `Ticket ${ticket.id} is held by another technician` };
    }
    // The user was told at approval that this ticket's sessions are recorded.
    const room = ticket.recorded && deps.recordingRoom ? await deps.recordingRoom() : true;
    if (!room && deps.recordingRequired) return { ok: false, code: 'RECORDING_UNAVAILABLE', message: 'Sessions must be recorded here, and the recordings disk is below its free-space watermark: an administrator must free space first' };
    const record = ticket.recorded && room ? { meta: deps.recordingMeta?.(ticket) ?? {} } : null;
    return { ok: true, ticketId: String(ticket.id), side: request.side, record };
  };
}

/** Which close code a ticket change imposes on live legs, by the action that caused it. */
const closeReasonFor: Readonly<Record<string, CloseCodeId>> = {
  cancel: 'ENDED_BY_USER',
  release: 'ENDED_BY_TECHNICIAN',
  requeue: 'ENDED_BY_SERVER',
};

export interface RepeaterBridge {
  /** Stops listening (what is in hand still finishes on `work`). */
  unbridge(): void;
}

/**
 * Handles the repeater's events (the embedded one's, or repeater processes'
 * through RemoteRepeaters) one at a time per ticket, in the order they
 * happened, so the audit rows of a ticket keep their order; and ends live legs when a ticket
 * leaves the connectable states.
 */
export function bridgeRepeaterEvents(deps: {
  repeater: EventEmitter<RepeaterEvents>;
  endTicket: (ticketId: string, reason: CloseCodeId) => void;
  tickets: TicketService;
  bus: EventBus;
  db: Knex;
  clock: Clock;
  logger: Logger;
  recordings?: RecordingService | null;
  /** Where the handling runs: the server's, whose shutdown waits for it (work.idle()). */
  work: BackgroundWork;
}): RepeaterBridge {
  const { repeater, tickets, bus, db, clock } = deps;
  const system = systemActor('repeater');
  // Each ticket's events are handled one at a time, in the order they happened.
  const { work } = deps;
  const safely = (what: string, ticketId: string, handle: () => Promise<void>): void => work.run(`ticket:${ticketId}`, `repeater event ${what}`, handle);

  repeater.on('legWaiting', (e) =>
    safely('legWaiting', e.ticketId, async () => {
      const ticketId = Number(e.ticketId);
      const ticket = await tickets.get(ticketId);
      await insertAuditEvent(db, clock.now(), { ...system, remoteAddress: e.remoteAddress }, `session.${e.side}_waiting`, { ticketId, technicianId: ticket.technician?.id ?? null });
      if (e.side === 'desktop') bus.publish('ticket.desktop', { ticketId, technicianId: ticket.technician?.id ?? null, state: 'waiting', reason: null });
    }),
  );

  repeater.on('paired', (e) =>
    safely('paired', e.ticketId, async () => {
      const ticketId = Number(e.ticketId);
      const ticket = await tickets.get(ticketId);
      if (ticket.status === 'approved') {
        await tickets.startSession(ticketId, system);
      } else {
        await insertAuditEvent(db, clock.now(), system, 'session.resumed', { ticketId, technicianId: ticket.technician?.id ?? null });
      }
      // The row exists from the start, so a crash mid-session still leaves a record.
      const technicianId = ticket.technician?.id ?? null;
      let remoteSessionId = (await remoteSessionStore.live(db, ticketId))?.id ?? null;
      remoteSessionId ??= await remoteSessionStore.start(db, { ticketId, technicianId, startedAt: e.at.getTime(), node: e.node ?? null, sessionUid: e.sessionId });
      if (e.recording && deps.recordings) {
        await deps.recordings.started({ ...e.recording, ticketId, remoteSessionId, technicianId, node: e.node ?? null, startedAt: e.at.getTime() });
      } else if (ticket.recorded) {
        // Ordered but not begun: the authorizer found the recordings' disk below DATA_MIN_FREE_BYTES.
        await insertAuditEvent(db, clock.now(), system, 'session.not_recorded', { ticketId, technicianId }, { reason: 'DISK_LOW' });
      }
      bus.publish('ticket.desktop', { ticketId, technicianId: ticket.technician?.id ?? null, state: 'paired', reason: null });
    }),
  );

  repeater.on('ended', (e) =>
    safely('ended', e.ticketId, async () => {
      const ticketId = Number(e.ticketId);
      const ticket = await tickets.get(ticketId);
      const technicianId = ticket.technician?.id ?? null;
      const written = await remoteSessionStore.end(
        db,
        ticketId,
        technicianId,
        e.startedAt.getTime(),
        {
          endedAt: e.endedAt.getTime(),
          durationMs: e.durationMs,
          bytesDesktopToViewer: e.bytesDesktopToViewer,
          bytesViewerToDesktop: e.bytesViewerToDesktop,
          endReason: e.reason,
          endedBy: e.endedBy,
        },
        // A lost node's sessions may be ended by another server already (reapLostNodeSessions).
        e.reason === 'REPEATER_LOST',
      );
      if (!written) return;
      await insertAuditEvent(db, clock.now(), system, 'session.ended', { ticketId, technicianId }, {
        reason: e.reason,
        endedBy: e.endedBy,
        durationMs: e.durationMs,
        bytesDesktopToViewer: e.bytesDesktopToViewer,
        bytesViewerToDesktop: e.bytesViewerToDesktop,
      });
      // A node that stopped answering took its recorders with it: what reached the disk is kept, as incomplete.
      if (e.reason === 'REPEATER_LOST') await deps.recordings?.closeOrphans(ticketId, system, 'the repeater node carrying the session was lost');
      bus.publish('session.ended', { ticketId, technicianId, reason: e.reason, endedBy: e.endedBy });
      bus.publish('ticket.desktop', { ticketId, technicianId, state: 'gone', reason: e.reason });
    }),
  );

  repeater.on('recordingClosed', (e) =>
    safely('recordingClosed', e.ticketId, async () => {
      await deps.recordings?.closed(e);
    }),
  );

  repeater.on('progress', (e) => {
    const at = clock.now();
    for (const p of e.sessions) {
      safely('progress', p.ticketId, () => remoteSessionStore.progress(db, Number(p.ticketId), { desktopToViewer: p.bytesDesktopToViewer, viewerToDesktop: p.bytesViewerToDesktop }, at));
    }
  });

  repeater.on('legClosed', (e) =>
    safely('legClosed', e.ticketId, async () => {
      const ticketId = Number(e.ticketId);
      const ticket = await tickets.get(ticketId);
      const technicianId = ticket.technician?.id ?? null;
      await insertAuditEvent(db, clock.now(), system, `session.${e.side}_closed`, { ticketId, technicianId }, { reason: e.reason, waitedMs: e.waitedMs });
      if (e.side === 'desktop') bus.publish('ticket.desktop', { ticketId, technicianId, state: 'gone', reason: e.reason });
    }),
  );

  // A ticket leaving the connectable states takes its live legs with it.
  const unsubscribe = bus.subscribe('ticket.changed', ({ ticket, action, previousStatus }) => {
    if (!previousStatus || !connectableStatuses.includes(previousStatus) || connectableStatuses.includes(ticket.status)) return;
    const reason = closeReasonFor[action] ?? (ticket.endReason as CloseCodeId | null) ?? 'ENDED_BY_SERVER';
    deps.endTicket(String(ticket.id), reason);
  });
  return {
    unbridge: () => {
      unsubscribe();
      for (const name of ['legWaiting', 'paired', 'ended', 'legClosed', 'progress', 'recordingClosed'] as const) repeater.removeAllListeners(name);
    },
  };
}

/**
 * Closes the session rows a crash left open (nobody will end them now) with
 * SERVER_RESTARTED, at their last known byte counts; `stillLive` spares the
 * sessions a repeater process reports as running. Tickets stay as they were:
 * the desktop client re-arms from approved or in_session by itself.
 */
export async function reconcileCrashedSessions(deps: { db: Knex; clock: Clock; logger: Logger; stillLive: (ticketId: number) => boolean; recordings?: RecordingService | null }): Promise<number> {
  let closed = 0;
  for (const row of await remoteSessionStore.allLive(deps.db)) {
    // A registered node's sessions may well be running: the node heartbeat decides (reapLostNodeSessions).
    if (row.onRegisteredNode || deps.stillLive(row.ticketId)) continue;
    if (await closeLiveSession(deps, systemActor('startup'), row, 'SERVER_RESTARTED', Math.max(row.updatedAt, row.startedAt))) closed += 1;
  }
  if (closed) deps.logger.warn({ closed }, 'closed the session rows a crash left open (SERVER_RESTARTED)');
  return closed;
}

/**
 * With several servers, the one that hears a node's sessions start may not be
 * the one its link goes to: any server ends the live sessions of a node that
 * stopped heartbeating (REPEATER_LOST), as the bridge would have.
 */
export async function reapLostNodeSessions(deps: { db: Knex; clock: Clock; bus: EventBus; staleAfterMs: number; recordings?: RecordingService | null }): Promise<number> {
  const { clock, bus } = deps;
  let ended = 0;
  for (const s of await remoteSessionStore.onLostNodes(deps.db, clock.now() - deps.staleAfterMs)) {
    if (!(await closeLiveSession(deps, systemActor('repeater-nodes'), s, 'REPEATER_LOST', clock.now(), { node: s.node }))) continue;
    bus.publish('session.ended', { ticketId: s.ticketId, technicianId: s.technicianId, reason: 'REPEATER_LOST', endedBy: null });
    bus.publish('ticket.desktop', { ticketId: s.ticketId, technicianId: s.technicianId, state: 'gone', reason: 'REPEATER_LOST' });
    ended += 1;
  }
  return ended;
}

/** Closes a live session row nobody will end (its repeater or this server's previous life is gone), with its audit event. */
async function closeLiveSession(
  deps: { db: Knex; clock: Clock; recordings?: RecordingService | null },
  actor: ActorContext,
  s: { ticketId: number; technicianId: number | null; startedAt: number; bytesDesktopToViewer: number; bytesViewerToDesktop: number },
  reason: CloseCodeId,
  endedAt: number,
  detail: Record<string, unknown> = {},
): Promise<boolean> {
  const durationMs = endedAt - s.startedAt;
  const bytes = { bytesDesktopToViewer: s.bytesDesktopToViewer, bytesViewerToDesktop: s.bytesViewerToDesktop };
  const written = await remoteSessionStore.end(deps.db, s.ticketId, s.technicianId, s.startedAt, { endedAt, durationMs, ...bytes, endReason: reason, endedBy: null }, true);
  if (!written) return false;
  await insertAuditEvent(deps.db, deps.clock.now(), actor, 'session.ended', { ticketId: s.ticketId, technicianId: s.technicianId }, { reason, endedBy: null, durationMs, ...bytes, ...detail });
  // Its recorder went with it: what reached the disk is kept, as incomplete.
  await deps.recordings?.closeOrphans(s.ticketId, actor, reason === 'REPEATER_LOST' ? 'the repeater node carrying the session was lost' : 'the server stopped without closing the recording');
  return true;
}
