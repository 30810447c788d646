// Shared pieces of the page routers: locals every view needs, the guards that
// send a visitor without a session to the login page (or refuse a
// technician an admin page), flash messages across redirects, and form
// actions that turn expected errors into a flash on the page they came from.
import type { Request, RequestHandler, Response } from 'express';
import { assertCsrf, csrfTokenOf } from '../server/auth/csrf.ts';
import { AppError, isAppError } from '../server/errors.ts';
import { mustEnrolTwoFactor } from '../server/auth/guards.ts';
import { t } from './messages/en.ts';

declare module 'express-session' {
  interface SessionData {
    flash?: { kind: 'ok' | 'error'; text: string };
  }
}

export function flash(req: Request, kind: 'ok' | 'error', text: string): void {
  req.session.flash = { kind, text };
}

export const pageLocals: RequestHandler = (req, res, next) => {
  res.locals.t = t;
  res.locals.me = req.user ?? null;
  res.locals.csrfToken = csrfTokenOf(req);
  res.locals.path = req.path;
  res.locals.flash = req.session.flash ?? null;
  delete req.session.flash;
  next();
};

// Until an account that must use two-factor login has set it up, every page leads to /profile.
const enrolFirst = (req: Request): boolean => mustEnrolTwoFactor(req) && !req.originalUrl.startsWith('/profile');

export const requirePageLogin: RequestHandler = (req, res, next) => {
  if (!req.user) return res.redirect(303, `/login?next=${encodeURIComponent(req.originalUrl)}`);
  assertCsrf(req);
  if (enrolFirst(req)) return res.redirect(303, '/profile');
  next();
};

export const requirePageAdmin: RequestHandler = (req, res, next) => {
  if (!req.user) return res.redirect(303, `/login?next=${encodeURIComponent(req.originalUrl)}`);
  if (req.user.role !== 'admin') return next(new AppError('FORBIDDEN', 'Only administrators may open this page'));
  assertCsrf(req);
  if (enrolFirst(req)) return res.redirect(303, '/profile');
  next();
};

/** Only same-site paths are followed after login (no open redirect). */
export function safeNext(next: unknown): string {
  return typeof next === 'string' && /^\/(?![/\\])[\x20-\x7e]*$/.test(next) ? next : '/';
}

/**
 * A form POST: runs the action, then redirects (303) to where it says; an
 * expected error becomes a flash message on `back`, and nothing is lost.
 */
export function formAction(
  action: (req: Request, res: Response) => Promise<{ redirect: string; ok?: string }>,
  back: (req: Request) => string,
): RequestHandler {
  return async (req, res) => {
    try {
      const result = await action(req, res);
      if (result.ok) flash(req, 'ok', result.ok);
      res.redirect(303, result.redirect);
    } catch (err) {
      if (!isAppError(err) || !err.expected) throw err;
      flash(req, 'error', err.message);
      res.redirect(303, back(req));
    }
  };
}

/** "3 min", "2 h 5 min", "4 d": an age people read at a glance. */
export function ageText(sinceMs: number, nowMs: number): string {
  const minutes = Math.max(0, Math.floor((nowMs - sinceMs) / 60_000));
  if (minutes < 1) return 'just now';
  if (minutes < 60) return `${minutes} min`;
  const hours = Math.floor(minutes / 60);
  if (hours < 48) return `${hours} h ${minutes % 60} min`;
  return `${Math.floor(hours / 24)} d`;
}

export function bytesText(bytes: number): string {
  if (bytes < 1024) return `${bytes} B`;
  if (bytes < 1024 * 1024) return `${(bytes / 1024).toFixed(1)} KiB`;
  return `${(bytes / 1024 / 1024).toFixed(1)} MiB`;
}

export function timeText(ms: number | null): string {
  return ms === null ? '' : new Date(ms).toISOString().replace('T', ' ').slice(0, 16) + ' UTC';
}
