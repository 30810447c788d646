// Errors that cross a layer carry a stable code, an HTTP status and whether
// they are expected (a refused request) or not (a bug or an outage). One
// middleware maps them to `{ error: { code, message } }`.
import type { ErrorRequestHandler, Request, Response } from 'express';
import { z } from 'zod';
import { errorWords, type ErrorLanguage } from './messages/errors.ts';
import type { Logger } from '../lib/logger.ts';

export const errorStatus = {
  VALIDATION_FAILED: 400,
  BAD_JSON: 400,
  UNSUPPORTED_BODY: 400,
  UNSUPPORTED_CHARSET: 415,
  UNAUTHENTICATED: 401,
  CLIENT_KEY_INVALID: 401,
  CLIENT_SECRET_INVALID: 401,
  REPEATER_SECRET_INVALID: 401,
  LOGIN_FAILED: 401,
  TOTP_CODE_USED: 401,
  ACCOUNT_LOCKED: 423,
  LOGIN_SLOWED: 429,
  PASSWORD_WEAK: 400,
  ACCOUNT_DISABLED: 403,
  LOCAL_LOGIN_OFF: 403,
  SSO_FAILED: 401,
  SSO_NO_ACCOUNT: 403,
  SSO_NOT_IN_GROUP: 403,
  SSO_UNAVAILABLE: 503,
  SSO_PROVIDER_UNKNOWN: 404,
  CSRF_INVALID: 403,
  API_TOKEN_INVALID: 401,
  API_TOKEN_SCOPE: 403,
  WEB_SESSION_REQUIRED: 403,
  API_TOKEN_NOT_FOUND: 404,
  WEBHOOK_NOT_FOUND: 404,
  WEBHOOK_DELIVERY_NOT_FOUND: 404,
  TOO_MANY_WEBHOOKS: 409,
  WEBHOOK_URL_REFUSED: 400,
  WEBHOOK_QUEUE_FULL: 409,
  TWO_FACTOR_REQUIRED: 403,
  FORBIDDEN: 403,
  NOT_FOUND: 404,
  TICKET_NOT_FOUND: 404,
  TOPIC_UNKNOWN: 400,
  TOPIC_NOT_FOUND: 404,
  TEAM_NOT_FOUND: 404,
  TEAM_NAME_TAKEN: 409,
  TOO_MANY_TEAMS: 409,
  TOO_MANY_TOPICS: 409,
  TICKET_NOT_QUEUED: 409,
  TECHNICIAN_NOT_FOUND: 404,
  RECORDING_NOT_FOUND: 404,
  RECORDING_PURGED: 410,
  RECORDING_FILE_MISSING: 410,
  RECORDING_IN_PROGRESS: 409,
  RECORDING_HASH_MISMATCH: 422,
  RECORDING_ALREADY_CLOSED: 409,
  LENGTH_REQUIRED: 411,
  RECORDING_KEY_MISSING: 409,
  RANGE_NOT_SATISFIABLE: 416,
  MESSAGE_TOO_LONG: 400,
  MESSAGE_EMPTY: 400,
  TICKET_CLOSED: 409,
  SURVEY_NOT_YET: 409,
  SURVEY_NO_SESSION: 409,
  SURVEY_ANSWERED: 409,
  CANNED_REPLY_NOT_FOUND: 404,
  TOO_MANY_CANNED_REPLIES: 409,
  FILE_TOO_LARGE: 413,
  FILE_NAME_INVALID: 400,
  FILE_NOT_FOUND: 404,
  FILE_NOT_OFFERED: 409,
  FILE_NOT_ACCEPTED: 409,
  FILE_PURGED: 410,
  UPLOAD_BEFORE_ACCEPT: 409,
  FILE_QUOTA_TICKET: 413,
  FILE_QUOTA_ADDRESS: 429,
  FILE_STORAGE_FULL: 507,
  DISK_LOW: 507,
  UPLOAD_TIMEOUT: 408,
  RECORDING_NOTICE_REQUIRED: 400,
  ILLEGAL_TRANSITION: 409,
  TICKET_TAKEN: 409,
  DECLINED_BY_USER: 409,
  TOO_MANY_ACTIVE_TICKETS: 409,
  TOO_MANY_PARTICIPANTS: 409,
  ALREADY_PARTICIPANT: 409,
  PARTICIPANT_NOT_FOUND: 404,
  PARTICIPANT_STATE: 409,
  USERNAME_TAKEN: 409,
  LAST_ADMIN: 409,
  RATE_LIMITED: 429,
  TOO_MANY_STREAMS: 429,
  PAYLOAD_TOO_LARGE: 413,
  INTERNAL: 500,
  DATABASE_UNAVAILABLE: 503,
} as const;

export type ErrorCode = keyof typeof errorStatus;

export class AppError extends Error {
  readonly status: number;
  readonly code: ErrorCode;
  readonly details?: unknown;
  readonly expected: boolean;

  constructor(code: ErrorCode, message: string, details?: unknown, expected = true) {
    super(message);
    this.code = code;
    this.details = details;
    this.expected = expected;
    this.name = 'AppError';
    this.status = errorStatus[code];
  }
}

export function isAppError(err: unknown, code?: ErrorCode): err is AppError {
  return err instanceof AppError && (code === undefined || err.code === code);
}

/** Parses with a zod schema or throws VALIDATION_FAILED naming every bad field. */
export function parseOrThrow<S extends z.ZodType>(schema: S, value: unknown, what: string): z.output<S> {
  const parsed = schema.safeParse(value);
  if (parsed.success) return parsed.data;
  const fields = parsed.error.issues.map((i) => ({ field: i.path.join('.') || what, message: i.message }));
  throw new AppError('VALIDATION_FAILED', `Invalid ${what}: ${fields.map((f) => `${f.field}: ${f.message}`).join('; ')}`, { fields });
}

/**
 * The error's message for a reader of `lang`: English keeps the precise
 * message written where it was thrown; other languages get their sentence for
 * the code, filled from the details (validation errors name their fields).
 */
export function localizedMessage(err: AppError, lang: string | undefined): string {
  if (!lang || lang === 'en' || !(lang in errorWords)) return err.message;
  const words = errorWords[lang as ErrorLanguage];
  const details = (err.details ?? {}) as Record<string, unknown>;
  const variant = typeof details.variant === 'string' ? words[`${err.code}.${details.variant}`] : undefined;
  const template = variant ?? words[err.code];
  const params: Record<string, string> = {};
  for (const [k, v] of Object.entries(details)) if (typeof v === 'string' || typeof v === 'number') params[k] = String(v);
  if (Array.isArray(details.fields)) params.fields = (details.fields as { field: string }[]).map((f) => f.field).join(', ');
  return template.replace(/\{(\w+)\}/g, (m, name: string) => params[name] ?? m);
}

export interface ErrorPages {
  /** The language a request reads (from its account or its Accept-Language). */
  languageOf(req: Request): string;
  /** Renders the error page for a browser (the pages' own words and layout). */
  render(req: Request, res: Response, status: number, message: string): void;
}

export function errorMiddleware(logger: Logger, pages: ErrorPages): ErrorRequestHandler {
  const log = logger.child({ component: 'http' });
  return (err: unknown, req, res, next) => {
    if (res.headersSent) return next(err);
    const appError = toAppError(err);
    if (appError.expected) log.info({ code: appError.code, method: req.method, path: req.path }, appError.message);
    else if (appError.code === 'DATABASE_UNAVAILABLE') log.warn({ code: (err as { code?: string }).code, method: req.method, path: req.path }, 'database unavailable');
    else log.error({ err, method: req.method, path: req.path }, 'request failed');
    if (appError.status === 503) res.set('Retry-After', '5');
    const retryAfterMs = (appError.details as { retryAfterMs?: number } | undefined)?.retryAfterMs;
    if ((appError.code === 'ACCOUNT_LOCKED' || appError.code === 'LOGIN_SLOWED') && retryAfterMs) res.set('Retry-After', String(Math.ceil(retryAfterMs / 1000)));
    const message = localizedMessage(appError, pages.languageOf(req));
    if (wantsPage(req)) {
      if (appError.code === 'UNAUTHENTICATED') return res.redirect(303, `/login?next=${encodeURIComponent(req.originalUrl)}`);
      return pages.render(req, res, appError.status, message);
    }
    res.status(appError.status).json({
      error: {
        code: appError.code,
        message,
        ...(appError.details === undefined ? {} : { details: appError.details }),
      },
    });
  };
}

/** A browser navigating to a page (not an API call) gets an HTML answer. */
function wantsPage(req: Request): boolean {
  if (/^\/(api|auth|healthz|assets|tech-assets|vendor)(\/|$)/.test(req.path)) return false;
  return req.accepts(['json', 'html']) === 'html';
}

/** Errors of the database driver that mean "not reachable now", not a bug. */
const UNAVAILABLE_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'ENOTFOUND',
  'EPIPE',
  'PROTOCOL_CONNECTION_LOST',
  'PROTOCOL_SEQUENCE_TIMEOUT',
  'ER_SERVER_SHUTDOWN',
  'ER_CON_COUNT_ERROR',
  'ER_LOCK_WAIT_TIMEOUT',
  'SQLITE_BUSY',
]);

export function isDatabaseUnavailable(err: unknown): boolean {
  const e = err as { code?: string; name?: string; fatal?: boolean } | null;
  if (!e) return false;
  return e.name === 'KnexTimeoutError' || (typeof e.code === 'string' && UNAVAILABLE_CODES.has(e.code)) || e.fatal === true;
}

function toAppError(err: unknown): AppError {
  if (err instanceof AppError) return err;
  const e = err as { type?: string; status?: number; charset?: string; expose?: boolean };
  // body-parser's own errors are the client's fault and say so.
  if (e?.type === 'entity.parse.failed') return new AppError('BAD_JSON', 'The request body is not valid JSON');
  if (e?.type === 'entity.too.large') return new AppError('PAYLOAD_TOO_LARGE', 'The request body is too large');
  if (e?.type === 'charset.unsupported' || e?.type === 'encoding.unsupported') {
    return new AppError('UNSUPPORTED_CHARSET', `Unsupported body encoding${e.charset ? ` "${e.charset}"` : ''}: send UTF-8`);
  }
  if (e?.expose === true && typeof e.status === 'number' && e.status >= 400 && e.status < 500) {
    return new AppError('UNSUPPORTED_BODY', 'The request body could not be read');
  }
  if (isDatabaseUnavailable(err)) {
    return new AppError('DATABASE_UNAVAILABLE', 'The database does not answer right now; try again in a moment', undefined, false);
  }
  return new AppError('INTERNAL', 'Something went wrong on the server; it has been logged', undefined, false);
}
