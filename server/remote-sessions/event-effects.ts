// What each repeater event does, written in the transaction that also moves
// its session's high-water mark (session-events.ts), so an event's rows exist
// exactly when the event counts as applied: the waiting legs, the session's
// row (by the repeater's session id, never "the ticket's newest"), its
// recording's row, the audit events. Live events (session.ended,
// ticket.desktop) are queued on `live`, written to the outbox in the same
// transaction, last (session-events.ts), so they exist exactly when the rows
// do; what must wait for the commit — the ticket's move to in_session (its
// own transaction) — is queued on `after`.
import type { Knex } from 'knex';
import type { WireEvent } from '../../protocol/repeater.ts';
import type { Logger } from '../../lib/logger.ts';
import type { EventBus } from '../events/event-bus.ts';
import type { BusEventName, BusEvents } from '../../protocol/events.ts';
import { AppError } from '../errors.ts';
import { systemActor } from '../audit/actor.ts';
import { insertAuditEvent } from '../audit/store.ts';
import { ticketStore } from '../tickets/store.ts';
import type { TicketService } from '../tickets/service.ts';
import { recordingStore } from '../recordings/store.ts';
import { remoteLegStore, remoteSessionStore, type Runner } from './store.ts';
import { checkPairedRecording, checkRecordingClosed } from './recording-senders.ts';
import { parseChannel } from '../../protocol/participants.ts';
import { participantStore } from '../participants/store.ts';
import type { Emit } from '../participants/changes.ts';
import { holderLeft, participantPaired, participantSessionEnded } from '../participants/session-effects.ts';

export interface EffectDeps {
  bus: EventBus;
  tickets: TicketService;
  logger: Logger;
  /** The server's RECORDINGS_DIR: a node's close with a SHA-256 is taken only for a file held there (recording-senders.ts). */
  recordingsDir?: string | null;
}

export interface EffectContext {
  trx: Knex.Transaction;
  now: number;
  /** Where the event comes from: a node's process, or the embedded repeater. */
  source: Runner;
  /** Run in order once the transaction commits. */
  after: (() => unknown)[];
  /** Live events, recorded (bus.record) last in the transaction. */
  live: LiveEvent[];
}

/** A bus event to record with the effect's rows. */
export type LiveEvent = { [K in BusEventName]: [K, BusEvents[K]] }[BusEventName];

const system = systemActor('repeater');

export async function applyEffect(deps: EffectDeps, ctx: EffectContext, e: WireEvent): Promise<void> {
  const { trx, now, source, after, live } = ctx;
  // The repeater's key is a channel (issue 26): "42" the holder's main channel, "42.p7" participant 7's.
  const channel = parseChannel(e.ticketId);
  const ticketId = channel?.ticketId ?? NaN;
  const participantId = channel?.participantId ?? null;
  const ticket = channel ? await ticketStore.view(trx, ticketId) : undefined;
  if (!ticket) throw new AppError('TICKET_NOT_FOUND', `No ticket with id ${e.ticketId}`);
  const participant = participantId === null ? null : await participantStore.byId(trx, participantId);
  if (participantId !== null && participant?.ticketId !== ticketId) throw new AppError('PARTICIPANT_NOT_FOUND', `No participant ${participantId} on ticket ${ticketId}`);
  // A participant channel's rows name that participant's technician; the main channel's, the holder.
  const technicianId = participant ? participant.technicianId : (ticket.technician?.id ?? null);
  const refs = { ticketId, technicianId };
  const emit: Emit = (name, event) => void live.push([name, event] as LiveEvent);
  // "Desktop connected" is the main channel's; a participant's legs are told through the participant events.
  const desktop = (state: 'waiting' | 'paired' | 'gone', reason: string | null) => participantId === null && live.push(['ticket.desktop', { ...refs, state, reason }]);
  switch (e.type) {
    case 'legWaiting':
      await remoteLegStore.waiting(trx, { sessionUid: e.sessionId, side: e.side, ticketId, participantId, since: e.at, ...source });
      await insertAuditEvent(trx, now, { ...system, remoteAddress: e.remoteAddress }, `session.${e.side}_waiting`, refs);
      if (e.side === 'desktop') desktop('waiting', null);
      return;

    case 'legClosed':
      await remoteLegStore.gone(trx, e.sessionId, e.side);
      await insertAuditEvent(trx, now, system, `session.${e.side}_closed`, refs, { reason: e.reason, waitedMs: e.waitedMs });
      if (e.side === 'desktop') desktop('gone', e.reason);
      return;

    case 'paired': {
      checkPairedRecording(e);
      await remoteLegStore.gone(trx, e.sessionId);
      if (await remoteSessionStore.bySession(trx, e.sessionId)) return; // its row is there already
      if (participantId !== null) {
        // A participant joining never moves the ticket.
      } else if (ticket.status === 'approved') {
        after.push(() => deps.tickets.startSession(ticketId, system).catch((err: unknown) => deps.logger.warn({ err, ticketId }, 'a paired session\'s ticket could not move to in_session')));
      } else {
        await insertAuditEvent(trx, now, system, 'session.resumed', refs);
      }
      // The row exists from the start, so a crash mid-session still leaves a record.
      const remoteSessionId = await remoteSessionStore.start(trx, { ticketId, participantId, technicianId, startedAt: e.at, sessionUid: e.sessionId, ...source });
      if (participantId !== null) await participantPaired(trx, now, emit, participantId);
      if (e.recording) {
        await recordingStore.insert(trx, { id: e.recording.id, file: e.recording.file, ticketId, participantId, remoteSessionId, technicianId, node: source.node, startedAt: e.at });
        await insertAuditEvent(trx, now, system, 'recording.started', refs, { recordingId: e.recording.id });
      } else if (ticket.recorded) {
        // Ordered but not begun: the authorizer found the recordings' disk below DATA_MIN_FREE_BYTES.
        await insertAuditEvent(trx, now, system, 'session.not_recorded', refs, { reason: 'DISK_LOW' });
      }
      desktop('paired', null);
      return;
    }

    case 'progress':
      await remoteSessionStore.progress(trx, e.sessionId, { desktopToViewer: e.bytesDesktopToViewer, viewerToDesktop: e.bytesViewerToDesktop }, now);
      return;

    case 'ended': {
      await remoteLegStore.gone(trx, e.sessionId);
      const bytes = { bytesDesktopToViewer: e.bytesDesktopToViewer, bytesViewerToDesktop: e.bytesViewerToDesktop };
      const end = { endedAt: e.endedAt, durationMs: e.durationMs, ...bytes, endReason: e.reason, endedBy: e.endedBy };
      const row = await remoteSessionStore.bySession(trx, e.sessionId);
      // Closed already (its node was counted lost, its server restarted): the first end stands.
      if (row && !row.live) return;
      if (row) await remoteSessionStore.close(trx, row.id, end);
      else await remoteSessionStore.insertEnded(trx, { ticketId, participantId, technicianId, startedAt: e.startedAt, sessionUid: e.sessionId, ...source }, end);
      await insertAuditEvent(trx, now, system, 'session.ended', refs, { reason: e.reason, endedBy: e.endedBy, durationMs: e.durationMs, ...bytes, ...(participantId === null ? {} : { participantId }) });
      if (participantId !== null) {
        // Only the participant's row changes; the ticket and the others' sessions go on.
        await participantSessionEnded(trx, now, emit, participantId, e.reason);
        return;
      }
      // The holder's viewer left or dropped: a participant with control takes over (or nothing changes).
      await holderLeft(trx, now, emit, ticketId, e.reason);
      live.push(['session.ended', { ...refs, reason: e.reason, endedBy: e.endedBy }]);
      desktop('gone', e.reason);
      return;
    }

    case 'recordingClosed':
      await checkRecordingClosed(trx, source, deps.recordingsDir ?? null, e);
      await recordingClosed(trx, now, e);
      return;
  }
}

/**
 * The repeater closed a recording's file. A node's close that arrives late
 * (the server closed the row as incomplete when it counted the node lost)
 * still replaces that row: the node saw the file end. Idempotent by the row's
 * own state, so it is taken even out of its session's order (a node that
 * restarted reports what its previous life left).
 */
export async function recordingClosed(trx: Knex, now: number, e: Extract<WireEvent, { type: 'recordingClosed' }>): Promise<void> {
  const end = { state: e.state, endedAt: e.endedAt, durationMs: e.durationMs, bytes: e.bytes, sha256: e.sha256, problem: e.problem };
  if (!(await recordingStore.close(trx, e.recordingId, end, ['recording', 'incomplete']))) return;
  const row = await recordingStore.get(trx, e.recordingId);
  const action = e.state === 'complete' ? 'recording.saved' : `recording.${e.state}`;
  await insertAuditEvent(trx, now, system, action, { ticketId: parseChannel(e.ticketId)?.ticketId ?? Number(e.ticketId), technicianId: row?.technicianId ?? null }, {
    recordingId: e.recordingId,
    bytes: e.bytes,
    durationMs: e.durationMs,
    sha256: e.sha256,
    ...(e.problem ? { problem: e.problem } : {}),
  });
}
