// Work done in the background of a request or an event (a repeater event's
// rows, a disabled account's tickets sent back to the queue): run in order
// per key — a ticket's work one piece after another, so its audit rows keep
// the order things happened in — in parallel across keys, every failure
// logged by name, and waited for at shutdown (idle()).
import type { Logger } from '../../lib/logger.ts';

export class BackgroundWork {
  readonly #tails = new Map<string, Promise<void>>();
  readonly #log: Logger;

  constructor(logger: Logger) {
    this.#log = logger.child({ component: 'background-work' });
  }

  /** Runs `work` after the work queued earlier under `key`; a failure is logged (with `what`) and does not stop what follows. */
  run(key: string, what: string, work: () => Promise<void>): void {
    const previous = this.#tails.get(key) ?? Promise.resolve();
    const next = previous.then(work).catch((err: unknown) => this.#log.error({ err, key }, `background work failed: ${what}`));
    this.#tails.set(key, next);
    // The last piece of a key removes it, so the map holds only keys with work in hand.
    void next.then(() => {
      if (this.#tails.get(key) === next) this.#tails.delete(key);
    });
  }

  /** How many keys have work in hand. */
  get pending(): number {
    return this.#tails.size;
  }

  /** Resolves once every piece queued so far, and every piece those queue in turn, is done. */
  async idle(): Promise<void> {
    while (this.#tails.size > 0) await Promise.all([...this.#tails.values()]);
  }
}
