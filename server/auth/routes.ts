// Login and logout (passport-local, session regenerated on login), and the
// session probe the pages use to get their CSRF token.
import { Router, type Request, type RequestHandler, type Response } from 'express';
import { rateLimit } from 'express-rate-limit';
import { AppError, parseOrThrow } from '../errors.ts';
import { loginSchema } from '../technicians/schema.ts';
import type { Technician } from '../technicians/store.ts';
import type { PassportInstance } from './passport.ts';
import { assertCsrf, csrfTokenOf } from './csrf.ts';

export function loginLimiter(ratePerMinute: number) {
  return rateLimit({
    windowMs: 60_000,
    limit: ratePerMinute,
    standardHeaders: 'draft-8',
    legacyHeaders: false,
    handler: (_req, _res, next) => next(new AppError('RATE_LIMITED', 'Too many login attempts from this address; wait a minute')),
  });
}

export function authRoutes({ passport, limiter }: { passport: PassportInstance; limiter: RequestHandler }): Router {
  const router = Router();

  router.get('/session', (req, res) => {
    res.json({ technician: req.user ?? null, csrfToken: csrfTokenOf(req) });
  });

  router.post('/login', limiter, async (req, res) => {
    assertCsrf(req);
    const technician = await passwordLogin(passport, req, res);
    res.json({ technician, csrfToken: csrfTokenOf(req) });
  });

  router.post('/logout', (req, res, next) => {
    assertCsrf(req);
    req.logout((err) => {
      if (err) return next(err);
      req.session.destroy((destroyErr) => (destroyErr ? next(destroyErr) : res.status(204).end()));
    });
  });

  return router;
}

/**
 * Checks username and password with passport-local and logs in on a fresh
 * session id (no fixation). Throws the service's coded errors.
 */
export async function passwordLogin(passport: PassportInstance, req: Request, res: Response): Promise<Technician> {
  parseOrThrow(loginSchema, req.body, 'login');
  const technician = await new Promise<Technician>((resolve, reject) => {
    passport.authenticate('local', (err: unknown, user: Technician | false) => {
      if (err) return reject(err);
      if (!user) return reject(new AppError('LOGIN_FAILED', 'Wrong username or password'));
      resolve(user);
    })(req, res, reject);
  });
  await logIn(req, technician);
  return technician;
}

function logIn(req: Request, technician: Technician): Promise<void> {
  return new Promise((resolve, reject) => {
    req.session.regenerate((err) => {
      if (err) return reject(err);
      req.login(technician, (loginErr) => (loginErr ? reject(loginErr) : resolve()));
    });
  });
}
