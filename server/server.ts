// Assembles a whole server from a config: database, services, app, repeater
// on the same port, housekeeping; and takes it down in order. main.ts and the
// tests both start the product through this.
import { createServer } from 'node:http';
import { applyRequestDeadlines, handoverDeadline } from './http/request-deadlines.ts';
import { hostname } from 'node:os';
import type { AddressInfo } from 'node:net';
import type { Logger } from '../lib/logger.ts';
import { ConnectionGate } from '../repeater/connection-gate.ts';
import { diskHasRoom } from '../lib/disk-room.ts';
import { Repeater } from '../repeater/repeater.ts';
import type { Config } from './config.ts';
import { systemClock, type Clock } from './clock.ts';
import { openDatabase } from './db/database.ts';
import { EventBus } from './events/event-bus.ts';
import { EventLog } from './events/event-log.ts';
import { createTicketService } from './tickets/service.ts';
import { createTechnicianService } from './technicians/service.ts';
import { sealTotpSecrets } from './technicians/totp-secrets.ts';
import { loadSecretsKeyRing } from './secrets/key-ring.ts';
import { createPasswordHasher } from './technicians/password.ts';
import { createPairingTokenService } from './tokens/service.ts';
import { KnexSessionStore } from './auth/session-store.ts';
import { createLegAuthorizer } from './remote-sessions/repeater-bridge.ts';
import { startRemoteSessions } from './remote-sessions/remote-sessions.ts';
import { createParticipantService } from './participants/service.ts';
import { createParticipantConsent } from './participants/consent.ts';
import { mainChannelOpen, participantStore } from './participants/store.ts';
import { parseChannel } from '../protocol/participants.ts';
import { createRepeaterNodes } from './remote-sessions/repeater-nodes.ts';
import { internalPaths, type LegSide } from '../protocol/repeater.ts';
import { systemActor } from './audit/actor.ts';
import { createApp } from './app.ts';
import { NOVNC_VERSION, refuseUpgrade, storedSessionSecret } from './server-parts.ts';
import type { RunningServer } from './running-server.ts';
import { createIdentityService } from './identity/service.ts';
import { createRecordingService } from './recordings/service.ts';
import { recordingKeyRing } from './recordings/keys.ts';
import { createRecordingHandover } from './recordings/handover.ts';
import { createChatService } from './chat/service.ts';
import { createSurveyService } from './surveys/service.ts';
import { createCannedReplyService } from './canned-replies/service.ts';
import { createAuditService } from './audit/service.ts';
import { createApiTokenService } from './api-tokens/service.ts';
import { createFileService } from './files/service.ts';
import { endAllSse, openSseCount } from './events/sse.ts';
import { startAuditShipping } from './audit/siem/audit-shipping.ts';
import { serverMetricsDoor } from './metrics/serve.ts';
import { BackgroundWork } from './events/background.ts';
import { createWebhookService } from './webhooks/service.ts';
import { startWebhookWorker } from './webhooks/worker.ts';
import { webhookSecrets } from './webhooks/signing.ts';
import { setWebhookLimits } from './webhooks/outbox.ts';
import { createTeamService } from './teams/service.ts';
import { createTopicService } from './topics/service.ts';
import { markWaitingTooLong, startWaitingCheck } from './tickets/waiting.ts';

export type { RunningServer } from './running-server.ts';

export interface StartOptions {
  clock?: Clock;
}

export async function startServer(config: Readonly<Config>, logger: Logger, options: StartOptions = {}): Promise<RunningServer> {
  const clock = options.clock ?? systemClock;
  const log = logger.child({ component: 'server' });
  const secrets = loadSecretsKeyRing(config.secrets, log);
  const db = await openDatabase(config.database);
  // TOTP secrets in plaintext, or sealed with an older key, are sealed with the current key; one the ring cannot open stops the start.
  await sealTotpSecrets(db, secrets.ring, secrets.source, log).catch(async (err: unknown) => {
    await db.destroy();
    throw err;
  });
  // Every audit row this server commits, also as a JSON line to syslog and/or a file (AUDIT_*): server/audit/siem/.
  const auditShipping = startAuditShipping({ db, logger, options: config.observability.audit });
  const bus = config.redisUrl ? await EventBus.withRedis(config.redisUrl, logger) : new EventBus();
  // Events streams must see go through the database's outbox (Redis only wakes the other servers).
  const events = await EventLog.open({ db, bus, clock, logger }, config.sse);
  const technicians = createTechnicianService({
    db,
    clock,
    hasher: createPasswordHasher(config.argon2MemoryKiB),
    login: config.login,
    onRevoked: (event) => bus.publish('technician.revoked', event),
    twoFactor: config.requireTwoFactor,
    localLogin: config.identity.localLogin,
    secrets: secrets.ring,
  });
  const recordings = createRecordingService({
    db,
    clock,
    logger,
    dir: config.repeater.recordingsDir,
    retentionDays: config.recording.retentionDays,
    maxTotalBytes: config.recording.maxTotalBytes,
    keyRing: recordingKeyRing(config.repeater.recordingKey, logger),
  });
  const audit = createAuditService({ db });
  // Webhooks (issue 28): deliveries are queued with the audit rows; this server's worker sends what it can lease.
  setWebhookLimits(db, { maxPending: config.webhooks.maxPending });
  const hookSecrets = webhookSecrets(secrets.ring);
  const webhooks = createWebhookService({ db, clock, options: config.webhooks, secrets: hookSecrets });
  const apiTokens = createApiTokenService({ db, clock, ownerOf: (id) => technicians.get(id), onRevoked: (event) => bus.publish('api-token.revoked', event), localLogin: config.identity.localLogin });
  const tickets = createTicketService({ db, clock, bus, maxActiveTicketsPerTech: config.maxActiveTicketsPerTech, ticketExpiryMs: config.ticketExpiryMs, recordSessions: config.recording.enabled, declineCooldownMs: config.declineCooldownMs, audit, recordings });
  const tokens = createPairingTokenService({ db, clock, ttlMs: config.tokenTtlMs });
  const teams = createTeamService({ db, clock, bus });
  const topics = createTopicService({ db, clock });
  // A disabled account's tickets go back to the queue (its live legs close with ENDED_BY_SERVER).
  // Once per deployment: the server where the account was disabled does it.
  // Work begun by events (rows of repeater events, requeues) is waited for at shutdown.
  const work = new BackgroundWork(logger);
  const unsubscribeRevoked = bus.subscribe(
    'technician.revoked',
    ({ technicianId, reason }) => {
      if (reason !== 'disabled') return;
      work.run(`technician:${technicianId}`, 'requeue of a disabled technician\'s tickets', async () => {
        await tickets.requeueHeldBy(technicianId, systemActor('account-disabled'), 'technician_disabled');
      });
    },
    { localOnly: true },
  );
  const firstAdmin = await technicians.ensureFirstAdmin(config.adminPassword);
  // Company sign-in (OIDC, LDAP): providers are discovered in the background; one that does not answer is refused in words at sign-in.
  const identity = createIdentityService({ db, clock, logger, hasher: createPasswordHasher(config.argon2MemoryKiB), technicians, options: config.identity });
  identity.oidc.warmUp();
  const sessionStore = new KnexSessionStore(db, clock, config.sessionIdleMs);
  const sessionSecret = config.sessionSecret ?? (await storedSessionSecret(db));

  // Express compiles TRUST_PROXY; the viewer's Origin check asks it about X-Forwarded-Proto.
  let trustProxyFn: ((address: string, hop: number) => boolean) | null = null;
  const nodes = config.repeaterLink.secret ? createRepeaterNodes({ db, clock, staleAfterMs: config.repeaterLink.nodeStaleMs }) : null;
  const chat = createChatService({ db, clock, bus });
  const surveys = createSurveyService({ db, clock });
  const cannedReplies = createCannedReplyService({ db, clock });
  const { maxBytesPerTicket, maxBytesPerAddressPerDay, maxTotalBytes } = config.files;
  const budget = { maxBytesPerTicket, maxBytesPerAddressPerDay, maxTotalBytes, minFreeBytes: config.dataMinFreeBytes };
  const files = createFileService({ db, clock, bus, dir: config.files.dir, maxBytes: config.files.maxBytes, budget, retentionDays: config.files.retentionDays });
  const participants = createParticipantService({ db, clock, bus, tickets, maxParticipants: config.maxParticipants, supervisorWatch: config.supervisorWatch });
  const consent = createParticipantConsent({ db, participants, tokens });
  const authorizeLeg = createLegAuthorizer({
    tokens,
    tickets,
    participantOf: (id) => participantStore.byId(db, id),
    mainChannelOpen: async (ticket) => mainChannelOpen(await participantStore.forTicket(db, ticket.id), ticket.technician?.id ?? null),
    recordingMeta: (ticket) => ({ novnc: NOVNC_VERSION, x11vnc: null, viewOnly: ticket.viewOnly, sharedScreen: ticket.sharedScreen }),
    recordingRoom: () => diskHasRoom(config.repeater.recordingsDir, config.dataMinFreeBytes),
    recordingRequired: config.repeater.recordingRequired,
    origins: { publicUrl: config.publicUrl, allowedOrigins: config.allowedOrigins, trustsProxy: (address) => trustProxyFn?.(address, 0) ?? false },
    ...(nodes ? { assignedNode: (id: number) => nodes.assigned(id) } : {}),
  });
  // Every connection (pages, APIs, upgrades) must finish its request in time; a trusted proxy's address counts only to the total.
  const gate = ConnectionGate.fromOptions(config.repeater, (a) => trustProxyFn?.(a, 0) ?? false);
  // Behind a trusted proxy a leg is its client's (X-Forwarded-For), as req.ip is: limits and the audit see the user.
  const trustProxy = (address: string, hop: number): boolean => trustProxyFn?.(address, hop) ?? false;
  const repeater = config.repeaterLink.publicUrl ? null : new Repeater({ authorizeLeg, logger, options: config.repeater, gate, trustProxy });
  // Nodes, sessions and legs as every server sees them: the database (ARCHITECTURE.md, "One truth for nodes and sessions").
  const { lostAfterMs, eventGapMs } = config.repeaterLink;
  const remote = startRemoteSessions({ db, clock, bus, logger, tickets, recordings, work, embedded: repeater, recordingsDir: config.repeater.recordingsDir, nodes: config.repeaterLink.secret ? { lostAfterMs, gapMs: eventGapMs } : null });
  // Recordings handed over by nodes with their own RECORDINGS_DIR; each waits for its ticket's events (its row) to be handled.
  const handover = createRecordingHandover({
    db,
    clock,
    logger,
    dir: config.repeater.recordingsDir,
    maxBytes: config.recording.uploadMaxBytes,
    minFreeBytes: config.dataMinFreeBytes,
    ticketSettled: (ticketId) => new Promise<void>((settled) => work.run(`ticket:${ticketId}`, 'a recording handed over waits for its ticket\'s events', () => Promise.resolve(settled()))),
  });
  const legState = (channel: string, side: LegSide) => {
    const parsed = parseChannel(channel);
    return parsed ? remote.legState(parsed.ticketId, side, parsed.participantId) : Promise.resolve(null);
  };
  // Rows the embedded repeater of a previous life left open (a node's sessions end only when its lease runs out).
  // The embedded repeater's name across restarts: one process at a time listens on a host's port (none with PORT 0).
  await remote.reconcile(config.port ? `${hostname()}:${config.port}` : null);

  // Prometheus metrics (server/metrics/): this port behind METRICS_TOKEN, or METRICS_BIND's listener.
  const metricsDoor = serverMetricsDoor(config.observability.metrics, { db, repeater, sseOpen: () => openSseCount(app), audit: auditShipping });
  const app = createApp({
    metrics: metricsDoor.onMainPort,
    identity,
    config,
    logger,
    db,
    bus,
    tickets,
    technicians,
    tokens,
    sessionStore,
    sessionSecret,
    desktopState: async (ticketId) => remote.legState(ticketId, 'desktop', await participants.holderChannel(ticketId)),
    internalRepeater: nodes && config.repeaterLink.secret ? { secret: config.repeaterLink.secret, authorizeLeg, remote, nodes, handover } : null,
    // External mode: a token points at the ticket's node (least-loaded healthy), else at REPEATER_PUBLIC_URL.
    recordings,
    audit,
    chat,
    files,
    apiTokens,
    participants,
    consent,
    webhooks,
    surveys,
    cannedReplies,
    teams,
    topics,
    repeaterUrlFor: nodes && config.repeaterLink.publicUrl ? async (ticketId: number) => (await nodes.nodeFor(ticketId))?.url ?? null : null,
  });
  trustProxyFn = app.get('trust proxy fn') as (address: string, hop: number) => boolean;
  const httpServer = createServer(app);
  // Node's 300 s request timeout per request, longer for a recording handed over on a slow link (server/http/request-deadlines.ts).
  applyRequestDeadlines(httpServer, { defaultMs: 300_000, longerMs: handoverDeadline(internalPaths.recordings) });
  gate.attach(httpServer);
  if (repeater) repeater.attach(httpServer);
  else httpServer.on('upgrade', refuseUpgrade(config.repeaterLink.publicUrl));
  await new Promise<void>((resolve, reject) => {
    httpServer.once('error', reject);
    httpServer.listen(config.port, config.host, () => resolve());
  });
  const address = httpServer.address() as AddressInfo;
  auditShipping.named(`${hostname()}:${address.port}`);
  const metricsPort = await metricsDoor.listen();
  const shownHost = config.host === '0.0.0.0' || config.host === '::' ? 'localhost' : config.host;
  const url = `http://${shownHost.includes(':') ? `[${shownHost}]` : shownHost}:${address.port}`;

  const webhookWorker = startWebhookWorker({ db, clock, logger, options: config.webhooks, secrets: hookSecrets });

  const housekeepingEveryMs = Math.min(30_000, Math.max(1_000, Math.floor(config.ticketExpiryMs / 4)));
  const housekeeping = async (): Promise<boolean> => {
    // Several servers share one database: one of them does each round.
    if (!(await bus.tryLock('housekeeping', Math.max(500, housekeepingEveryMs - 250)))) return false;
    const expired = await tickets.expireStale(systemActor('expiry'));
    const tokensPurged = await tokens.purgeExpired();
    const sessionsPurged = await sessionStore.purgeExpired();
    const recordingsPurged = await recordings.purge();
    const filesPurged = await files.purge();
    const leftovers = await files.removeLeftovers();
    const eventsTrimmed = await events.trim();
    const deliveriesPurged = await webhooks.purgeOld();
    if (leftovers.reservations || leftovers.parts || leftovers.orphans) log.warn({ ...leftovers }, 'housekeeping removed what a crash left of uploads');
    if (expired || tokensPurged || sessionsPurged || eventsTrimmed || deliveriesPurged) log.info({ expired, tokensPurged, sessionsPurged, recordingsPurged, filesPurged, eventsTrimmed, deliveriesPurged }, 'housekeeping');
    return true;
  };
  const housekeepingTimer = setInterval(() => {
    housekeeping().catch((err: unknown) => log.error({ err }, 'housekeeping failed'));
  }, housekeepingEveryMs);
  housekeepingTimer.unref();
  // Requests past their topic's target wait, marked once for the deployment (issue 29).
  const waitCheck = startWaitingCheck({ db, clock, bus, logger, ...config.waitCheck });

  let closing: Promise<void> | null = null;
  return {
    url,
    metricsPort,
    app,
    db,
    repeater,
    legState,
    tickets,
    firstAdmin,
    housekeeping,
    checkWaiting: () => markWaitingTooLong({ db, clock, bus, batch: config.waitCheck.batch }),
    close: () =>
      (closing ??= (async () => {
        // Order: stop new work; close live legs with SHUTDOWN (their events
        // still reach the database); wait until every event is handled; close
        // HTTP (SSE streams and repeater command streams too); the database.
        clearInterval(housekeepingTimer);
        waitCheck.stop();
        unsubscribeRevoked();
        await repeater?.close('SHUTDOWN');
        await work.idle();
        remote.close();
        await endAllSse(app);
        httpServer.closeAllConnections();
        await new Promise<void>((resolve) => httpServer.close(() => resolve()));
        await webhookWorker.close();
        await events.close();
        await bus.close();
        await metricsDoor.close();
        await auditShipping.close();
        await db.destroy();
      })()),
  };
}
