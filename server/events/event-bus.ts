// The event bus of a server process. Alone, it is in-process. With REDIS_URL,
// every event is also published on one Redis pub/sub channel and every server
// sharing that Redis receives the others' events, so live streams (the
// technicians' queue, the desktops' streams) see what happened on any server.
// A subscriber that must act once per event in the whole deployment (not once
// per server) subscribes with { localOnly: true }.
import { EventEmitter } from 'node:events';
import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import type { BusEventName, BusEvents } from '../../protocol/events.ts';
import type { Logger } from '../../lib/logger.ts';

const CHANNEL = 'helpdesk:bus';

interface Envelope {
  origin: string;
  name: BusEventName;
  event: unknown;
}

export class EventBus {
  readonly #emitter = new EventEmitter();
  readonly #origin = randomUUID();
  #pub: Redis | null = null;
  #sub: Redis | null = null;
  #log: Logger | null = null;

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

  publish<K extends BusEventName>(name: K, event: BusEvents[K]): void {
    this.#emitter.emit(name, event, true);
    if (!this.#pub) return;
    const envelope: Envelope = { origin: this.#origin, name, event };
    this.#pub.publish(CHANNEL, JSON.stringify(envelope)).catch((err: unknown) => {
      // Redis is away: this server's own streams had the event; the others miss it and reload on reconnect.
      this.#log?.warn({ name, err: (err as Error).message }, 'event not published to the other servers');
    });
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
  subscribe<K extends BusEventName>(name: K, listener: (event: BusEvents[K]) => void, options: { localOnly?: boolean } = {}): () => void {
    const wrapped = (event: BusEvents[K], local: boolean): void => {
      if (options.localOnly && !local) return;
      listener(event);
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
    this.#emitter.emit(envelope.name, envelope.event, false);
  }
}
