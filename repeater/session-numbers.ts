// Numbers each remote session's events 1, 2, 3… in the order they are sent,
// so the server can apply them at most once and in order whichever server
// receives them (protocol/repeater.ts WireEvent). A session's count is kept
// a while after its end: its recording's close follows it.
import type { SessionEvent, WireEvent } from '../protocol/repeater.ts';

const KEEP_AFTER_END_MS = 10 * 60_000;

export class SessionNumbers {
  readonly #sessions = new Map<string, { seq: number; endedAt: number | null }>();
  #sinceSweep = 0;

  number(event: SessionEvent): WireEvent {
    let session = this.#sessions.get(event.sessionId);
    if (!session) {
      session = { seq: 0, endedAt: null };
      this.#sessions.set(event.sessionId, session);
    }
    session.seq += 1;
    if (event.type === 'ended' || event.type === 'legClosed') session.endedAt = Date.now();
    if (++this.#sinceSweep >= 1_000) this.#sweep();
    return { ...event, seq: session.seq };
  }

  /** Sessions counted (tests, diagnostics). */
  get size(): number {
    return this.#sessions.size;
  }

  #sweep(): void {
    this.#sinceSweep = 0;
    const before = Date.now() - KEEP_AFTER_END_MS;
    for (const [id, s] of this.#sessions) if (s.endedAt !== null && s.endedAt < before) this.#sessions.delete(id);
  }
}
