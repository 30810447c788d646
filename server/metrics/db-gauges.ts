// The metrics counted from the database at scrape time: tickets by status,
// recordings by state, webhook deliveries by state (when migration 025's table
// is there). Deployment-wide — every server reads the same rows. Kept for
// cacheMs, read by one query set at a time whoever scrapes, and a scrape waits
// at most READ_WAIT_MS for it: a storm of scrapes (or a slow database) costs
// the database one read per period, and a scrape is answered with the last
// values and their age.
import type { Knex } from 'knex';
import { ticketStatuses } from '../../protocol/tickets.ts';

export interface DbCounts {
  tickets: Record<string, number>;
  recordings: Record<string, number>;
  /** null: the webhook deliveries' table does not exist (yet). */
  webhookDeliveries: Record<string, number> | null;
}

/** How long a scrape waits for a read in progress before answering with the values it has. */
export const READ_WAIT_MS = 2_000;

async function countBy(db: Knex, table: string, column: string): Promise<Record<string, number>> {
  const rows = (await db(table).select(column).count({ n: '*' }).groupBy(column)) as Record<string, unknown>[];
  return Object.fromEntries(rows.map((r) => [String(r[column]), Number(r.n)]));
}

export class DbGauges {
  readonly #db: Knex;
  readonly #cacheMs: number;
  #counts: DbCounts | null = null;
  #readAt = 0;
  #reading: Promise<void> | null = null;
  #hasWebhooks = false;
  /** Reads begun (tests count them), and those that failed. */
  reads = 0;
  failures = 0;
  lastError: string | null = null;

  constructor(db: Knex, cacheMs: number) {
    this.#db = db;
    this.#cacheMs = cacheMs;
  }

  /** The counts (fresh within cacheMs, else read now — waited for READ_WAIT_MS at most) and their age; null before any read succeeded. */
  async counts(now = Date.now()): Promise<{ counts: DbCounts; ageMs: number } | null> {
    if (!this.#counts || now - this.#readAt >= this.#cacheMs) {
      this.#reading ??= this.#read().finally(() => {
        this.#reading = null;
      });
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([this.#reading, new Promise<void>((resolve) => (timer = setTimeout(resolve, READ_WAIT_MS)))]);
      clearTimeout(timer);
    }
    return this.#counts ? { counts: this.#counts, ageMs: Math.max(0, Date.now() - this.#readAt) } : null;
  }

  async #read(): Promise<void> {
    this.reads += 1;
    try {
      const db = this.#db;
      const tickets = Object.fromEntries(ticketStatuses.map((s) => [s, 0]));
      Object.assign(tickets, await countBy(db, 'tickets', 'status'));
      const recordings = await countBy(db, 'recordings', 'state');
      // Migration 025 (webhooks) may not be applied on this database yet: looked for until found.
      this.#hasWebhooks ||= await db.schema.hasTable('webhook_deliveries');
      const webhookDeliveries = this.#hasWebhooks ? await countBy(db, 'webhook_deliveries', 'state') : null;
      this.#counts = { tickets, recordings, webhookDeliveries };
      this.#readAt = Date.now();
    } catch (err) {
      // The scrape shows the last values, their age and this count; the error is kept for the log.
      this.failures += 1;
      this.lastError = (err as Error).message;
    }
  }
}
