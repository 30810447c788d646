// Login and logout (passport-local, session regenerated on login), and the
// session probe the pages use to get their CSRF token.
import { Router, type Request, type RequestHandler, type Response } from 'express';
import type { Redis } from 'ioredis';
import { createLimiter } from '../http/limiter.ts';
import { validate } from '../http/validate.ts';
import { neverCached } from '../http/never-cached.ts';
import { AppError, parseOrThrow, type ErrorCode } from '../errors.ts';
import type { SsoSession } from '../identity/service.ts';
import type { OidcAttempt } from '../identity/oidc.ts';
import { z } from 'zod';
import { loginSchema } from '../technicians/schema.ts';
import type { TechnicianService } from '../technicians/service.ts';
import type { Technician } from '../technicians/store.ts';
import type { PasswordChecked, PendingLogin } from '../technicians/login.ts';
import type { PassportInstance } from './passport.ts';
import { assertCsrf, csrfTokenOf } from './csrf.ts';
import { deviceOf, keepDevice } from './device.ts';

/**
 * Logs out (the form's CSRF token checked): the account leaves the request and
 * its web session is destroyed. Returns the provider's logout URL of an OpenID
 * sign-in whose provider supports RP-initiated logout (the page sends the browser there).
 */
export async function logout(req: Request): Promise<string | null> {
  assertCsrf(req);
  const providerLogout = req.session.sso?.logoutUrl ?? null;
  await new Promise<void>((resolve, reject) => req.logout((err) => (err ? reject(toError(err)) : resolve())));
  await new Promise<void>((resolve, reject) => req.session.destroy((err) => (err ? reject(toError(err)) : resolve())));
  return providerLogout;
}

function toError(err: unknown): Error {
  return err instanceof Error ? err : new Error(String(err));
}

export function loginLimiter(ratePerMinute: number, redis: Redis | null = null) {
  return createLimiter({ name: 'login', perMinute: ratePerMinute, message: 'Too many login attempts from this address; wait a minute', redis });
}

const secondFactor = validate({ body: z.object({ code: z.string().trim().min(6).max(20) }).describe('code') });

declare module 'express-session' {
  interface SessionData {
    /** Password checked, code still to come (two-factor login); how long it waits is the service's (pendingOpen). */
    pending2fa?: PendingLogin;
    /** A company sign-in (OIDC, LDAP): the session ends at expiresAt (session-store.ts); logoutUrl ends the provider's session too. */
    sso?: SsoSession;
    /** An OpenID sign-in on its way to the provider (state, nonce, PKCE verifier), used once at the callback. */
    oidcAttempt?: OidcAttempt;
    /** A company sign-in refused at the callback, for the login page to say. */
    loginRefusal?: { code: ErrorCode; message: string; details?: unknown };
  }
}

export function authRoutes({ passport, limiter, technicians }: { passport: PassportInstance; limiter: RequestHandler; technicians: TechnicianService }): Router {
  const router = Router();
  // Every answer here carries a CSRF token.
  router.use(neverCached);

  router.get('/session', (req, res) => {
    res.json({ technician: req.user ?? null, csrfToken: csrfTokenOf(req) });
  });

  router.post('/login', limiter, async (req, res) => {
    assertCsrf(req);
    const result = await passwordLogin(passport, req, res);
    if (result.twoFactorRequired) return res.json({ twoFactorRequired: true, technician: null, csrfToken: csrfTokenOf(req) });
    res.json({ technician: result.technician, csrfToken: csrfTokenOf(req) });
  });

  // The second step of a login with two factors: a code from the app, or a recovery code.
  router.post('/2fa', limiter, async (req, res) => {
    assertCsrf(req);
    const { code } = secondFactor.parse(req).body;
    const technician = await secondFactorLogin(technicians, req, res, code);
    res.json({ technician, csrfToken: csrfTokenOf(req) });
  });

  router.post('/logout', async (req, res) => {
    await logout(req);
    res.status(204).end();
  });

  return router;
}

/**
 * Checks username and password with passport-local and logs in on a fresh
 * session id (no fixation) — or, for an account with two-factor login, keeps
 * only the pending login on the fresh session until secondFactorLogin. A
 * completed login keeps the browser's device token (device.ts). Throws the
 * service's coded errors.
 */
export async function passwordLogin(passport: PassportInstance, req: Request, res: Response): Promise<{ technician: Technician; twoFactorRequired: boolean }> {
  parseOrThrow(loginSchema, req.body, 'login');
  const { pendingLogin, sso, ...technician } = await new Promise<PasswordChecked & { sso?: SsoSession }>((resolve, reject) => {
    const authenticate = passport.authenticate('local', (err: unknown, user: PasswordChecked | false) => {
      if (err) return reject(toError(err));
      if (!user) return reject(new AppError('LOGIN_FAILED', 'Wrong username or password'));
      resolve(user);
    }) as RequestHandler;
    void authenticate(req, res, (err?: unknown) => reject(toError(err)));
  });
  if (pendingLogin) {
    await regenerate(req);
    req.session.pending2fa = pendingLogin;
    return { technician, twoFactorRequired: true };
  }
  await logIn(req, technician);
  if (sso) req.session.sso = sso;
  keepDevice(req, res);
  return { technician, twoFactorRequired: false };
}

/** Completes a pending two-factor login with a code; throws LOGIN_FAILED (and counts it) when it is wrong. */
export async function secondFactorLogin(technicians: TechnicianService, req: Request, res: Response, code: string): Promise<Technician> {
  const pending = req.session.pending2fa;
  if (!pending || !technicians.pendingOpen(pending)) {
    delete req.session.pending2fa;
    throw new AppError('LOGIN_FAILED', 'Log in again with your password: the code step timed out');
  }
  // The pending login is the session's own object: a code spending its admission is saved with the session.
  const technician = await technicians.verifySecondFactor(pending.technicianId, code, { address: req.ip ?? '', device: deviceOf(req) }, pending);
  await logIn(req, technician);
  keepDevice(req, res);
  return technician;
}

/** Logs in a technician a provider vouched for, on a fresh session id, with the sign-in's limits. */
export async function ssoLogin(req: Request, res: Response, technician: Technician, sso: SsoSession): Promise<void> {
  await logIn(req, technician);
  req.session.sso = sso;
  keepDevice(req, res);
}

function regenerate(req: Request): Promise<void> {
  return new Promise((resolve, reject) => req.session.regenerate((err) => (err ? reject(toError(err)) : resolve())));
}

async function logIn(req: Request, technician: Technician): Promise<void> {
  await regenerate(req);
  await new Promise<void>((resolve, reject) => req.login(technician, (loginErr) => (loginErr ? reject(toError(loginErr)) : resolve())));
}
