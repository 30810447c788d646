// A leg's lifecycle (waiting → paired → closed, or waiting → closed) and how
// its end is named for the audit, from its peer's point of view.
import type { CloseCodeId } from '../protocol/close-codes.ts';
import type { LegSide } from '../protocol/repeater.ts';

export type LegState = 'waiting' | 'paired' | 'closed';

export const legalMoves: Readonly<Record<LegState, readonly LegState[]>> = {
  waiting: ['paired', 'closed'],
  paired: ['closed'],
  closed: [],
};

/** Why a leg's own connection ended: a protocol error (WS_ERR_…, blamed on that leg), a clean close, or a loss. */
export function departureReason(leg: { side: LegSide; errorCode: string | null }, code: number): CloseCodeId {
  if (leg.errorCode?.startsWith('WS_ERR_')) return 'PEER_PROTOCOL_ERROR';
  const clean = code === 1000 || code === 1001 || code === 1005 || (code >= 3000 && code <= 4999);
  if (clean && leg.errorCode === null) {
    return leg.side === 'desktop' ? 'DESKTOP_LEFT' : 'VIEWER_LEFT';
  }
  return leg.side === 'desktop' ? 'DESKTOP_LOST' : 'VIEWER_LOST';
}
