// One side of a ticket's session: a websocket plus the facts the repeater keeps
// about it. Its lifecycle is a small state machine owned by the repeater:
//   waiting → paired → closed, or waiting → closed.
import type { WebSocket } from 'ws';
import { CloseCode, closeReasons, type CloseCodeId } from './close-codes.ts';
import type { LegSide } from './contract.ts';

export type LegState = 'waiting' | 'paired' | 'closed';

const legalMoves: Readonly<Record<LegState, readonly LegState[]>> = {
  waiting: ['paired', 'closed'],
  paired: ['closed'],
  closed: [],
};

export class Leg {
  state: LegState = 'waiting';
  /** Cleared by each heartbeat ping, set again by the pong. */
  alive = true;
  /** True while the repeater holds this leg's reading because its peer's buffer is full. */
  heldForBackpressure = false;
  /** The ws error code (WS_ERR_…) or socket error code seen before the close, if any. */
  errorCode: string | null = null;
  waitingTimer: NodeJS.Timeout | null = null;
  readonly openedAt = Date.now();

  constructor(
    readonly ws: WebSocket,
    readonly ticketId: string,
    readonly side: LegSide,
    readonly remoteAddress: string,
  ) {}

  transition(next: LegState): void {
    if (!legalMoves[this.state].includes(next)) {
      throw new Error(`illegal leg transition ${this.state} → ${next}`);
    }
    this.state = next;
    if (next !== 'waiting' && this.waitingTimer) {
      clearTimeout(this.waitingTimer);
      this.waitingTimer = null;
    }
  }

  /**
   * Closes the websocket with one of the repeater's codes. A leg that was held
   * (waiting or backpressure) is resumed first so the close handshake can be read.
   */
  closeWith(id: CloseCodeId): void {
    if (this.state !== 'closed') this.transition('closed');
    const ws = this.ws;
    if (ws.readyState === ws.CLOSING || ws.readyState === ws.CLOSED) return;
    ws.resume();
    ws.close(CloseCode[id], closeReasons[id]);
  }
}

/** Why a leg's own websocket closed, from the peer's point of view. */
export function departureReason(leg: Leg, code: number): CloseCodeId {
  if (leg.errorCode?.startsWith('WS_ERR_')) return 'PEER_PROTOCOL_ERROR';
  const clean = code === 1000 || code === 1001 || code === 1005 || (code >= 3000 && code <= 4999);
  if (clean && leg.errorCode === null) {
    return leg.side === 'desktop' ? 'DESKTOP_LEFT' : 'VIEWER_LEFT';
  }
  return leg.side === 'desktop' ? 'DESKTOP_LOST' : 'VIEWER_LOST';
}
