// How a live stream joins the events: it subscribes first (what arrives is
// held), then either replays the outbox after the client's Last-Event-ID —
// from the database, so it works whichever server the client reached — or,
// for a new client (or one it cannot resume), sends its snapshot. Then the
// held events follow and it goes live. Every event carries its outbox id; at
// the seam between replay and live an id already passed on is dropped, so
// nothing is missed and nothing repeated. Bounded: the replay reads
// OUTBOX_BATCH rows at a time and at most replayMax events (else the client
// reloads), and at most replayMax events are held meanwhile (else the stream
// ends and the client resumes from what it has).
import type { Request } from 'express';
import type { BusEventName, BusEvents, StreamResetReason } from '../../protocol/events.ts';
import type { EventBus } from './event-bus.ts';
import { OUTBOX_BATCH, type EventLog } from './event-log.ts';
import type { SseChannel } from './sse.ts';

export type DurableEventName = 'ticket.changed' | 'ticket.desktop' | 'ticket.message' | 'ticket.file' | 'session.ended' | 'ticket.participant';

/** What a stream does with each durable event (and its id); filtering is the handler's. */
export type DurableHandlers = { [K in DurableEventName]: (event: BusEvents[K], id: number | null) => void };

export interface StreamJoin {
  bus: EventBus;
  /** The outbox; without it the stream has no ids and always starts from its snapshot. */
  log: EventLog | null;
  channel: Pick<SseChannel, 'onClose' | 'end' | 'closed'>;
  lastEventId: number | null;
  /** Only this ticket's events concern the stream (the desktop's): its replay reads only those. */
  ticketId?: number;
  on: DurableHandlers;
  /** Sends the stream's snapshot; `id` is the event id it stands at (null without the outbox). */
  snapshot: (id: number | null) => Promise<void>;
  /** The client's Last-Event-ID cannot be resumed from: it is told, before the snapshot (streams that can say it). */
  reset?: (reason: StreamResetReason) => void;
}

/** The id a reconnecting client last saw: the Last-Event-ID header, or ?lastEventId= for clients that cannot set it. */
export function lastEventIdOf(req: Request): number | null {
  const query = req.query.lastEventId;
  const raw = (req.get('last-event-id') ?? (typeof query === 'string' ? query : '')).trim();
  return /^\d{1,15}$/.test(raw) ? Number(raw) : null;
}

const names: readonly DurableEventName[] = ['ticket.changed', 'ticket.desktop', 'ticket.message', 'ticket.file', 'session.ended', 'ticket.participant'];

export async function joinStream(join: StreamJoin): Promise<void> {
  const { bus, log, channel, on } = join;
  const maxHeld = log?.options.replayMax ?? 1_000;
  let cursor = 0; // the newest event id passed on (or skipped) by this stream
  let held: { name: DurableEventName; event: unknown; id: number | null }[] | null = [];
  let overflow = false;
  const pass = (name: DurableEventName, event: unknown, id: number | null): void => {
    if (id !== null) {
      if (id <= cursor) return; // replayed already
      cursor = id;
    }
    (on[name] as (event: unknown, id: number | null) => void)(event, id);
  };
  for (const name of names) {
    channel.onClose(
      bus.subscribe(name as BusEventName, (event, meta) => {
        if (!held) return pass(name, event, meta.id);
        if (held.length < maxHeld) held.push({ name, event, id: meta.id });
        else overflow = true;
      }),
    );
  }
  // Everything after this server's position comes through the subscription.
  const position = log?.position ?? 0;
  let resumed = false;
  if (log && join.lastEventId !== null) {
    const from = join.lastEventId;
    const check = await log.check(from, join.ticketId);
    if (check === 'ok') {
      cursor = from;
      let replayed = 0;
      let reason: StreamResetReason | null = null;
      for (;;) {
        const rows = await log.after(cursor, join.ticketId);
        if (channel.closed) return;
        for (const row of rows) {
          if (names.includes(row.name as DurableEventName)) pass(row.name as DurableEventName, row.event, row.id);
          else cursor = Math.max(cursor, row.id);
        }
        replayed += rows.length;
        if (rows.length < OUTBOX_BATCH) break;
        // Events come faster than they are read back: reload rather than chase them.
        if (replayed > 2 * log.options.replayMax) {
          reason = 'TOO_FAR_BEHIND';
          break;
        }
      }
      // Trimmed while it was read: what was read may have had holes.
      if (!reason && (await log.trimmedSince(from))) reason = 'EVENTS_TRIMMED';
      resumed = reason === null;
      if (reason) join.reset?.(reason);
    } else {
      join.reset?.(check);
    }
  }
  if (!resumed) {
    cursor = Math.max(cursor, position);
    await join.snapshot(log ? cursor : null);
  }
  const pending = held;
  held = null;
  for (const e of pending) pass(e.name, e.event, e.id);
  // Held more than it may: the client reconnects and resumes from the outbox.
  if (overflow) channel.end();
}
