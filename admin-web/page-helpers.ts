// Shared pieces of the page routers: locals every view needs, the guards that
// send a visitor without a session to the login page (or refuse a
// technician an admin page), flash messages across redirects, and form
// actions that turn expected errors into a flash on the page they came from.
import type { Input, Schemas, Validator } from '../server/http/validate.ts';
import type { Request, RequestHandler, Response } from 'express';
import { assertCsrf, csrfTokenOf } from '../server/auth/csrf.ts';
import { AppError, isAppError, localizedMessage } from '../server/errors.ts';
import { mustEnrolTwoFactor } from '../server/auth/guards.ts';
import { clientWords, htmlLang, languageNames, languageOf, languages, translator, type Language, type Translate } from './messages/index.ts';

declare module 'express-session' {
  interface SessionData {
    /** `copy`: a value shown with a Copy button (a generated password). */
    flash?: { kind: 'ok' | 'error'; text: string; copy?: string };
  }
}

declare module 'express-serve-static-core' {
  interface Locals {
    /** The page's translator and language (set by languageLocals for every page). */
    t: Translate;
    lang: Language;
  }
}

export function flash(req: Request, kind: 'ok' | 'error', text: string, copy?: string): void {
  req.session.flash = copy === undefined ? { kind, text } : { kind, text, copy };
}

/** The words, language and helpers every page renders with (also the error page's). */
export function languageLocals(req: Request, res: Response): Translate {
  const lang = languageOf(req);
  const t = translator(lang);
  res.locals.lang = lang;
  res.locals.htmlLang = htmlLang[lang];
  res.locals.languages = languages;
  res.locals.languageNames = languageNames;
  res.locals.t = t;
  res.locals.clientWords = clientWords[lang];
  res.locals.ageText = (sinceMs: number, nowMs: number) => ageText(sinceMs, nowMs, t);
  res.locals.durationText = (ms: number) => durationText(ms, t);
  return t;
}

export const pageLocals: RequestHandler = (req, res, next) => {
  languageLocals(req, res);
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
export function formAction<S extends Schemas = Record<never, never>>(
  action: (req: Request, res: Response, t: Translate, input: Input<S>) => Promise<{ redirect: string; ok?: string; copy?: string }>,
  back: (req: Request) => string,
  validator?: Validator<S>,
): RequestHandler {
  return async (req, res) => {
    try {
      // The form's fields are validated here, so a mistake comes back as a flash on the form.
      const input = validator ? validator.parse(req) : ({ params: undefined, query: undefined, body: undefined } as Input<S>);
      const result = await action(req, res, res.locals.t as Translate, input);
      if (result.ok) flash(req, 'ok', result.ok, result.copy);
      res.redirect(303, result.redirect);
    } catch (err) {
      if (!isAppError(err) || !err.expected) throw err;
      flash(req, 'error', localizedMessage(err, res.locals.lang as Language));
      res.redirect(303, back(req));
    }
  };
}

/** "3 min", "2 h 5 min", "4 d": an age people read at a glance. */
export function ageText(sinceMs: number, nowMs: number, t: Translate): string {
  const minutes = Math.max(0, Math.floor((nowMs - sinceMs) / 60_000));
  if (minutes < 1) return t('age.justNow');
  return durationText(minutes * 60_000, t);
}

/** "45 s", "3 min", "2 h 5 min", "4 d". */
export function durationText(ms: number, t: Translate): string {
  const seconds = Math.max(0, Math.round(ms / 1000));
  if (seconds < 60) return t('age.seconds', { n: seconds });
  const minutes = Math.floor(seconds / 60);
  if (minutes < 60) return t('age.minutes', { n: minutes });
  const hours = Math.floor(minutes / 60);
  if (hours < 48) return t('age.hours', { h: hours, m: minutes % 60 });
  return t('age.days', { n: Math.floor(hours / 24) });
}

export function bytesText(bytes: number): string {
  if (bytes < 1024) return `${bytes} B`;
  if (bytes < 1024 * 1024) return `${(bytes / 1024).toFixed(1)} KiB`;
  if (bytes < 1024 ** 3) return `${(bytes / 1024 / 1024).toFixed(1)} MiB`;
  return `${(bytes / 1024 ** 3).toFixed(1)} GiB`;
}

/** "2026-11-22 08:14:33 UTC": to the second, the same in every language. */
export function timeText(ms: number | null): string {
  return ms === null ? '' : new Date(ms).toISOString().replace('T', ' ').slice(0, 19) + ' UTC';
}
