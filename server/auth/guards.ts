// Route guards and the actor of a request.
import type { Request, RequestHandler } from 'express';
import { AppError } from '../errors.ts';
import { assertCsrf } from './csrf.ts';
import type { ActorContext } from '../audit/actor.ts';
import type { Technician } from '../technicians/store.ts';
import { assertTokenScope } from '../api-tokens/bearer.ts';

/** Whether REQUIRE_2FA demands two-factor login of this account and it is not set up yet. */
export function mustEnrolTwoFactor(req: Request): boolean {
  return Boolean(req.user && req.user.twoFactor.required && !req.user.twoFactor.enabled);
}

/** Until enrolled, only one's own account (/api/v1/me…) is open. */
function assertEnrolled(req: Request): void {
  if (mustEnrolTwoFactor(req) && !/^\/api\/v1\/me(\/|$|\?)/.test(req.originalUrl)) {
    throw new AppError('TWO_FACTOR_REQUIRED', 'Set up two-factor login first (your administrators require it): POST /api/v1/me/2fa/setup, or the Profile page');
  }
}

/**
 * How the request proves who it is: an API token (Bearer) must hold the
 * route's scope and needs no CSRF token — a browser never sends one on its
 * own; a web session (cookie) must echo its CSRF token.
 */
function assertCredential(req: Request): void {
  assertTokenScope(req);
  assertCsrf(req);
}

// Each guard also demands the CSRF token of a state-changing request (every
// cookie-authenticated action passes through one, see csrf.ts), or the scope
// of the route from an API token.
export const requireTechnician: RequestHandler = (req, _res, next) => {
  if (!req.user) return next(new AppError('UNAUTHENTICATED', 'Log in first'));
  assertCredential(req);
  assertEnrolled(req);
  next();
};

export const requireAdmin: RequestHandler = (req, _res, next) => {
  if (!req.user) return next(new AppError('UNAUTHENTICATED', 'Log in first'));
  assertCredential(req);
  if (req.user.role !== 'admin') return next(new AppError('FORBIDDEN', 'Only administrators may do this'));
  assertEnrolled(req);
  next();
};

/** Only a web session (never an API token): one's own tokens — a token cannot make tokens. */
export const requireWebSession: RequestHandler = (req, _res, next) => {
  if (!req.user) return next(new AppError('UNAUTHENTICATED', 'Log in first'));
  if (req.apiToken) {
    throw new AppError('WEB_SESSION_REQUIRED', `${req.method} ${req.originalUrl.split('?')[0] ?? ''} needs a web session (log in): an API token cannot do it, and tokens cannot create tokens`);
  }
  assertCsrf(req);
  assertEnrolled(req);
  next();
};

export function technicianOf(req: Request): Technician {
  if (!req.user) throw new AppError('UNAUTHENTICATED', 'Log in first');
  return req.user;
}

export function technicianContext(req: Request): ActorContext {
  const t = technicianOf(req);
  const via = req.apiToken ? { via: { tokenId: req.apiToken.id, tokenName: req.apiToken.name } } : {};
  const signIn = req.apiToken ? 'api_token' : (req.session?.sso?.method ?? 'local');
  return { actor: { type: 'technician', id: t.id, name: t.username, role: t.role, signIn, ...via }, remoteAddress: req.ip ?? '' };
}
