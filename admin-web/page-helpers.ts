// Shared pieces of the page routers: locals every view needs, the guards that
// send a visitor without a session to the login page (or refuse a
// technician an admin page), flash messages across redirects, and form
// actions that turn expected errors into a flash on the page they came from.
import type { Input, Schemas, Validator } from '../server/http/validate.ts';
import type { Request, RequestHandler, Response } from 'express';
import { assertCsrf, csrfTokenOf } from '../server/auth/csrf.ts';
import { AppError, isAppError, localizedMessage } from '../server/errors.ts';
import { mustEnrolTwoFactor } from '../server/auth/guards.ts';
import { formatter, isTimeZone, type Formatter } from './public/format.js';
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
    /** Dates and numbers in the page's language and the reader's time zone. */
    fmt: Formatter;
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
  const fmt = formatter(htmlLang[lang], timeZoneOf(req));
  res.locals.fmt = fmt;
  res.locals.timeZone = fmt.timeZone;
  res.locals.timeText = fmt.time;
  res.locals.bytesText = fmt.bytes;
  res.locals.clientWords = clientWords[lang];
  res.locals.ageText = (sinceMs: number, nowMs: number) => ageText(sinceMs, nowMs, t);
  res.locals.durationText = (ms: number) => durationText(ms, t);
  res.locals.nameText = (displayName: string) => personName(displayName, t);
  return t;
}

/** The cookie the pages' script sets to the browser's time zone (ui.js), for readers who chose none. */
export const browserZoneCookie = 'hd.tz';

/** The reader's time zone: the one chosen on the profile, else the browser's (its cookie), else UTC. */
export function timeZoneOf(req: Request): string {
  const chosen = req.user?.timeZone;
  return isTimeZone(chosen) ? chosen : (browserZoneOf(req) ?? 'UTC');
}

/** The browser's time zone as its script last said (the hd.tz cookie), if it is one. */
export function browserZoneOf(req: Request): string | null {
  const cookie = /(?:^|;\s*)hd\.tz=([^;]{1,100})/.exec(req.get('cookie') ?? '')?.[1];
  const zone = cookie === undefined ? null : decodeURIComponent(cookie);
  return isTimeZone(zone) ? zone : null;
}

export const pageLocals: RequestHandler = (req, res, next) => {
  languageLocals(req, res);
  res.locals.me = req.user ?? null;
  res.locals.csrfToken = csrfTokenOf(req);
  res.locals.path = req.path;
  // A live page reading its parts again (admin-web/public/live.js) leaves the flash to the next page shown:
  // an Accept's "You accepted…" was taken by the queue's read when the accept's own event came first.
  const partsOnly = req.get('x-live-refresh') === '1';
  res.locals.flash = partsOnly ? null : (req.session.flash ?? null);
  if (!partsOnly) delete req.session.flash;
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

/** The display name server/technicians/service.ts gives the first administrator: shown in the reader's language. */
export const builtinAdminName = 'Administrator';

/** A technician's display name as a page shows it (the built-in administrator's in the reader's language). */
export function personName(displayName: string, t: Translate): string {
  return displayName === builtinAdminName ? t('team.builtinAdmin') : displayName;
}

/** "57 B", "1.5 KiB" in English: for words made outside a page (a page has res.locals.bytesText in its language). */
export const bytesText = (bytes: number): string => formatter('en', 'UTC').bytes(bytes);

/** "2026-11-22 08:14:33 UTC": to the second, the same in every language — for the CSV (pages use res.locals.timeText). */
export function utcText(ms: number | null): string {
  return ms === null ? '' : new Date(ms).toISOString().replace('T', ' ').slice(0, 19) + ' UTC';
}
