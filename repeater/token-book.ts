// An in-memory, single-use token authorizer for tests and benchmarks (the
// product's authorizer lives in the server and redeems hashed tokens in the
// database). Tokens are random, bound to a ticket and a side, and work once.
import { randomToken } from '../lib/crypto.ts';
import type { Authorization, LegRequest, LegSide, RecordOrder } from '../protocol/repeater.ts';

export class TokenBook {
  readonly #tokens = new Map<string, { ticketId: string; side: LegSide; record: RecordOrder | null }>();

  /** A token for one leg; `record` orders the session recorded (as the server does for a recorded ticket). */
  issue(ticketId: string, side: LegSide, record: RecordOrder | null = null): string {
    const token = randomToken();
    this.#tokens.set(token, { ticketId, side, record });
    return token;
  }

  readonly authorize = (request: LegRequest): Authorization => {
    const entry = request.token ? this.#tokens.get(request.token) : undefined;
    if (!entry || !request.token) return { ok: false, code: 'TOKEN_INVALID', message: 'Unknown or already used token' };
    this.#tokens.delete(request.token);
    return { ok: true, ...entry };
  };
}
