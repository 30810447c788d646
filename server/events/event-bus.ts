// The one event bus of a server process. In-process is enough for one
// process; several processes would put a shared engine (Redis pub/sub) behind
// this same interface.
import { EventEmitter } from 'node:events';
import type { BusEventName, BusEvents } from './contract.ts';

export class EventBus {
  readonly #emitter = new EventEmitter();

  constructor() {
    // Every SSE subscriber is a listener: there is no small fixed bound.
    this.#emitter.setMaxListeners(0);
  }

  publish<K extends BusEventName>(name: K, event: BusEvents[K]): void {
    this.#emitter.emit(name, event);
  }

  /** Subscribes; returns the function that unsubscribes. */
  subscribe<K extends BusEventName>(name: K, listener: (event: BusEvents[K]) => void): () => void {
    this.#emitter.on(name, listener);
    return () => this.#emitter.off(name, listener);
  }
}
