// The event bus of a server process. Alone, it is in-process. With REDIS_URL,
// every event is also published on one Redis pub/sub channel and every server
// sharing that Redis receives the others' events, so live streams (the
// technicians' queue, the desktops' streams) see what happened on any server.
// A subscriber that must act once per event in the whole deployment (not once
// per server) subscribes with { localOnly: true }.
// With an event log attached (server/events/event-log.ts), the events streams
// must see (`durableEvents`) are not carried by Redis: they are written to the
// database's outbox with the change (`record`, in its transaction) and each
// server's feed delivers them, in id order; Redis carries only a wake-up.
import { EventEmitter } from 'node:events';
import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import type { BusEventName, BusEvents } from '../../protocol/events.ts';
import type { Knex } from 'knex';
import type { Logger } from '../../lib/logger.ts';
import type { EventLog } from './event-log.ts';

const CHANNEL = 'helpdesk:bus';

/** The events live streams show: written to the outbox when a log is attached. */
export const durableEvents: ReadonlySet<BusEventName> = new Set<BusEventName>(['ticket.changed', 'ticket.desktop', 'ticket.message', 'ticket.file', 'session.ended', 'ticket.participant', 'session.channel_end']);

/** Where an event came from: its outbox id (null when it was not written there). */
export interface EventMeta {
  id: number | null;
}

type Envelope = { origin: string; name: BusEventName; event: unknown } | { origin: string; wake: true };

export class EventBus {
  readonly #emitter = new EventEmitter();
  readonly #origin = randomUUID();
  #pub: Redis | null = null;
  #sub: Redis | null = null;
  #log: Logger | null = null;
  #outbox: EventLog | null = null;
  readonly #wakeListeners = new Set<() => void>();

  constructor() {
    // Every SSE subscriber is a listener: there is no small fixed bound.
    this.#emitter.setMaxListeners(0);
  }

  /** Joins the deployment's Redis; resolves once subscribed. Reconnects (and resubscribes) by itself. */
  static async withRedis(url: string, logger: Logger): Promise<EventBus> {
    const bus = new EventBus();
    const log = logger.child({ component: 'event-bus' });
    bus.#log = log;
    const options = { lazyConnect: true, maxRetriesPerRequest: 3, retryStrategy: (times: number) => Math.min(200 * times, 2_000) };
    bus.#pub = new Redis(url, options);
    bus.#sub = new Redis(url, options);
    for (const [role, client] of [['publisher', bus.#pub], ['subscriber', bus.#sub]] as const) {
      client.on('error', (err: Error) => log.warn({ role, err: err.message }, 'redis connection trouble'));
      client.on('ready', () => log.info({ role }, 'redis ready'));
    }
    bus.#sub.on('message', (_channel: string, text: string) => bus.#receive(text));
    await bus.#pub.connect();
    await bus.#sub.connect();
    await bus.#sub.subscribe(CHANNEL);
    return bus;
  }

  /** This server's name on the bus (outbox rows carry it). */
  get origin(): string {
    return this.#origin;
  }

  /** Routes the durable events through the outbox from now on (EventLog.open does it). */
  attachLog(log: EventLog | null): void {
    this.#outbox = log;
  }

  /** The event log attached, if any: streams resume from it. */
  get log(): EventLog | null {
    return this.#outbox;
  }

  /**
   * Publishes an event. A durable one, with a log attached, is appended to the
   * outbox on its own; inside a transaction, use record() instead.
   */
  publish<K extends BusEventName>(name: K, event: BusEvents[K]): void {
    if (this.#outbox && durableEvents.has(name)) return this.#outbox.append(name, event);
    this.#emitter.emit(name, event, true, null);
    if (!this.#pub) return;
    const envelope: Envelope = { origin: this.#origin, name, event };
    this.#pub.publish(CHANNEL, JSON.stringify(envelope)).catch((err: unknown) => {
      // Redis is away: this server's own streams had the event; the others miss it and reload on reconnect.
      this.#log?.warn({ name, err: (err as Error).message }, 'event not published to the other servers');
    });
  }

  /**
   * An event written with the change it records, in that change's transaction
   * (call it last there). Without a log it is published once `trx` commits.
   */
  async record<K extends BusEventName>(trx: Knex.Transaction, name: K, event: BusEvents[K]): Promise<void> {
    if (this.#outbox && durableEvents.has(name)) return this.#outbox.record(trx, name, event);
    trx.executionPromise.then(
      () => this.publish(name, event),
      (_rolledBack: unknown) => undefined, // nothing happened: nothing to tell
    );
    return Promise.resolve();
  }

  /** Tells every server (this one too) that the outbox has new events. */
  wake(): void {
    for (const listener of this.#wakeListeners) listener();
    if (!this.#pub) return;
    const envelope: Envelope = { origin: this.#origin, wake: true };
    this.#pub.publish(CHANNEL, JSON.stringify(envelope)).catch((err: unknown) => {
      // Redis is away: the other servers' feeds find the events at their next poll.
      this.#log?.debug({ err: (err as Error).message }, 'wake-up not published to the other servers');
    });
  }

  /** Listens to wake-ups (from any server); returns the function that stops. */
  onWake(listener: () => void): () => void {
    this.#wakeListeners.add(listener);
    return () => this.#wakeListeners.delete(listener);
  }

  /** The event log's feed delivers an outbox event to this server's subscribers. */
  deliver(name: BusEventName, event: unknown, meta: { id: number; local: boolean }): void {
    this.#emitter.emit(name, event, meta.local, meta.id);
  }

  /** The Redis connection for commands (rate limits, locks), or null without REDIS_URL. */
  get redis(): Redis | null {
    return this.#pub;
  }

  /**
   * Whether this server may do a piece of shared work now: with Redis, the one
   * server that takes the lock `name` for ttlMs (SET NX PX); alone, always.
   * Redis away: true — every server does it (the work is idempotent) rather than none.
   */
  async tryLock(name: string, ttlMs: number): Promise<boolean> {
    if (!this.#pub) return true;
    const won = await this.#pub.set(`helpdesk:lock:${name}`, this.#origin, 'PX', ttlMs, 'NX').catch((err: unknown) => {
      this.#log?.warn({ name, err: (err as Error).message }, 'redis away: this server does the shared work too');
      return 'OK' as const;
    });
    return won === 'OK';
  }

  /** Subscribes; returns the function that unsubscribes. */
  subscribe<K extends BusEventName>(name: K, listener: (event: BusEvents[K], meta: EventMeta) => void, options: { localOnly?: boolean } = {}): () => void {
    const wrapped = (event: BusEvents[K], local: boolean, id: number | null): void => {
      if (options.localOnly && !local) return;
      listener(event, { id });
    };
    this.#emitter.on(name, wrapped);
    return () => this.#emitter.off(name, wrapped);
  }

  /** How many subscribers an event has on this server (diagnostics; a stream that left must leave none behind). */
  subscriberCount(name: BusEventName): number {
    return this.#emitter.listenerCount(name);
  }

  async close(): Promise<void> {
    const clients = [this.#pub, this.#sub].filter((c): c is Redis => c !== null);
    this.#pub = null;
    this.#sub = null;
    await Promise.all(clients.map((c) => c.quit().catch((_quitFailed: unknown) => c.disconnect())));
  }

  #receive(text: string): void {
    let envelope: Envelope;
    try {
      envelope = JSON.parse(text) as Envelope;
    } catch {
      this.#log?.warn({}, 'unreadable event on the bus channel ignored');
      return;
    }
    if (envelope.origin === this.#origin) return; // our own, already delivered
    if ('wake' in envelope) {
      for (const listener of this.#wakeListeners) listener();
      return;
    }
    this.#emitter.emit(envelope.name, envelope.event, false, null);
  }
}
