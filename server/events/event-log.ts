// The event log: the outbox (migration 016) and this server's feed of it.
// Events streams must see are written in the transaction of the change they
// record (record) and, after the commit, announced by a wake-up on the bus
// (Redis to the other servers). Each server's feed reads the rows after the
// last one it delivered, in id order, and hands them to its subscribers — at
// a wake-up, and every pollMs anyway, so that a Redis that blinks delays
// events by at most pollMs and loses none. Streams resume from the outbox by
// id (server/events/resume.ts); housekeeping trims it.
import type { Knex } from 'knex';
import type { Logger } from '../../lib/logger.ts';
import type { BusEventName } from '../../protocol/events.ts';
import type { Clock } from '../clock.ts';
import type { EventBus } from './event-bus.ts';
import { outboxStore, type OutboxRow } from './outbox-store.ts';

export interface EventLogOptions {
  /** EVENT_POLL_MS: how often the feed reads the outbox without a wake-up. */
  pollMs: number;
  /** EVENT_REPLAY_MAX: a stream further behind than this many events reloads instead of replaying. */
  replayMax: number;
  /** EVENT_KEEP_HOURS, in ms: events older than this are trimmed. */
  keepMs: number;
  /** EVENT_KEEP_MAX_ROWS: and at most this many are kept. */
  keepRows: number;
}

/** Rows read per query, by the feed and by a stream's replay. */
export const OUTBOX_BATCH = 200;

/** Whether a stream may resume after an event id, and if not, why. */
export type ResumeCheck = 'ok' | 'EVENTS_TRIMMED' | 'TOO_FAR_BEHIND' | 'UNKNOWN_EVENT_ID';

const ticketOf = (name: BusEventName, event: unknown): number | null => {
  const e = event as { ticketId?: unknown; ticket?: { id?: unknown } };
  const id = name === 'ticket.changed' ? e.ticket?.id : e.ticketId;
  return typeof id === 'number' ? id : null;
};

export class EventLog {
  readonly options: EventLogOptions;
  readonly #db: Knex;
  readonly #bus: EventBus;
  readonly #clock: Clock;
  readonly #log: Logger;
  #position: number;
  #polling: Promise<void> | null = null;
  #again = false;
  #appending: Promise<unknown> = Promise.resolve();
  #failing = false;
  readonly #timer: NodeJS.Timeout;
  readonly #stopWake: () => void;

  private constructor(db: Knex, bus: EventBus, clock: Clock, logger: Logger, options: EventLogOptions, position: number) {
    this.#db = db;
    this.#bus = bus;
    this.#clock = clock;
    this.#log = logger.child({ component: 'event-log' });
    this.options = options;
    this.#position = position;
    this.#stopWake = bus.onWake(() => void this.poll());
    this.#timer = setInterval(() => void this.poll(), options.pollMs);
    this.#timer.unref();
    bus.attachLog(this);
  }

  /** Starts this server's feed at the outbox's newest event and routes the bus's durable events through it. */
  static async open(deps: { db: Knex; bus: EventBus; clock: Clock; logger: Logger }, options: EventLogOptions): Promise<EventLog> {
    const { lastId } = await outboxStore.head(deps.db);
    return new EventLog(deps.db, deps.bus, deps.clock, deps.logger, options, lastId);
  }

  /** The newest event id this server's subscribers have been given. */
  get position(): number {
    return this.#position;
  }

  /** Writes the event in `trx` (last in it: the head row stays locked until it ends); announced once `trx` commits. */
  async record(trx: Knex.Transaction, name: BusEventName, event: unknown): Promise<void> {
    await outboxStore.append(trx, { name, ticketId: ticketOf(name, event), origin: this.#bus.origin, event, at: this.#clock.now() });
    trx.executionPromise.then(
      () => this.#bus.wake(),
      (_rolledBack: unknown) => undefined, // rolled back: the row went with it
    );
  }

  /** Writes the event on its own (a change with no transaction at hand), in call order. */
  append(name: BusEventName, event: unknown): void {
    // One after the other, so that events published in a row keep their order.
    this.#appending = this.#appending
      .then(() => this.#db.transaction((trx) => outboxStore.append(trx, { name, ticketId: ticketOf(name, event), origin: this.#bus.origin, event, at: this.#clock.now() })))
      .then(
        () => this.#bus.wake(),
        (err: unknown) => this.#log.error({ err, name }, 'an event could not be written to the outbox; streams will not see it'),
      );
  }

  /** Delivers what the outbox holds after this server's position; one read at a time, again if woken meanwhile. */
  poll(): Promise<void> {
    if (this.#polling) {
      this.#again = true;
      return this.#polling;
    }
    this.#polling = (async () => {
      do {
        this.#again = false;
        await this.#drain();
      } while (this.#again);
    })()
      .catch((err: unknown) => {
        // The database is away: said once, tried again at the next wake-up or poll.
        if (!this.#failing) this.#log.warn({ err: (err as Error).message }, 'the event outbox cannot be read; streams wait');
        this.#failing = true;
      })
      .finally(() => {
        this.#polling = null;
      });
    return this.#polling;
  }

  async #drain(): Promise<void> {
    for (;;) {
      const rows = await outboxStore.after(this.#db, this.#position, OUTBOX_BATCH);
      if (this.#failing) this.#log.info({}, 'the event outbox is readable again');
      this.#failing = false;
      for (const row of rows) {
        // Ids have no holes: the next one is position + 1 (after a trim, whatever is oldest).
        this.#position = row.id;
        try {
          this.#bus.deliver(row.name, row.event, { id: row.id, local: row.origin === this.#bus.origin });
        } catch (err) {
          this.#log.error({ err, id: row.id, name: row.name }, 'a subscriber failed on an event; the others still get the next ones');
        }
      }
      if (rows.length < OUTBOX_BATCH) return;
    }
  }

  /** Whether a stream may replay what follows `lastEventId` (one ticket's events when given). */
  async check(lastEventId: number, ticketId?: number): Promise<ResumeCheck> {
    const head = await outboxStore.head(this.#db);
    if (lastEventId > head.lastId) return 'UNKNOWN_EVENT_ID';
    if (lastEventId < head.trimmedThrough) return 'EVENTS_TRIMMED';
    const behind = await outboxStore.countAfter(this.#db, lastEventId, this.options.replayMax + 1, ticketId);
    return behind > this.options.replayMax ? 'TOO_FAR_BEHIND' : 'ok';
  }

  /** The events after `afterId` (one ticket's when given), a batch at a time. */
  after(afterId: number, ticketId?: number): Promise<OutboxRow[]> {
    return outboxStore.after(this.#db, afterId, OUTBOX_BATCH, ticketId);
  }

  /** Whether events after `afterId` may have been trimmed (checked again once a replay is done). */
  async trimmedSince(afterId: number): Promise<boolean> {
    return (await outboxStore.head(this.#db)).trimmedThrough > afterId;
  }

  /** Deletes events older than keepMs, and beyond keepRows; returns how many went. */
  trim(): Promise<number> {
    return outboxStore.trim(this.#db, this.#clock.now() - this.options.keepMs, this.options.keepRows);
  }

  /** Stops the feed; waits for the events still being written. */
  async close(): Promise<void> {
    clearInterval(this.#timer);
    this.#stopWake();
    await this.#appending;
    await this.#polling;
    this.#bus.attachLog(null);
  }
}
