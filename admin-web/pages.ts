// The admin web's page routers: login/logout and the technicians' pages.
import { Router, type RequestHandler, type Response } from 'express';
import type { AuditService } from '../server/audit/service.ts';
import type { PassportInstance } from '../server/auth/passport.ts';
import { logout, passwordLogin, secondFactorLogin } from '../server/auth/routes.ts';
import { AppError, isAppError, localizedMessage } from '../server/errors.ts';
import type { Technician } from '../server/technicians/store.ts';
import { assertCsrf, csrfTokenOf } from '../server/auth/csrf.ts';
import { neverCached } from '../server/http/never-cached.ts';
import type { TicketService } from '../server/tickets/service.ts';
import type { TechnicianService } from '../server/technicians/service.ts';
import { languageLocals, pageLocals, safeNext } from './page-helpers.ts';
import type { DiskWatch } from '../server/storage/disk-watch.ts';
import { languageOf } from './messages/index.ts';
import type { ErrorPages } from '../server/errors.ts';

/** The error page, in the reader's language. */
export const errorPages: ErrorPages = {
  languageOf,
  render(req, res, status, message) {
    languageLocals(req, res);
    res.locals.me = req.user ?? null;
    res.locals.csrfToken = req.session?.csrfToken ?? '';
    res.locals.path = req.path;
    res.status(status).render('error', { message });
  },
};
import { ticketPages } from './ticket-pages.ts';
import { recordingPages } from './recording-pages.ts';
import type { RecordingService } from '../server/recordings/service.ts';
import type { ChatService } from '../server/chat/service.ts';
import type { FileService } from '../server/files/service.ts';
import { teamPages } from './team-pages.ts';
import { webhookNotice, webhookPages } from './webhook-pages.ts';
import { apiDocsPages } from './api-docs-pages.ts';
import type { WebhookService } from '../server/webhooks/service.ts';
import { surveyPages, type SurveyPagesDeps } from './survey-pages.ts';
import { sessionPages, type SessionPagesParticipants } from './session-pages.ts';
import { invitationLocals, type InvitationSource } from './invitation-locals.ts';
import { routingPages, type RoutingPagesDeps } from './routing-pages.ts';

export interface AdminWebDeps {
  passport: PassportInstance;
  limiter: RequestHandler;
  tickets: TicketService;
  technicians: TechnicianService;
  audit: AuditService;
  desktopState: (ticketId: number) => Promise<'waiting' | 'paired' | null>;
  recordings: RecordingService;
  chat: ChatService;
  files: FileService;
  /** DATA_MIN_FREE_BYTES: administrators see a notice on every page while a data directory is short of space. */
  disks: DiskWatch;
  /** Company sign-in: the OpenID providers' buttons on the login page, and their names on the Technicians pages. */
  signIn: { providers: readonly { id: string; name: string }[]; nameOf(id: string): string | null };
  /** Issue 26: the administrators' Live sessions page and Watch. */
  participants?: SessionPagesParticipants & InvitationSource;
  /** Issue 28: the administrators' Webhooks page. */
  webhooks?: WebhookService | undefined;
  /** Issue 29: the user's answer on the ticket page and the statistics' satisfaction. */
  surveys?: SurveyPagesDeps['surveys'];
  cannedReplies?: SurveyPagesDeps['cannedReplies'];
  /** Issue 29: the Teams and Topics pages, a request's move to another team. */
  routing?: Pick<RoutingPagesDeps, 'teams' | 'topics'>;
}

/** A refusal that says when to come back (an address locked, an account slowed) says it in Retry-After too. */
function retryAfter(res: Response, err: AppError): void {
  const ms = (err.details as { retryAfterMs?: unknown } | undefined)?.retryAfterMs;
  if (typeof ms === 'number') res.set('Retry-After', String(Math.ceil(ms / 1000)));
}

export function adminWebPages(deps: AdminWebDeps): Router {
  const router = Router();
  // Every page carries a CSRF token, some a secret (a two-factor setup, a generated password): none is kept by a cache.
  router.use(neverCached);
  router.use(pageLocals);
  router.use(async (req, res, next) => {
    const low = req.method === 'GET' && req.user?.role === 'admin' ? await deps.disks.low() : [];
    res.locals.lowDisks = low.map((d) => ({ what: d.what, dir: d.dir, free: res.locals.fmt.bytes(d.freeBytes), min: res.locals.fmt.bytes(d.minFreeBytes) }));
    res.locals.signInProviders = deps.signIn.providers;
    // Where an account comes from, in words: local, the OpenID provider's name, LDAP.
    res.locals.sourceText = (tech: Technician) =>
      tech.source === 'oidc' ? (deps.signIn.nameOf(tech.provider ?? '') ?? tech.provider ?? 'OpenID Connect') : tech.source === 'ldap' ? 'LDAP' : res.locals.t('team.sourceLocal');
    next();
  });

  router.get('/login', (req, res) => {
    if (req.user) return res.redirect(303, safeNext(req.query.next));
    // A page that sent us here because the session idled out says so.
    const idle = typeof req.query.next === 'string' && req.get('cookie')?.includes('hd.sid=');
    // A company sign-in refused at its callback comes back here to be said (once).
    const refusal = req.session.loginRefusal;
    delete req.session.loginRefusal;
    const error = refusal ? localizedMessage(new AppError(refusal.code, refusal.message, refusal.details), res.locals.lang) : null;
    res.status(refusal ? new AppError(refusal.code, '').status : 200);
    res.render('login', { step: 'password', error, username: '', next: safeNext(req.query.next), notice: req.query.loggedOut ? 'login.loggedOut' : idle ? 'login.idle' : null });
  });

  router.post('/login', deps.limiter, async (req, res) => {
    assertCsrf(req);
    const body = req.body as Record<string, unknown>;
    const next = safeNext(body.next);
    const username = typeof body.username === 'string' ? body.username : '';
    try {
      const result = await passwordLogin(deps.passport, req, res);
      res.locals.csrfToken = csrfTokenOf(req);
      if (result.twoFactorRequired) return res.render('login', { step: 'code', error: null, username, next, notice: null });
      res.redirect(303, next);
    } catch (err) {
      if (!isAppError(err) || !err.expected) throw err;
      res.locals.csrfToken = csrfTokenOf(req);
      retryAfter(res, err);
      res.status(err.status).render('login', { step: 'password', error: localizedMessage(err, res.locals.lang as string), username, next, notice: null });
    }
  });

  router.post('/login/2fa', deps.limiter, async (req, res) => {
    assertCsrf(req);
    const body = req.body as Record<string, unknown>;
    const next = safeNext(body.next);
    try {
      await secondFactorLogin(deps.technicians, req, res, typeof body.code === 'string' ? body.code : '');
      res.redirect(303, next);
    } catch (err) {
      if (!isAppError(err) || !err.expected) throw err;
      res.locals.csrfToken = csrfTokenOf(req);
      retryAfter(res, err);
      const step = req.session.pending2fa ? 'code' : 'password';
      res.status(err.status).render('login', { step, error: localizedMessage(err, res.locals.lang as string), username: '', next, notice: null });
    }
  });

  router.post('/logout', async (req, res) => {
    // An OpenID sign-in's logout goes on to the provider's (RP-initiated logout), which sends the browser back to /login.
    const providerLogout = await logout(req);
    res.redirect(303, providerLogout ?? '/login?loggedOut=1');
  });

  if (deps.webhooks) router.use(webhookNotice(deps.webhooks));
  if (deps.participants) router.use(['/queue', '/mine'], invitationLocals(deps.participants));
  // Teams and topics (issue 29): their pages, and the ticket page's move to another team (before the ticket pages).
  if (deps.routing) router.use(routingPages({ tickets: deps.tickets, technicians: deps.technicians, ...deps.routing }));
  if (deps.surveys) router.use(surveyPages({ surveys: deps.surveys, technicians: deps.technicians, tickets: deps.tickets, chat: deps.chat, files: deps.files, cannedReplies: deps.cannedReplies }));
  router.use(ticketPages({ tickets: deps.tickets, technicians: deps.technicians, desktopState: deps.desktopState, chat: deps.chat, files: deps.files }));
  router.use(recordingPages({ recordings: deps.recordings }));
  router.use(teamPages({ technicians: deps.technicians, audit: deps.audit, limiter: deps.limiter }));
  if (deps.participants) router.use(sessionPages({ participants: deps.participants }));
  if (deps.webhooks) router.use(webhookPages({ webhooks: deps.webhooks }));
  router.use(apiDocsPages());
  return router;
}
