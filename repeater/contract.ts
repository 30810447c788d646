// The repeater's boundary: what the host injects (authorizeLeg, options, a
// logger) and what it hears back (typed events). Nothing here comes from server/.
import type { CloseCodeId } from '../protocol/close-codes.ts';
import type { Authorization, LegRequest, LegSide } from '../protocol/repeater.ts';
import type { RecordingResult } from '../protocol/repeater.ts';

export type AuthorizeLeg = (request: LegRequest) => Promise<Authorization> | Authorization;

export interface RepeaterOptions {
  /** A leg waiting for its peer is closed after this long. */
  waitingTimeoutMs: number;
  /** A paired leg whose outgoing buffer passes this pauses its peer's reading. */
  highWaterMarkBytes: number;
  /** Largest websocket message accepted from either side. */
  maxPayloadBytes: number;
  /** Interval of the ping heartbeat; a paired leg that missed one pong is terminated. */
  heartbeatIntervalMs: number;
  /** Legs open at once, all sides and tickets. */
  maxLegs: number;
  /** Legs open at once from one remote address. */
  maxLegsPerAddress: number;
  /** After the repeater's close frame, how long a client has to answer before its socket is dropped. */
  closeTimeoutMs: number;
  /** How often live sessions' byte counts are reported (the `progress` event). */
  progressIntervalMs: number;
  /** Where session recordings are written (the server reads them from the same directory). */
  recordingsDir: string;
  /** A recording whose unwritten bytes pass this is dropped (the session goes on), or slows the session when required. */
  recordingMaxBufferBytes: number;
  /** RECORD_KEYSTROKES: whether the viewer's key events are kept in recordings (off: they are left out). */
  recordKeystrokes: boolean;
  /** RECORDING_REQUIRED: a recording that cannot be written ends its session (in words), one that falls behind slows it; never silently partial. */
  recordingRequired: boolean;
  /** Where the key that seals recordings comes from (lib/key-ring-file.ts), or null to write them in the clear (RECORDING_ENCRYPTION=off). */
  recordingKey: { spec: string | null; file: string } | null;
  /** A connection must have its request answered (an upgrade: authorized) within this long, else it is dropped (408). */
  handshakeTimeoutMs: number;
  /** Connections not yet answered, in all (past it a new one is answered 503 and dropped). */
  maxPendingUpgrades: number;
  /** Connections not yet answered from one address (past it, 429 and dropped; trusted proxies count only to the total). */
  maxPendingUpgradesPerAddress: number;
}

export const defaultRepeaterOptions: Readonly<RepeaterOptions> = Object.freeze({
  waitingTimeoutMs: 100_000,
  highWaterMarkBytes: 1024 * 1024,
  maxPayloadBytes: 16 * 1024 * 1024,
  heartbeatIntervalMs: 30_000,
  maxLegs: 10_000,
  maxLegsPerAddress: 100,
  closeTimeoutMs: 3_000,
  progressIntervalMs: 10_000,
  recordingsDir: './data/recordings',
  recordingMaxBufferBytes: 16 * 1024 * 1024,
  recordKeystrokes: false,
  recordingRequired: false,
  recordingKey: null,
  handshakeTimeoutMs: 5_000,
  maxPendingUpgrades: 2_000,
  maxPendingUpgradesPerAddress: 50,
});

export interface LegWaitingEvent {
  /** The remote session this leg belongs to (named when the ticket's first leg arrived; see PairedEvent). */
  sessionId: string;
  ticketId: string;
  side: LegSide;
  remoteAddress: string;
  at: Date;
}

export interface PairedEvent {
  ticketId: string;
  desktopAddress: string;
  viewerAddress: string;
  at: Date;
  /** The repeater's name for this remote session (a UUID, also in the recording's header): given when the ticket's first leg arrived, carried by every event of the session. */
  sessionId: string;
  /** The recording begun for it, when the server ordered one. */
  recording: { id: string; file: string } | null;
  /** The repeater node that paired them (set by the server for repeater processes). */
  node?: string;
}

export interface EndedEvent {
  sessionId: string;
  ticketId: string;
  /** Why the session ended, as a close code identifier. */
  reason: CloseCodeId;
  /** The side whose departure ended it, or null when the server or repeater ended it. */
  endedBy: LegSide | null;
  bytesDesktopToViewer: number;
  bytesViewerToDesktop: number;
  startedAt: Date;
  endedAt: Date;
  durationMs: number;
}

/** A recording's outcome, with the remote session it recorded. */
export type SessionRecordingResult = RecordingResult & { sessionId: string };

/** A leg that closed before it was ever paired. */
export interface LegClosedEvent {
  sessionId: string;
  ticketId: string;
  side: LegSide;
  reason: CloseCodeId;
  waitedMs: number;
}

/** Byte counts of every live session, every progressIntervalMs. */
export interface ProgressEvent {
  sessions: { sessionId: string; ticketId: string; bytesDesktopToViewer: number; bytesViewerToDesktop: number }[];
}

export interface RepeaterEvents {
  legWaiting: [LegWaitingEvent];
  paired: [PairedEvent];
  ended: [EndedEvent];
  legClosed: [LegClosedEvent];
  progress: [ProgressEvent];
  /** A recording is on disk (complete, dropped part-way or failed): after its session's `ended`. */
  recordingClosed: [SessionRecordingResult];
}

/** The slice of a pino logger the repeater uses. */
export interface RepeaterLogger {
  child(bindings: Record<string, unknown>): RepeaterLogger;
  debug(obj: object, msg?: string): void;
  info(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
  error(obj: object, msg?: string): void;
}
