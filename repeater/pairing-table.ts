// Legs keyed by ticket and side, never by anything the caller chooses: the
// authorizer names the ticket, so two sessions can never cross their streams.
// A slot is one remote session: named (a UUID) when its first leg arrives,
// gone when its last leg is, so every event of the session carries that name.
import { randomUUID } from 'node:crypto';
import type { Leg } from './leg.ts';

export interface Slot {
  desktop: Leg | null;
  viewer: Leg | null;
  sessionId: string;
}

export type AddOutcome =
  | { kind: 'waiting' }
  | { kind: 'paired'; desktop: Leg; viewer: Leg }
  | { kind: 'duplicate'; existing: Leg };

export class PairingTable {
  readonly #slots = new Map<string, Slot>();

  /** Places a leg; says whether it waits, completes a pair, or duplicates a connected side. */
  add(leg: Leg): AddOutcome {
    let slot = this.#slots.get(leg.ticketId);
    if (!slot) {
      slot = { desktop: null, viewer: null, sessionId: randomUUID() };
      this.#slots.set(leg.ticketId, slot);
    }
    const existing = slot[leg.side];
    if (existing) return { kind: 'duplicate', existing };
    slot[leg.side] = leg;
    if (slot.desktop && slot.viewer) {
      return { kind: 'paired', desktop: slot.desktop, viewer: slot.viewer };
    }
    return { kind: 'waiting' };
  }

  /** Removes a leg if it is the one held for its side; frees the slot when empty. */
  remove(leg: Leg): void {
    const slot = this.#slots.get(leg.ticketId);
    if (!slot || slot[leg.side] !== leg) return;
    slot[leg.side] = null;
    if (!slot.desktop && !slot.viewer) this.#slots.delete(leg.ticketId);
  }

  get(ticketId: string): Slot | undefined {
    return this.#slots.get(ticketId);
  }

  get ticketCount(): number {
    return this.#slots.size;
  }

  *legs(): IterableIterator<Leg> {
    for (const slot of this.#slots.values()) {
      if (slot.desktop) yield slot.desktop;
      if (slot.viewer) yield slot.viewer;
    }
  }
}
