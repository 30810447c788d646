// What startServer (server/server.ts) hands back: the running server, as main.ts and the tests use it.
import type { Express } from 'express';
import type { Knex } from 'knex';
import type { Repeater } from '../repeater/repeater.ts';
import type { LegSide } from '../protocol/repeater.ts';
import type { TicketService } from './tickets/service.ts';

export interface RunningServer {
  url: string;
  /** The Express application (the OpenAPI drift test reads its routes: server/openapi/). */
  app: Express;
  db: Knex;
  /** The embedded repeater, or null when the repeater runs as its own process (REPEATER_PUBLIC_URL). */
  repeater: Repeater | null;
  /** Whether a ticket's side has a leg connected, wherever its repeater runs (the same on every server). */
  legState(ticketId: string, side: LegSide): Promise<'waiting' | 'paired' | null>;
  tickets: TicketService;
  firstAdmin: { username: string; generatedPassword: string | null } | null;
  /** Runs expiry and purges now (also runs on a timer); with REDIS_URL only one server per round does it. Says whether it ran. */
  housekeeping(): Promise<boolean>;
  /** METRICS_BIND's port (null: not set). */
  metricsPort: number | null;
  /** One round of the check for requests past their topic's target, now (also on a timer: WAIT_CHECK_MS); returns how many this server marked. */
  checkWaiting(): Promise<number>;
  close(): Promise<void>;
}
