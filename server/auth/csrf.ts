// CSRF protection by synchronizer token: each web session holds a random
// token; every state-changing request authenticated by the session cookie must
// echo it in the X-CSRF-Token header or a _csrf form field.
import { randomToken, sameSecret } from '../../lib/crypto.ts';
import type { Request, RequestHandler } from 'express';
import { AppError } from '../errors.ts';

declare module 'express-session' {
  interface SessionData {
    csrfToken?: string;
  }
}

export function csrfTokenOf(req: Request): string {
  req.session.csrfToken ??= randomToken();
  return req.session.csrfToken;
}

const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);

declare module 'express-serve-static-core' {
  interface Request {
    /** Whether this request carried the session's CSRF token (always true for safe methods). */
    csrfOk?: boolean;
  }
}

/**
 * Reads the token once per request and notes whether it matches; the refusal
 * itself is the guards' (assertCsrf), so that a request for a path nothing
 * serves is answered 404, not 403.
 */
export function csrfProtection(): RequestHandler {
  return (req, _res, next) => {
    if (SAFE_METHODS.has(req.method)) {
      req.csrfOk = true;
      return next();
    }
    const expected = req.session?.csrfToken;
    const body = req.body as Record<string, unknown> | undefined;
    const given = req.get('x-csrf-token') ?? (typeof body?._csrf === 'string' ? body._csrf : undefined);
    req.csrfOk = Boolean(expected) && sameSecret(given, expected ?? '');
    next();
  };
}

/**
 * Refuses a state-changing request without the session's CSRF token (every
 * cookie-authenticated action calls it). A request authenticated by an API
 * token (Bearer, server/api-tokens/bearer.ts) needs none: a browser never
 * adds that header to a forged request, and the cookie it may also carry is
 * not what authenticated it.
 */
export function assertCsrf(req: Request): void {
  if (SAFE_METHODS.has(req.method) || req.csrfOk === true || req.apiToken !== undefined) return;
  throw new AppError('CSRF_INVALID', 'This form has expired or did not come from this site; reload the page and try again');
}

