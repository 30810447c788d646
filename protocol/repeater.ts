// The repeater's wire contracts: the paths each side of a ticket connects to,
// what an authorizer is asked and answers, and the internal HTTP link between a
// repeater process and the server (events, commands, recordings' outcomes).
import type { CloseCodeId, RefusalCodeId } from './close-codes.ts';

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
  /** The scheme the client used: the repeater's own TLS, or X-Forwarded-Proto from a proxy the repeater trusts (TRUST_PROXY). */
  scheme: 'http' | 'https';
  /** X-Forwarded-Proto as received from a proxy the repeater trusts (TRUST_PROXY), else null. */
  forwardedProto: string | null;
  /** The client's address: from X-Forwarded-For, walked from the right through the proxies TRUST_PROXY trusts, else the socket's peer. */
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

export type RecordingState = 'complete' | 'dropped' | 'failed';

export interface RecordingTrailer {
  endedAt: number;
  durationMs: number;
  reason: string;
  records: number;
  bytesDesktopToViewer: number;
  bytesViewerToDesktop: number;
  state: RecordingState;
  /** Version 2: why the recording is not complete, in words (null when it is). */
  problem?: string | null;
  /** Version 2: whether the viewer's key events were kept (RECORD_KEYSTROKES), and how many were left out. */
  keystrokes?: boolean;
  keysLeftOut?: number;
  /** Version 2: why the viewer's stream stopped being kept part-way (the filter met something it does not know), or null. */
  viewerStreamStopped?: string | null;
}

/** What a finished recording left on disk (the `recordingClosed` event). */
export interface RecordingResult {
  recordingId: string;
  ticketId: string;
  file: string;
  state: RecordingState;
  /** Why it was dropped or failed, in words; null when complete. */
  problem: string | null;
  bytes: number;
  sha256: string | null;
  startedAt: number;
  endedAt: number;
  durationMs: number;
}

// ---------------------------------------------------------------------------
// The internal link of a repeater running as its own process (repeater/main.ts)
// with the server, which stays the authority. All of it is HTTP from the
// repeater to the server, with `Authorization: Bearer <REPEATER_SECRET>` and
// NODE_HEADER and INSTANCE_HEADER on every request:
//   GET  /internal/v1/repeater/hello      checks the secret and claims the node's name (HelloAnswer)
//   POST /internal/v1/repeater/heartbeat  renews the claim's lease (NodeHeartbeat); 409 NODE_NAME_TAKEN
//   POST /internal/v1/repeater/authorize  a LegRequest in, an Authorization out (the name's holder only)
//   POST /internal/v1/repeater/events     EventsBody in, EventsAnswer out (one result per event)
//   GET  /internal/v1/repeater/commands   SSE: `ready`, then `end` commands; COMMAND_CURSOR_HEADER resumes
//   PUT  /internal/v1/repeater/recordings/:recordingId   a finished (or cut-short)
//        recording's bytes, from a node with its own RECORDINGS_DIR: see RECORDING_HEADERS
// A node's name is claimed by one process at a time: its instance id (random
// at each start) holds it while its heartbeats renew the lease; a second
// process under the same name is refused (409 NODE_NAME_TAKEN) until the
// holder releases it (`leaving`) or its lease runs out. Only a lease that runs
// out ends the node's sessions (REPEATER_LOST), never a stream that closes.

export const internalPaths = {
  hello: '/internal/v1/repeater/hello',
  authorize: '/internal/v1/repeater/authorize',
  events: '/internal/v1/repeater/events',
  commands: '/internal/v1/repeater/commands',
  heartbeat: '/internal/v1/repeater/heartbeat',
  /** PUT `${recordings}/:recordingId`: a recording handed over (the body is the file). */
  recordings: '/internal/v1/repeater/recordings',
} as const;

/**
 * A recording handed over (PUT recordings/:recordingId, with the Bearer secret
 * and NODE_HEADER): the body is the file's bytes, `Content-Length` required;
 * these headers say whose it is and what the node hashed; the query says how
 * it ended (RecordingHandoverQuery). The server keeps it at the same relative
 * path under its own RECORDINGS_DIR and closes the row with the size and
 * SHA-256 of what it wrote: 200 `{ recording: { bytes, sha256, state } }`.
 */
export const RECORDING_HEADERS = {
  ticket: 'x-recording-ticket',
  /** The file's path under RECORDINGS_DIR, as in the `paired` event. */
  file: 'x-recording-file',
  sha256: 'x-recording-sha256',
} as const;

/** How a handed-over recording ended: `incomplete` is a file cut short (its node stopped before closing it). */
export type RecordingHandoverState = RecordingState | 'incomplete';

export interface RecordingHandoverQuery {
  state: RecordingHandoverState;
  /** Why it is not complete, in words (absent when complete). */
  problem?: string;
  endedAt: number;
  durationMs: number;
}

/** Header naming the node, on every request of its link. */
export const NODE_HEADER = 'x-repeater-node';
/** Header carrying the node process's instance id (a UUID chosen at its start), on every request of its link. */
export const INSTANCE_HEADER = 'x-repeater-instance';
/** On the command stream: the id of the last command the node received (0: none); the stream resumes after it. */
export const COMMAND_CURSOR_HEADER = 'x-repeater-after';

/** GET hello: the server took the claim (or renewed it); the node renews it at least every leaseMs / 3. */
export interface HelloAnswer {
  ok: true;
  version: string;
  leaseMs: number;
}

/** POST heartbeat: the claim renewed; `url` (REPEATER_NODE_URL) lets the node be given tickets; `leaving` releases the name at a clean stop. */
export interface NodeHeartbeat {
  node: string;
  instance: string;
  url: string | null;
  sessions: number;
  legs: number;
  leaving?: boolean;
}

/**
 * A repeater event as the node sends it, before its link numbers it. Every one
 * belongs to a remote session: the repeater names it (a UUID) when the first
 * leg of a ticket arrives, and it lasts until both legs are gone (`ended`, or
 * `legClosed` of a leg that never paired) and its recording closed.
 */
export type SessionEvent =
  | { type: 'legWaiting'; sessionId: string; ticketId: string; side: LegSide; remoteAddress: string; at: number }
  | {
      type: 'paired';
      sessionId: string;
      ticketId: string;
      desktopAddress: string;
      viewerAddress: string;
      at: number;
      recording: { id: string; file: string } | null;
    }
  | {
      type: 'ended';
      sessionId: string;
      ticketId: string;
      /** A close code; one the server does not know (a newer repeater's) is stored as it is. */
      reason: CloseCodeId;
      endedBy: LegSide | null;
      bytesDesktopToViewer: number;
      bytesViewerToDesktop: number;
      startedAt: number;
      endedAt: number;
      durationMs: number;
    }
  | { type: 'legClosed'; sessionId: string; ticketId: string; side: LegSide; reason: CloseCodeId; waitedMs: number }
  | ({ type: 'recordingClosed'; sessionId: string } & RecordingResult)
  | { type: 'progress'; sessionId: string; ticketId: string; bytesDesktopToViewer: number; bytesViewerToDesktop: number };

/**
 * On the wire: `seq` is the event's place among its session's events (1, 2,
 * 3…, numbered by the node's link as it queues them). The server applies each
 * at most once and in that order, whichever server receives it; one that
 * arrives before its predecessor waits (stored) until the gap fills, or
 * REPEATER_EVENT_GAP_MS passes.
 */
export type WireEvent = SessionEvent & { seq: number };

/** POST events. */
export interface EventsBody {
  node: string;
  instance: string;
  events: WireEvent[];
}

/** One result per event, in order: taken (applied, held for its predecessor, or a repeat), or refused in words (logged and skipped; the others are applied). */
export type EventResult = { ok: true } | { ok: false; error: { code: string; message: string } };

export interface EventsAnswer {
  results: EventResult[];
}

export interface EndCommand {
  /** Increasing per deployment: the node resumes after the last it received (COMMAND_CURSOR_HEADER). */
  id: number;
  ticketId: string;
  reason: CloseCodeId;
}

/** The command stream (GET /internal/v1/repeater/commands): each SSE event name and its data. */
export interface CommandStreamEvents {
  /** First: the server holds the node's stream (the one stream commands for this instance go to). */
  ready: { node: string; instance: string };
  /** End a ticket's live legs with this close code. */
  end: EndCommand;
}
