// The help flow's vocabulary: its states and the legal moves between them,
// what each repeater close code means for a desktop leg, and which failures
// are worth another try. Shared by the session (help-session.ts) and its
// desktop legs (channel-leg.ts).
import type { CloseCodeId } from '../../protocol/close-codes.ts';
import type { DesktopParticipantView } from '../../protocol/participants.ts';
import { DesktopError } from './errors.ts';
import type { TunnelClosed } from './tunnel.ts';

export type FlowState =
  | 'idle'
  | 'requesting'
  | 'waiting_for_technician'
  | 'technician_offered'
  | 'approved'
  | 'connecting'
  | 'waiting_for_viewer'
  | 'in_session'
  | 'ended';

export interface FlowSnapshot {
  state: FlowState;
  ticketId: number | null;
  technicianName: string | null;
  viewOnly: boolean;
  /** The one monitor shared ("RIGHT 640×480"), or null for all screens. */
  sharedScreen: string | null;
  /** Why it ended: a close-code id (ENDED_BY_TECHNICIAN…), CANCELLED, EXPIRED, or an error code. */
  endReason: string | null;
  error: { code: string; message: string } | null;
  /** The helpdesk records this request's sessions: both faces say so before the user allows. */
  recorded: boolean;
  /** Everyone besides the holder's main channel (issue 26): asking the user (waiting_user, controlRequested), connected, or gone. */
  participants: DesktopParticipantView[];
  /** Whether the main channel is the holder's (false once the holder has a participant channel of their own). */
  mainChannel: boolean;
  /** After a session took place and ended, the user is asked how it went (issue 29): 'ask' until they answer ('sent') or skip. */
  survey: 'ask' | 'sent' | 'skipped' | null;
}

export const idleSnapshot: Readonly<FlowSnapshot> = Object.freeze({
  state: 'idle',
  ticketId: null,
  technicianName: null,
  viewOnly: false,
  sharedScreen: null,
  endReason: null,
  error: null,
  recorded: false,
  participants: [],
  mainChannel: true,
  survey: null,
});

export const legalMoves: Readonly<Record<FlowState, readonly FlowState[]>> = {
  idle: ['requesting', 'ended'],
  requesting: ['waiting_for_technician', 'idle', 'ended'],
  waiting_for_technician: ['technician_offered', 'ended'],
  technician_offered: ['waiting_for_technician', 'approved', 'ended'],
  // Back to waiting_for_technician when the ticket returns to the queue (its technician lost access).
  approved: ['connecting', 'waiting_for_technician', 'ended'],
  connecting: ['waiting_for_viewer', 'in_session', 'waiting_for_technician', 'ended'],
  waiting_for_viewer: ['in_session', 'connecting', 'waiting_for_technician', 'ended'],
  in_session: ['waiting_for_viewer', 'connecting', 'waiting_for_technician', 'ended'],
  ended: [],
};

/**
 * What every repeater close code means for this side: re-arm (a fresh token and
 * x11vnc, no new consent) or end, with the code as the reason the user reads.
 * Typed over the whole table, so a new code cannot be left undecided.
 */
export const closeCodeNext: Readonly<Record<CloseCodeId, 'rearm' | 'end'>> = {
  DESKTOP_LEFT: 'end',
  VIEWER_LEFT: 'rearm',
  DESKTOP_LOST: 'rearm',
  VIEWER_LOST: 'rearm',
  WAITING_TIMEOUT: 'rearm',
  DUPLICATE_LEG: 'end',
  ENDED_BY_USER: 'end',
  ENDED_BY_TECHNICIAN: 'end',
  ENDED_BY_SERVER: 'end',
  SHUTDOWN: 'rearm',
  PEER_PROTOCOL_ERROR: 'rearm',
  REPEATER_LOST: 'rearm',
  SERVER_RESTARTED: 'rearm',
  RECORDING_FAILED: 'end',
  // One channel's end (the user stopped that person; the holder handed over): that leg only, never re-armed.
  STOPPED_BY_USER: 'end',
  HANDED_OVER: 'end',
};

/** How long a re-arm keeps trying while the server or repeater is unreachable. */
export const REARM_WINDOW_MS = 60_000;
/** The pause before a leg closed with a re-arm code is opened again. */
export const REARM_DELAY_MS = 300;

/** A failure that a restart of the server or the repeater explains: worth another try. */
export function transient(err: unknown): boolean {
  if (!(err instanceof DesktopError)) return false;
  if (err.code === 'SERVER_UNREACHABLE') return true;
  const status = (err.detail as { status?: number } | undefined)?.status;
  return (err.code === 'TOKEN_REFUSED' || err.code === 'SERVER_REFUSED') && (status === 502 || status === 503 || status === 504);
}

export function describe(err: unknown): { code: string; message: string } {
  if (err instanceof DesktopError) return { code: err.code, message: err.message };
  return { code: 'UNEXPECTED', message: (err as Error).message ?? String(err) };
}

/** What the session needs of a tunnel (the real one is Tunnel; tests give a fake). */
export interface LegTunnel {
  readonly x11vncPid: number | null;
  open(): Promise<void>;
  close(): Promise<void>;
  once(event: 'closed', listener: (closed: TunnelClosed) => void): unknown;
}
