// Assembles a whole server from a config: database, services, app, repeater
// on the same port, housekeeping; and takes it down in order. main.ts and the
// tests both start the product through this.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { randomBytes } from 'node:crypto';
import type { Knex } from 'knex';
import type { Logger } from '../lib/logger.ts';
import { Repeater } from '../repeater/repeater.ts';
import type { Config } from './config.ts';
import { systemClock, type Clock } from './clock.ts';
import { openDatabase } from './db/database.ts';
import { EventBus } from './events/event-bus.ts';
import { createTicketService, type TicketService } from './tickets/service.ts';
import { createTechnicianService, type TechnicianService } from './technicians/service.ts';
import { createPasswordHasher } from './technicians/password.ts';
import { createPairingTokenService, type PairingTokenService } from './tokens/service.ts';
import { KnexSessionStore } from './auth/session-store.ts';
import { bridgeRepeaterEvents, createLegAuthorizer } from './sessions/repeater-bridge.ts';
import { systemActor } from './audit/actor.ts';
import { createApp } from './app.ts';

export interface RunningServer {
  url: string;
  httpServer: Server;
  db: Knex;
  bus: EventBus;
  repeater: Repeater;
  tickets: TicketService;
  technicians: TechnicianService;
  tokens: PairingTokenService;
  firstAdmin: { username: string; generatedPassword: string | null } | null;
  /** Runs expiry and purges now (also runs on a timer). */
  housekeeping(): Promise<void>;
  close(): Promise<void>;
}

export interface StartOptions {
  clock?: Clock;
}

export async function startServer(config: Readonly<Config>, logger: Logger, options: StartOptions = {}): Promise<RunningServer> {
  const clock = options.clock ?? systemClock;
  const log = logger.child({ component: 'server' });
  const db = await openDatabase(config.database);
  const bus = new EventBus();
  const technicians = createTechnicianService({
    db,
    clock,
    hasher: createPasswordHasher(config.argon2MemoryKiB),
    login: { maxFailures: config.login.maxFailures, lockoutMs: config.login.lockoutMs },
  });
  const tickets = createTicketService({ db, clock, bus, maxActiveTicketsPerTech: config.maxActiveTicketsPerTech, ticketExpiryMs: config.ticketExpiryMs });
  const tokens = createPairingTokenService({ db, clock, ttlMs: config.tokenTtlMs });
  const firstAdmin = await technicians.ensureFirstAdmin(config.adminPassword);
  const sessionStore = new KnexSessionStore(db, clock, config.sessionIdleMs);
  const sessionSecret = config.sessionSecret ?? (await storedSessionSecret(db));

  const repeater = new Repeater({
    authorizeLeg: createLegAuthorizer({ tokens, tickets, origins: { publicUrl: config.publicUrl, allowedOrigins: config.allowedOrigins } }),
    logger,
    options: config.repeater,
  });
  const unbridge = bridgeRepeaterEvents({ repeater, tickets, bus, db, clock, logger });

  const app = createApp({
    config,
    logger,
    db,
    bus,
    tickets,
    technicians,
    tokens,
    sessionStore,
    sessionSecret,
    desktopState: (ticketId) => repeater.legState(String(ticketId), 'desktop'),
  });
  const httpServer = createServer(app);
  repeater.attach(httpServer);
  await new Promise<void>((resolve, reject) => {
    httpServer.once('error', reject);
    httpServer.listen(config.port, config.host, () => resolve());
  });
  const address = httpServer.address() as AddressInfo;
  const shownHost = config.host === '0.0.0.0' || config.host === '::' ? 'localhost' : config.host;
  const url = `http://${shownHost.includes(':') ? `[${shownHost}]` : shownHost}:${address.port}`;

  const housekeeping = async (): Promise<void> => {
    const expired = await tickets.expireStale(systemActor('expiry'));
    const tokensPurged = await tokens.purgeExpired();
    const sessionsPurged = await sessionStore.purgeExpired();
    if (expired || tokensPurged || sessionsPurged) log.info({ expired, tokensPurged, sessionsPurged }, 'housekeeping');
  };
  const housekeepingTimer = setInterval(() => {
    housekeeping().catch((err: unknown) => log.error({ err }, 'housekeeping failed'));
  }, Math.min(30_000, Math.max(1_000, Math.floor(config.ticketExpiryMs / 4))));
  housekeepingTimer.unref();

  let closing: Promise<void> | null = null;
  return {
    url,
    httpServer,
    db,
    bus,
    repeater,
    tickets,
    technicians,
    tokens,
    firstAdmin,
    housekeeping,
    close: () =>
      (closing ??= (async () => {
        // Order: stop new work, close live legs (their events still reach the
        // database), close HTTP (SSE streams too), then the database.
        clearInterval(housekeepingTimer);
        await repeater.close();
        await new Promise((r) => setTimeout(r, 50));
        unbridge();
        httpServer.closeAllConnections();
        await new Promise<void>((resolve) => httpServer.close(() => resolve()));
        await db.destroy();
      })()),
  };
}

async function storedSessionSecret(db: Knex): Promise<string> {
  const row = await db('settings').where({ name: 'session_secret' }).first();
  if (row) return String(row.value);
  const secret = randomBytes(48).toString('base64url');
  await db('settings').insert({ name: 'session_secret', value: secret }).onConflict('name').ignore();
  return String((await db('settings').where({ name: 'session_secret' }).first()).value);
}
