// The server's Prometheus metrics: its embedded repeater's (repeater/metrics.ts),
// the counts read from the database (db-gauges.ts, deployment-wide), and this
// process's own: queue waits and login failures heard from the audit rows it
// commits, live event streams, audit lines shipped or dropped, the database
// pool. Served at /metrics behind METRICS_TOKEN or on METRICS_BIND.
import type { Knex } from 'knex';
import { Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { Repeater } from '../../repeater/repeater.ts';
import { addRepeaterMetrics, metricsText } from '../../repeater/metrics.ts';
import type { AuditShipping } from '../audit/siem/audit-shipping.ts';
import { DbGauges, type DbCounts } from './db-gauges.ts';

export interface ServerMetricsDeps {
  db: Knex;
  /** The embedded repeater (null: the repeater runs as its own process, which has its own /metrics). */
  repeater: Repeater | null;
  /** Live event streams (SSE) open on this server now. */
  sseOpen: () => number;
  audit: AuditShipping;
  /** METRICS_DB_CACHE_MS: how long counts read from the database are shown before they are read again. */
  cacheMs: number;
}

export type ServerMetrics = ReturnType<typeof createServerMetrics>;

const DEPLOYMENT = '(deployment-wide: read from the database, the same on every server; cached briefly)';
/** Login failure reasons are the code's own words; anything else (or past this many) is "other". */
const MAX_REASONS = 32;

export function createServerMetrics({ db, repeater, sseOpen, audit, cacheMs }: ServerMetricsDeps) {
  const registry = new Registry();
  if (repeater) addRepeaterMetrics(registry, repeater);
  const gauges = new DbGauges(db, cacheMs);
  const fromDb = (name: string, help: string, label: string, pick: (c: DbCounts) => Record<string, number> | null) =>
    new Gauge({
      name,
      help: `${help} ${DEPLOYMENT}`,
      labelNames: [label],
      registers: [registry],
      async collect() {
        const read = await gauges.counts();
        const counts = read ? pick(read.counts) : null;
        this.reset();
        for (const [value, n] of Object.entries(counts ?? {})) this.set({ [label]: value }, n);
      },
    });
  fromDb('helpdesk_tickets', 'Tickets by status', 'status', (c) => c.tickets);
  fromDb('helpdesk_recordings', 'Session recordings by state (recording, complete, incomplete, dropped, failed, purged)', 'state', (c) => c.recordings);
  fromDb('helpdesk_webhook_deliveries', 'Webhook deliveries by state (absent until the webhooks\' table exists)', 'state', (c) => c.webhookDeliveries);
  new Gauge({
    name: 'helpdesk_metrics_db_age_seconds',
    help: 'Age of the database counts this scrape shows (grows while the database does not answer)',
    registers: [registry],
    async collect() {
      const read = await gauges.counts();
      this.set(read ? read.ageMs / 1000 : -1);
    },
  });
  new Counter({
    name: 'helpdesk_metrics_db_read_failures_total',
    help: 'Reads of the database counts for /metrics that failed (this process)',
    registers: [registry],
    collect() {
      this.reset();
      this.inc(gauges.failures);
    },
  });

  const queueWait = new Histogram({
    name: 'helpdesk_queue_wait_seconds',
    help: 'From a help request to its acceptance by a technician, observed at each accept this server committed (a request declined and accepted again counts from its creation)',
    buckets: [5, 15, 30, 60, 120, 300, 600, 1_800, 3_600, 4 * 3_600],
    registers: [registry],
  });
  const loginFailures = new Counter({
    name: 'helpdesk_login_failures_total',
    help: 'Failed logins this server refused, by reason (wrong_password, unknown_user, locked, disabled…)',
    labelNames: ['reason'],
    registers: [registry],
  });
  const loginLocks = new Counter({ name: 'helpdesk_login_locks_total', help: 'Accounts locked after too many failed logins, by this server', registers: [registry] });
  const reasons = new Set<string>();
  const reasonLabel = (value: unknown): string => {
    const reason = typeof value === 'string' && /^[a-z0-9_]{1,32}$/.test(value) ? value : 'other';
    if (reasons.has(reason) || reasons.size < MAX_REASONS) {
      reasons.add(reason);
      return reason;
    }
    return 'other';
  };
  audit.listen((e, ticket) => {
    if (e.action === 'login.failed' || e.action === 'login.locked') loginFailures.inc({ reason: reasonLabel(e.detail?.reason) });
    if (e.action === 'login.locked') loginLocks.inc();
    if (e.action === 'ticket.accept' && ticket) queueWait.observe(Math.max(0, e.at - ticket.createdAt) / 1000);
  });

  new Gauge({ name: 'helpdesk_sse_clients', help: 'Live event streams (SSE: pages, desktop clients, integrations) open on this server', registers: [registry], collect() { this.set(sseOpen()); } });
  const perSink = (name: string, help: string, pick: 'sent' | 'dropped' | 'queued', kind: 'counter' | 'gauge') => {
    const collect = function (this: Counter | Gauge) {
      this.reset();
      for (const s of audit.stats()) {
        if (this instanceof Counter) this.inc({ sink: s.sink }, s[pick]);
        else this.set({ sink: s.sink }, s[pick]);
      }
    };
    if (kind === 'counter') new Counter({ name, help, labelNames: ['sink'], registers: [registry], collect });
    else new Gauge({ name, help, labelNames: ['sink'], registers: [registry], collect });
  };
  perSink('helpdesk_audit_lines_sent_total', 'Audit lines this server handed to the SIEM, by sink (syslog, file)', 'sent', 'counter');
  perSink('helpdesk_audit_lines_dropped_total', 'Audit lines dropped because a sink\'s queue was full (the database keeps every row), by sink', 'dropped', 'counter');
  perSink('helpdesk_audit_queue_lines', 'Audit lines waiting for a sink now', 'queued', 'gauge');

  type Pool = { numUsed(): number; numFree(): number; numPendingAcquires(): number; numPendingCreates(): number };
  new Gauge({
    name: 'helpdesk_db_pool_connections',
    help: 'This server\'s database connection pool (knex/tarn): connections used, free, and requests waiting for one (pending_acquires) or being opened (pending_creates)',
    labelNames: ['state'],
    registers: [registry],
    collect() {
      const pool = (db.client as { pool?: Pool }).pool;
      if (!pool) return;
      this.set({ state: 'used' }, pool.numUsed());
      this.set({ state: 'free' }, pool.numFree());
      this.set({ state: 'pending_acquires' }, pool.numPendingAcquires());
      this.set({ state: 'pending_creates' }, pool.numPendingCreates());
    },
  });

  return {
    registry,
    /** Database reads made for /metrics (tests: a storm of scrapes reads once per cache period). */
    get dbReads(): number {
      return gauges.reads;
    },
    text: (): Promise<string> => metricsText([registry]),
  };
}
