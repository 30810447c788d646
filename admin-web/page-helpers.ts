// Shared pieces of the page routers: locals every view needs, and the guard
// that sends a visitor without a session to the login page.
import type { RequestHandler } from 'express';
import { csrfTokenOf } from '../server/auth/csrf.ts';
import { t } from './messages/en.ts';

export const pageLocals: RequestHandler = (req, res, next) => {
  res.locals.t = t;
  res.locals.me = req.user ?? null;
  res.locals.csrfToken = csrfTokenOf(req);
  res.locals.path = req.path;
  next();
};

export const requirePageLogin: RequestHandler = (req, res, next) => {
  if (req.user) return next();
  res.redirect(303, `/login?next=${encodeURIComponent(req.originalUrl)}`);
};

/** Only same-site paths are followed after login (no open redirect). */
export function safeNext(next: unknown): string {
  return typeof next === 'string' && /^\/(?![/\\])[\x20-\x7e]*$/.test(next) ? next : '/';
}
