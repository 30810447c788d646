// Builds the Express application from ready services: security headers,
// bodies, sessions, passport, CSRF, the APIs and the error mapping. Pages
// (admin web, viewer) mount through `pages`.
import express, { Router, type Express } from 'express';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { dirname, join } from 'node:path';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import session from 'express-session';
import helmet from 'helmet';
import type { Knex } from 'knex';
import type { Logger } from '../lib/logger.ts';
import type { Config } from './config.ts';
import { AppError, errorMiddleware, isAppError } from './errors.ts';
import type { EventBus } from './events/event-bus.ts';
import type { TicketService } from './tickets/service.ts';
import type { TechnicianService } from './technicians/service.ts';
import type { PairingTokenService } from './tokens/service.ts';
import type { KnexSessionStore } from './auth/session-store.ts';
import { createPassport } from './auth/passport.ts';
import { csrfProtection } from './auth/csrf.ts';
import { authRoutes, loginLimiter } from './auth/routes.ts';
import type { IdentityService } from './identity/service.ts';
import { identityRoutes } from './identity/routes.ts';
import { adminWebPages, errorPages } from '../admin-web/pages.ts';
import { techViewerPages } from '../tech-viewer/pages.ts';
import { closeCodesJson } from '../tech-viewer/close-codes-json.ts';
import { desktopRoutes } from './tickets/desktop-routes.ts';
import { ticketRoutes } from './tickets/routes.ts';
import { technicianRoutes } from './technicians/routes.ts';
import { auditRoutes } from './audit/routes.ts';
import { eventRoutes } from './events/routes.ts';
import { installSse } from './events/sse.ts';
import { recordingRoutes } from './recordings/routes.ts';
import type { RecordingService } from './recordings/service.ts';
import type { RecordingHandover } from './recordings/handover.ts';
import type { ChatService } from './chat/service.ts';
import type { FileService } from './files/service.ts';
import { createDiskWatch } from './storage/disk-watch.ts';
import { internalRepeaterRoutes } from './remote-sessions/internal-routes.ts';
import type { RemoteSessions } from './remote-sessions/remote-sessions.ts';
import type { RepeaterNodes } from './remote-sessions/repeater-nodes.ts';
import type { AuthorizeLeg } from '../repeater/contract.ts';
import { compileTrustProxy } from '../repeater/client-address.ts';
import type { AuditService } from './audit/service.ts';
import { participantRoutes } from './participants/routes.ts';
import { participantDesktopRoutes } from './participants/desktop-routes.ts';
import type { ParticipantService } from './participants/service.ts';
import type { ParticipantConsent } from './participants/consent.ts';
import type { LegUrlPolicy } from './http/base-url.ts';
import type { ApiTokenService } from './api-tokens/service.ts';
import { bearerAuthentication } from './api-tokens/bearer.ts';
import { apiTokenRoutes } from './api-tokens/routes.ts';
import type { WebhookService } from './webhooks/service.ts';
import { webhookRoutes } from './webhooks/routes.ts';
import type { TeamService } from './teams/service.ts';
import type { TopicService } from './topics/service.ts';
import { teamRoutes } from './teams/routes.ts';
import { publicTopicRoutes, topicRoutes } from './topics/routes.ts';
import { openApiRoutes } from './openapi/routes.ts';
import { exitNoteRoutes, surveyDesktopRoutes } from './surveys/routes.ts';
import { reportRoutes } from './reports/routes.ts';
import { cannedReplyRoutes, ticketCannedReplyRoutes } from './canned-replies/routes.ts';
import type { CannedReplyService } from './canned-replies/service.ts';
import { createReportService } from './reports/service.ts';
import type { SurveyService } from './surveys/service.ts';

export interface AppDeps {
  config: Readonly<Config>;
  /** Company sign-in: OpenID Connect providers, the LDAP directory (the login form's second try). */
  identity: IdentityService;
  logger: Logger;
  db: Knex;
  bus: EventBus;
  tickets: TicketService;
  technicians: TechnicianService;
  tokens: PairingTokenService;
  sessionStore: KnexSessionStore;
  sessionSecret: string;
  desktopState: (ticketId: number) => Promise<'waiting' | 'paired' | null>;
  /** The repeater processes' internal API, when REPEATER_SECRET is set. */
  internalRepeater: { secret: string; authorizeLeg: AuthorizeLeg; remote: RemoteSessions; nodes: RepeaterNodes; handover?: RecordingHandover } | null;
  /** With repeater nodes: the URL of the node carrying a ticket (null: REPEATER_PUBLIC_URL). */
  repeaterUrlFor: ((ticketId: number) => Promise<string | null>) | null;
  recordings: RecordingService;
  audit: AuditService;
  /** Several technicians on one session (issue 26): the technicians' side and the user's consent. */
  participants: ParticipantService;
  consent: ParticipantConsent;
  chat: ChatService;
  files: FileService;
  /** API tokens (Authorization: Bearer hd_… on the staff API). */
  apiTokens: ApiTokenService;
  /** GET /metrics on this port (METRICS_TOKEN set, no METRICS_BIND): server/metrics/. */
  metrics?: ((req: IncomingMessage, res: ServerResponse) => void) | null;
  /** Webhooks (issue 28): administrators' endpoints and their delivery logs. */
  webhooks?: WebhookService;
  /** Teams and topics (issue 29): routing of requests, the desktop's list of topics. */
  teams: TeamService;
  topics: TopicService;
  /** Satisfaction (issue 29): the user's answer after a session, the technician's exit note. */
  surveys: SurveyService;
  /** Canned replies per team (issue 29). */
  cannedReplies: CannedReplyService;
}

export function createApp(deps: AppDeps): Express {
  const { config } = deps;
  const legUrls: LegUrlPolicy = { publicUrl: config.publicUrl, repeaterUrl: config.repeaterLink.publicUrl, repeaterUrlFor: deps.repeaterUrlFor };
  const app = express();
  app.disable('x-powered-by');
  installSse(app, config.sse);
  app.set('view engine', 'ejs');
  app.set('views', [join(root, 'admin-web', 'views'), join(root, 'tech-viewer', 'views')]);
  // TRUST_PROXY, compiled by the rule the repeater uses too (repeater/client-address.ts).
  app.set('trust proxy', compileTrustProxy(config.trustProxy));
  app.use(
    helmet({
      contentSecurityPolicy: {
        useDefaults: true,
        directives: {
          'script-src': ["'self'"],
          'style-src': ["'self'"],
          'img-src': ["'self'", 'data:'],
          'connect-src': ["'self'", 'ws:', 'wss:'],
          'upgrade-insecure-requests': null,
          // Logging out of an OpenID sign-in posts the form, then goes on to the provider's logout (RP-initiated).
          'form-action': ["'self'", ...config.identity.oidc.providers.map((p) => new URL(p.issuer).origin)],
        },
      },
      strictTransportSecurity: config.cookieSecure === true,
    }),
  );

  app.get('/healthz', async (_req, res) => {
    try {
      await deps.db.raw('select 1');
      res.json({ status: 'ok' });
    } catch (err) {
      deps.logger.error({ err }, 'health check failed');
      res.status(503).json({ error: { code: 'DATABASE_UNAVAILABLE', message: 'The database does not answer' } });
    }
  });

  // Prometheus: Bearer METRICS_TOKEN, before sessions and bodies (a scrape makes no session).
  const metrics = deps.metrics;
  if (metrics) app.get('/metrics', (req, res) => metrics(req, res));

  if (deps.internalRepeater) {
    // Mounted case-sensitively: the public nginx site refuses `location /internal/` in that case only, and Express
    // would otherwise take /INTERNAL/… too (a 404 here, like any path that is not ours).
    const internal = Router({ caseSensitive: true });
    internal.use('/internal/v1/repeater', internalRepeaterRoutes({ ...deps.internalRepeater, version: PRODUCT_VERSION }));
    app.use(internal);
  }

  // Every asset is served by the product itself: no CDN.
  const staticOptions = { index: false, fallthrough: true, maxAge: '1h' };
  app.use('/assets', express.static(join(root, 'admin-web', 'public'), staticOptions));
  app.use('/tech-assets', express.static(join(root, 'tech-viewer', 'public'), staticOptions));
  app.get('/tech-assets/close-codes.json', (_req, res) => res.json(closeCodesJson()));
  // Only noVNC's ES modules (core/ and vendor/, .js): not its package.json, docs or licences' folders.
  const novncModules = express.static(novncRoot, staticOptions);
  app.use('/vendor/novnc', (req, res, next) => (/^\/(core|vendor)\/[\w./-]+\.js$/.test(req.path) ? novncModules(req, res, next) : next()));
  // The statistics page's chart library (uPlot), as published.
  app.use('/vendor/uplot', express.static(uplotRoot, staticOptions));

  app.use(express.json({ limit: '64kb' }));
  app.use(express.urlencoded({ extended: false, limit: '64kb' }));
  // A body in any other type (text/plain, multipart, none named) is refused in words; no body is an empty one.
  app.use((req, _res, next) => {
    if (req.body !== undefined || req.method === 'GET' || req.method === 'HEAD' || req.method === 'OPTIONS') return next();
    // A ticket file is uploaded as its raw bytes, streamed to disk by its route.
    if (req.method === 'POST' && /\/files$/.test(req.path) && req.is('application/octet-stream')) return next();
    const hasBody = Number(req.headers['content-length'] ?? 0) > 0 || req.headers['transfer-encoding'] !== undefined;
    if (hasBody) {
      return next(new AppError('UNSUPPORTED_BODY', `Send this request as application/json or application/x-www-form-urlencoded (got ${req.get('content-type') ?? 'no Content-Type'})`));
    }
    req.body = {};
    next();
  });

  // The desktop API authenticates by bearer secret: no cookies, no CSRF.
  app.use('/api/v1/topics', publicTopicRoutes({ topics: deps.topics, clientKey: config.clientKey, ratePerMinute: config.topicsRatePerMinute, redis: deps.bus.redis }));
  app.use('/api/v1/help-requests', surveyDesktopRoutes({ surveys: deps.surveys, tickets: deps.tickets }));
  app.use(
    '/api/v1/help-requests',
    desktopRoutes({
      participantRoutes: participantDesktopRoutes({ consent: deps.consent, legUrls }),
      tickets: deps.tickets,
      tokens: deps.tokens,
      bus: deps.bus,
      clientKey: config.clientKey,
      legUrls,
      createRatePerMinute: config.ticketCreateRatePerMinute,
      desktopState: deps.desktopState,
      redis: deps.bus.redis,
      chat: deps.chat,
      messageRatePerMinute: config.messageRatePerMinute,
      files: deps.files,
      uploadRatePerMinute: config.files.uploadRatePerMinute,
    }),
  );

  const passport = createPassport(deps.technicians, deps.identity.passwordSignIn);
  app.use(
    session({
      name: 'hd.sid',
      secret: deps.sessionSecret,
      store: deps.sessionStore,
      resave: false,
      saveUninitialized: false,
      rolling: true,
      cookie: {
        httpOnly: true,
        sameSite: 'lax',
        secure: config.cookieSecure,
        maxAge: config.sessionIdleMs,
      },
    }),
  );
  app.use(passport.session());
  app.use(csrfProtection());
  // Authorization: Bearer hd_… on the staff API: the token's owner, scopes checked by the guards, no CSRF.
  app.use('/api/v1', bearerAuthentication({ tokens: deps.apiTokens, ratePerMinute: config.apiTokenRatePerMinute, redis: deps.bus.redis }));
  app.use('/api/v1/tokens', apiTokenRoutes({ tokens: deps.apiTokens }));
  // The API's description (OpenAPI 3.1), public: server/openapi/.
  app.use('/api/v1', openApiRoutes({ version: PRODUCT_VERSION }));

  const limiter = loginLimiter(config.login.ratePerMinute, deps.bus.redis);
  app.use('/auth/oidc', identityRoutes({ identity: deps.identity, publicUrl: config.publicUrl, limiter, autoCreate: config.identity.oidc.autoCreate }));
  app.use('/auth', authRoutes({ passport, limiter, technicians: deps.technicians }));
  app.use('/api/v1', technicianRoutes({ technicians: deps.technicians, limiter }));
  app.use('/api/v1/recordings', recordingRoutes({ recordings: deps.recordings }));
  app.use('/api/v1', participantRoutes({ participants: deps.participants }));
  app.use('/api/v1/tickets', ticketRoutes({ viewerChannel: (ticket, me) => deps.participants.viewerChannel(ticket, me), chat: deps.chat, messageRatePerMinute: config.messageRatePerMinute, files: deps.files, uploadRatePerMinute: config.files.uploadRatePerMinute, redis: deps.bus.redis, tickets: deps.tickets, tokens: deps.tokens, legUrls, desktopState: deps.desktopState }));
  app.use('/api/v1/tickets', exitNoteRoutes({ surveys: deps.surveys }));
  app.use('/api/v1/tickets', ticketCannedReplyRoutes({ cannedReplies: deps.cannedReplies, tickets: deps.tickets }));
  app.use('/api/v1/canned-replies', cannedReplyRoutes({ cannedReplies: deps.cannedReplies }));
  app.use('/api/v1/tickets', reportRoutes({ reports: createReportService({ tickets: deps.tickets, chat: deps.chat, files: deps.files, surveys: deps.surveys, now: Date.now }) }));
  app.use('/api/v1/audit', auditRoutes({ audit: deps.audit }));
  if (deps.webhooks) app.use('/api/v1/webhooks', webhookRoutes({ webhooks: deps.webhooks }));
  app.use('/api/v1/teams', teamRoutes({ teams: deps.teams }));
  app.use('/api/v1/topics', topicRoutes({ topics: deps.topics }));
  app.use(
    '/api/v1/events',
    eventRoutes({
      bus: deps.bus,
      tickets: deps.tickets,
      participatingIn: (technicianId) => deps.participants.participatingIn(technicianId),
      // A stream lives only while its web session does and the account is active.
      stillAllowed: async (technicianId, credential) => {
        if ('apiTokenId' in credential) return deps.apiTokens.stillAllowed(credential.apiTokenId, 'tickets:read');
        const { sessionId } = credential;
        const [technician, session] = await Promise.all([
          deps.technicians.get(technicianId).catch((err: unknown) => {
            if (isAppError(err) && err.code === 'TECHNICIAN_NOT_FOUND') return null; // deleted: not allowed
            throw err;
          }),
          new Promise((resolve) => deps.sessionStore.get(sessionId, (_err, sess) => resolve(sess ?? null))),
        ]);
        return Boolean(technician?.active && session);
      },
    }),
  );
  const disks = createDiskWatch({ dirs: { files: config.files.dir, recordings: config.repeater.recordingsDir }, minFreeBytes: config.dataMinFreeBytes });
  app.use(adminWebPages({ signIn: deps.identity.oidc, passport, limiter, tickets: deps.tickets, technicians: deps.technicians, audit: deps.audit, desktopState: deps.desktopState, recordings: deps.recordings, chat: deps.chat, files: deps.files, disks, participants: deps.participants, webhooks: deps.webhooks, routing: { teams: deps.teams, topics: deps.topics }, surveys: deps.surveys, cannedReplies: deps.cannedReplies }));
  app.use(techViewerPages({ tickets: deps.tickets, chat: deps.chat, participants: deps.participants, files: deps.files }));

  app.use((req, _res, next) => next(new AppError('NOT_FOUND', `Nothing at ${req.method} ${req.path}`)));
  app.use(errorMiddleware(deps.logger, errorPages));
  return app;
}

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const PRODUCT_VERSION = (JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { version: string }).version;
// noVNC's ES modules (core/ and vendor/) are served as they are published.
const novncRoot = join(dirname(fileURLToPath(import.meta.resolve('@novnc/novnc'))), '..');
const uplotRoot = dirname(fileURLToPath(import.meta.resolve('uplot')));
