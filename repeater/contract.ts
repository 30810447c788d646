// The repeater's boundary: what the host injects (authorizeLeg, options, a
// logger) and what it hears back (typed events). Nothing here comes from server/.
import type { CloseCodeId, RefusalCodeId } from './close-codes.ts';
import type { RecordingResult } from './recording.ts';

export type LegSide = 'desktop' | 'viewer';

/** The path each side must use. */
export const sidePaths: Readonly<Record<LegSide, string>> = {
  desktop: '/wsServer',
  viewer: '/wsClient',
};

/** What the authorizer is told about an upgrade request. */
export interface LegRequest {
  path: string;
  /** The `token` query parameter, or null when absent. */
  token: string | null;
  /** The Origin header, or null when absent (desktop clients send none). */
  origin: string | null;
  /** The Host header (the authorizer may compare Origin with it). */
  host: string | null;
  /** The scheme the leg reached the repeater with (its own TLS or not). */
  scheme: 'http' | 'https';
  /** X-Forwarded-Proto as received; the authorizer decides whether the sender is a proxy it trusts. */
  forwardedProto: string | null;
  remoteAddress: string;
  /** The side implied by the path. */
  side: LegSide;
  /** The repeater node that received the leg (a repeater process's name), or null for the embedded repeater. */
  node: string | null;
}

/** The server's order to record a session (given with a leg's authorization), and what to put in the file's header. */
export interface RecordOrder {
  meta: Record<string, string | number | boolean | null>;
}

export type Authorization =
  | { ok: true; ticketId: string; side: LegSide; record?: RecordOrder | null }
  | { ok: false; code: RefusalCodeId; message: string };

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
  /** A recording whose unwritten bytes pass this is dropped (the session goes on). */
  recordingMaxBufferBytes: number;
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
});

export interface LegWaitingEvent {
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
  /** The repeater's name for this remote session (a UUID, also in the recording's header). */
  sessionId: string;
  /** The recording begun for it, when the server ordered one. */
  recording: { id: string; file: string } | null;
  /** The repeater node that paired them (set by the server for repeater processes). */
  node?: string;
}

export interface EndedEvent {
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

/** A leg that closed before it was ever paired. */
export interface LegClosedEvent {
  ticketId: string;
  side: LegSide;
  reason: CloseCodeId;
  waitedMs: number;
}

export interface LegRefusedEvent {
  path: string;
  remoteAddress: string;
  code: RefusalCodeId;
}

/** Byte counts of every live session, every progressIntervalMs. */
export interface ProgressEvent {
  sessions: { ticketId: string; bytesDesktopToViewer: number; bytesViewerToDesktop: number }[];
}

export interface RepeaterEvents {
  legWaiting: [LegWaitingEvent];
  paired: [PairedEvent];
  ended: [EndedEvent];
  legClosed: [LegClosedEvent];
  legRefused: [LegRefusedEvent];
  progress: [ProgressEvent];
  /** A recording is on disk (complete, dropped part-way or failed): after its session's `ended`. */
  recordingClosed: [RecordingResult];
}

/** The slice of a pino logger the repeater uses. */
export interface RepeaterLogger {
  child(bindings: Record<string, unknown>): RepeaterLogger;
  debug(obj: object, msg?: string): void;
  info(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
  error(obj: object, msg?: string): void;
}

// ---------------------------------------------------------------------------
// The internal link of a repeater running as its own process (repeater/main.ts)
// with the server, which stays the authority. All of it is HTTP from the
// repeater to the server, with `Authorization: Bearer <REPEATER_SECRET>`:
//   GET  /internal/v1/repeater/hello      checks the secret at start
//   POST /internal/v1/repeater/authorize  a LegRequest in, an Authorization out
//   POST /internal/v1/repeater/events     { node, events: WireEvent[] }, in order
//   GET  /internal/v1/repeater/commands   SSE: `end` { ticketId, reason }
// The node sends `sync` (what it holds) each time its command stream opens;
// the server ends what a node that stays away too long held.

export const internalPaths = {
  hello: '/internal/v1/repeater/hello',
  authorize: '/internal/v1/repeater/authorize',
  events: '/internal/v1/repeater/events',
  commands: '/internal/v1/repeater/commands',
  heartbeat: '/internal/v1/repeater/heartbeat',
} as const;

/** Header naming the node on the command stream. */
export const NODE_HEADER = 'x-repeater-node';

export type WireEvent =
  | { type: 'legWaiting'; ticketId: string; side: LegSide; remoteAddress: string; at: number }
  | {
      type: 'paired';
      ticketId: string;
      desktopAddress: string;
      viewerAddress: string;
      at: number;
      sessionId: string;
      recording: { id: string; file: string } | null;
    }
  | {
      type: 'ended';
      ticketId: string;
      reason: CloseCodeId;
      endedBy: LegSide | null;
      bytesDesktopToViewer: number;
      bytesViewerToDesktop: number;
      startedAt: number;
      endedAt: number;
      durationMs: number;
    }
  | { type: 'legClosed'; ticketId: string; side: LegSide; reason: CloseCodeId; waitedMs: number }
  | ({ type: 'recordingClosed' } & RecordingResult)
  | { type: 'progress'; sessions: { ticketId: string; bytesDesktopToViewer: number; bytesViewerToDesktop: number }[] }
  | { type: 'sync'; sessions: { ticketId: string; startedAt: number }[]; waiting: { ticketId: string; side: LegSide }[] };

export interface EndCommand {
  ticketId: string;
  reason: CloseCodeId;
}
