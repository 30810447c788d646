// Errors the desktop client shows to its user: a stable code (its words live
// in the client's message catalogue) plus a technical detail for the log.
export const desktopErrorCodes = [
  'X11VNC_MISSING',
  'NO_DISPLAY',
  'X11VNC_FAILED',
  'SERVER_UNREACHABLE',
  'SERVER_REFUSED',
  'TOKEN_REFUSED',
  'TUNNEL_TIMEOUT',
  'VNC_UNREACHABLE',
  'VNC_AUTH_FAILED',
  'VNC_FAILED',
  'CONFIG_INVALID',
] as const;

export type DesktopErrorCode = (typeof desktopErrorCodes)[number];

export class DesktopError extends Error {
  readonly code: DesktopErrorCode;
  readonly detail?: unknown;

  constructor(
    code: DesktopErrorCode,
    message: string,
    detail?: unknown,
  ) {
    super(message);
    this.code = code;
    this.detail = detail;
    this.name = 'DesktopError';
  }
}
