// The repeater's websocket close codes and its upgrade refusals: one table,
// stable numbers and identifiers, imported by the repeater, the server, the
// desktop core and (as JSON) the viewer. The close frame's reason is the
// identifier itself; the words shown to people live only in each app's
// catalogue (`reason.<ID>`), and a test checks every code has words in each.

export const CloseCode = {
  /** The desktop leg closed cleanly: the user's app left the session. */
  DESKTOP_LEFT: 4001,
  /** The viewer leg closed cleanly: the technician's viewer left. */
  VIEWER_LEFT: 4002,
  /** The desktop leg's connection dropped (reset, error, missed heartbeat). */
  DESKTOP_LOST: 4003,
  /** The viewer leg's connection dropped (reset, error, missed heartbeat). */
  VIEWER_LOST: 4004,
  /** This leg waited longer than waitingTimeoutMs for its peer. */
  WAITING_TIMEOUT: 4005,
  /** A leg for this side of this ticket is already connected. */
  DUPLICATE_LEG: 4006,
  /** The user stopped the session from the desktop app. */
  ENDED_BY_USER: 4007,
  /** The technician ended the session. */
  ENDED_BY_TECHNICIAN: 4008,
  /** The server ended the session (ticket closed, expired or cancelled by an administrator). */
  ENDED_BY_SERVER: 4009,
  /** The repeater is shutting down. */
  SHUTDOWN: 4010,
  /** The peer sent a message larger than maxPayloadBytes or broke the protocol. */
  PEER_PROTOCOL_ERROR: 4011,
  /** The repeater carrying the session went away without a word (crash, network); recorded by the server. */
  REPEATER_LOST: 4012,
  /** The server restarted (or crashed) during the session; recorded by the server when it starts again. */
  SERVER_RESTARTED: 4013,
  /** RECORDING_REQUIRED is on and the session's recording cannot be written: the session ends rather than go on unrecorded. */
  RECORDING_FAILED: 4014,
  /** The user stopped this participant (one channel of a ticket): the others' sessions go on. */
  STOPPED_BY_USER: 4015,
  /** The ticket was handed over to another technician (or its holder's main channel closed after a promotion). */
  HANDED_OVER: 4016,
} as const;

export type CloseCodeId = keyof typeof CloseCode;
export type CloseCodeNumber = (typeof CloseCode)[CloseCodeId];

const idByNumber = new Map<number, CloseCodeId>(
  (Object.entries(CloseCode) as [CloseCodeId, number][]).map(([id, n]) => [n, id]),
);

/** The identifier of a repeater close code, or undefined for codes it does not own (1000, 1006…). */
export function closeCodeId(code: number): CloseCodeId | undefined {
  return idByNumber.get(code);
}

/** HTTP refusals at the upgrade, before any websocket exists. */
export const RefusalCode = {
  /** The upgrade request is not a valid websocket handshake (refused before a token is spent). */
  BAD_HANDSHAKE: 400,
  TOKEN_MISSING: 401,
  TOKEN_INVALID: 401,
  TOKEN_EXPIRED: 401,
  TOKEN_USED: 401,
  ORIGIN_NOT_ALLOWED: 403,
  WRONG_SIDE: 403,
  NOT_TICKET_HOLDER: 403,
  TICKET_NOT_CONNECTABLE: 409,
  WRONG_NODE: 409,
  NOT_FOUND: 404,
  TOO_MANY_LEGS_FROM_ADDRESS: 429,
  TOO_MANY_LEGS: 503,
  SHUTTING_DOWN: 503,
  AUTHORIZER_FAILED: 503,
  /** RECORDING_REQUIRED is on and there is no room for the recording (DATA_MIN_FREE_BYTES). */
  RECORDING_UNAVAILABLE: 503,
} as const;

export type RefusalCodeId = keyof typeof RefusalCode;
