// Login and logout (passport-local, session regenerated on login), and the
// session probe the pages use to get their CSRF token.
import { Router, type Request, type RequestHandler, type Response } from 'express';
import type { Redis } from 'ioredis';
import { createLimiter } from '../http/limiter.ts';
import { validate } from '../http/validate.ts';
import { neverCached } from '../http/never-cached.ts';
import { AppError, parseOrThrow } from '../errors.ts';
import { z } from 'zod';
import { loginSchema } from '../technicians/schema.ts';
import type { TechnicianService } from '../technicians/service.ts';
import type { Technician } from '../technicians/store.ts';
import type { PassportInstance } from './passport.ts';
import { assertCsrf, csrfTokenOf } from './csrf.ts';

/** Logs out (the form's CSRF token checked): the account leaves the request and its web session is destroyed. */
export async function logout(req: Request): Promise<void> {
  assertCsrf(req);
  await new Promise<void>((resolve, reject) => req.logout((err) => (err ? reject(toError(err)) : resolve())));
  await new Promise<void>((resolve, reject) => req.session.destroy((err) => (err ? reject(toError(err)) : resolve())));
}

function toError(err: unknown): Error {
  return err instanceof Error ? err : new Error(String(err));
}

export function loginLimiter(ratePerMinute: number, redis: Redis | null = null) {
  return createLimiter({ name: 'login', perMinute: ratePerMinute, message: 'Too many login attempts from this address; wait a minute', redis });
}

const secondFactor = validate({ body: z.object({ code: z.string().trim().min(6).max(20) }).describe('code') });
/** A login whose password was right waits this long for its second factor. */
const PENDING_MS = 5 * 60_000;

declare module 'express-session' {
  interface SessionData {
    /** Password checked, code still to come (two-factor login). */
    pending2fa?: { technicianId: number; at: number };
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
    const technician = await secondFactorLogin(technicians, req, code);
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
 * only a pending mark on the fresh session until secondFactorLogin. Throws the
 * service's coded errors.
 */
export async function passwordLogin(passport: PassportInstance, req: Request, res: Response): Promise<{ technician: Technician; twoFactorRequired: boolean }> {
  parseOrThrow(loginSchema, req.body, 'login');
  const technician = await new Promise<Technician>((resolve, reject) => {
    const authenticate = passport.authenticate('local', (err: unknown, user: Technician | false) => {
      if (err) return reject(toError(err));
      if (!user) return reject(new AppError('LOGIN_FAILED', 'Wrong username or password'));
      resolve(user);
    }) as RequestHandler;
    void authenticate(req, res, (err?: unknown) => reject(toError(err)));
  });
  if (technician.twoFactor.enabled) {
    await regenerate(req);
    req.session.pending2fa = { technicianId: technician.id, at: Date.now() };
    return { technician, twoFactorRequired: true };
  }
  await logIn(req, technician);
  return { technician, twoFactorRequired: false };
}

/** Completes a pending two-factor login with a code; throws LOGIN_FAILED (and counts it) when it is wrong. */
export async function secondFactorLogin(technicians: TechnicianService, req: Request, code: string): Promise<Technician> {
  const pending = req.session.pending2fa;
  if (!pending || Date.now() - pending.at > PENDING_MS) {
    delete req.session.pending2fa;
    throw new AppError('LOGIN_FAILED', 'Log in again with your password: the code step timed out');
  }
  const technician = await technicians.verifySecondFactor(pending.technicianId, code, req.ip ?? '');
  await logIn(req, technician);
  return technician;
}

function regenerate(req: Request): Promise<void> {
  return new Promise((resolve, reject) => req.session.regenerate((err) => (err ? reject(toError(err)) : resolve())));
}

async function logIn(req: Request, technician: Technician): Promise<void> {
  await regenerate(req);
  await new Promise<void>((resolve, reject) => req.login(technician, (loginErr) => (loginErr ? reject(toError(loginErr)) : resolve())));
}
