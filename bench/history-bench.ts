// History benchmark (not a test): seeds 100,000 tickets into a fresh database
// and times the admin web's history searches (fields, words in the problem),
// the queue, the dashboard and the statistics page, on SQLite and on MariaDB
// (a private mariadbd started here, or BENCH_MYSQL_URL=mysql://…/db, empty).
// The statistics are checked against a plain recount of the same rows.
// Prints readable figures, then one JSON line per engine.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openDatabase } from '../server/db/database.ts';
import { ticketStore, dashboardFigures } from '../server/tickets/store.ts';
import { historyQuerySchema } from '../server/tickets/schema.ts';
import { ticketStatuses } from '../server/tickets/state-machine.ts';
import { percentile, ticketStats } from '../server/tickets/stats.ts';
import { startMariaDb } from '../test/mariadb.ts';
import knexFactory, { type Knex } from 'knex';

const TICKETS = 100_000;
const TECHNICIANS = 20;
const RUNS = 15;

type Database = { client: 'sqlite'; filename: string } | { client: 'mysql'; url: string };

async function run(database: Database): Promise<void> {
const db = await openDatabase(database);

const started = performance.now();
const now = Date.now();
const techIds: number[] = [];
for (let i = 0; i < TECHNICIANS; i++) {
  const [id] = await db('technicians').insert({
    username: `tech${i}`, display_name: `Tech ${i}`, email: '', role: 'technician', active: true, password_hash: 'x',
    failed_logins: 0, locked_until: null, last_login_at: null, password_changed_at: now, created_at: now, updated_at: now,
  });
  techIds.push(Number(id));
}
const names = ['Ana', 'Bob', 'Carla', 'Dan', 'Eve', 'Femi', 'Gus', 'Hana', 'Ivo', 'Jun'];
const problems = ['Printer does not print', 'VPN drops every hour', 'Outlook asks for the password again', 'The printer prints blank pages', 'Screen flickers after the update', 'Cannot reach the shared drive'];
let seed = 42;
// MINSTD: the products stay exact in a double (the earlier LCG overflowed 2^53 and degenerated).
const rand = (n: number) => ((seed = (seed * 48271) % 2147483647), seed % n);
const batch: Record<string, unknown>[] = [];
for (let i = 0; i < TICKETS; i++) {
  const created = now - (TICKETS - i) * 30_000;
  const status = ticketStatuses[rand(ticketStatuses.length)]!;
  batch.push({
    status, requester_name: `${names[rand(names.length)]} ${rand(5000)}`, username: `u${rand(5000)}`, hostname: `host-${rand(20000)}`,
    os: 'Linux', description: `${problems[rand(problems.length)]} (case ${i})`, client_secret_hash: 'x'.repeat(64), requester_address: '10.0.0.1',
    technician_id: status === 'requested' ? null : techIds[rand(TECHNICIANS)], view_only: false, resolution: null, end_reason: null,
    created_at: created, updated_at: created + 60_000, accepted_at: status === 'requested' || status === 'expired' ? null : created + rand(30 * 60_000),
    approved_at: null, started_at: null, ended_at: null,
    resolved_at: status === 'resolved' ? created + 60_000 * (5 + rand(240)) : null,
  });
  if (batch.length === 500) await db.batchInsert('tickets', batch.splice(0), 500);
}
if (batch.length) await db.batchInsert('tickets', batch.splice(0), 500);
console.log(`${database.client}: seeded ${TICKETS} tickets in ${((performance.now() - started) / 1000).toFixed(1)} s`);

async function time(label: string, work: () => Promise<unknown>): Promise<number> {
  const samples: number[] = [];
  for (let i = 0; i < RUNS; i++) {
    const t0 = performance.now();
    await work();
    samples.push(performance.now() - t0);
  }
  samples.sort((a, b) => a - b);
  const median = samples[samples.length >> 1]!;
  console.log(`${label.padEnd(44)} median ${median.toFixed(2)} ms, max ${samples.at(-1)!.toFixed(2)} ms`);
  return median;
}

const q = (query: Record<string, unknown>) => historyQuerySchema.parse(query);
const figures = {
  historyFirstPageMs: await time('history, newest first, page 1', () => ticketStore.history(db, q({}))),
  historyDeepPageMs: await time('history, page 1000 of 50', () => ticketStore.history(db, q({ page: 1000 }))),
  historyRequesterMs: await time('history, requester prefix "Carla 12"', () => ticketStore.history(db, q({ requester: 'Carla 12' }))),
  historyHostMs: await time('history, hostname prefix "host-1999"', () => ticketStore.history(db, q({ hostname: 'host-1999' }))),
  historyTechStatusMs: await time('history, technician + status', () => ticketStore.history(db, q({ technicianId: techIds[3], status: 'resolved' }))),
  historyTechnicianViewMs: await time('history as a technician (own tickets)', () => ticketStore.history(db, q({}), techIds[5])),
  queueMs: await time('queue (requested, oldest first)', () => ticketStore.listByStatus(db, ['requested'])),
  dashboardMs: await time('dashboard strip', () => dashboardFigures(db, now - 86_400_000)),
  historyWordMs: await time('history, word in the problem "printer"', () => ticketStore.history(db, q({ text: 'printer' }))),
  historyTwoWordsMs: await time('history, words "printer blank"', () => ticketStore.history(db, q({ text: 'printer blank' }))),
  historyWordAndDatesMs: await time('history, word + a 7-day date range', () => ticketStore.history(db, q({ text: 'vpn', from: now - 14 * 86_400_000, to: now - 7 * 86_400_000 }))),
  stats30DaysMs: await time('statistics page, last 30 days', () => ticketStats(db, now, 30)),
  stats365DaysMs: await time('statistics page, last 365 days (every ticket)', () => ticketStats(db, now, 365)),
};
const checked = await checkStats(db, now);
await db.destroy();
console.log(JSON.stringify({ engine: database.client, tickets: TICKETS, statsChecked: checked, ...Object.fromEntries(Object.entries(figures).map(([k, v]) => [k, Number(v.toFixed(2))])) }));
}

/** The statistics against a plain recount of every row: totals, and the overall median and 90th percentile of the wait. */
async function checkStats(db: Knex, now: number): Promise<boolean> {
  const stats = await ticketStats(db, now, 365);
  const rows = (await db('tickets').where('created_at', '>=', stats.from).where('created_at', '<', stats.to).select('created_at', 'accepted_at', 'technician_id')) as { created_at: number; accepted_at: number | null; technician_id: number | null }[];
  const total = stats.requests.reduce((a, b) => a + b, 0);
  const perTech = stats.byTechnician.reduce((a, b) => a + b.requests, 0);
  const withTech = rows.filter((r) => r.technician_id !== null).length;
  // One day's wait figures, recomputed from its rows.
  const dayIndex = stats.days.length - 3;
  const dayStart = stats.from + dayIndex * 86_400_000;
  const waits = rows
    .filter((r) => Number(r.created_at) >= dayStart && Number(r.created_at) < dayStart + 86_400_000 && r.accepted_at !== null)
    .map((r) => Number(r.accepted_at) - Number(r.created_at))
    .sort((a, b) => a - b);
  const asMinutes = (v: number | null) => (v === null ? null : Math.round((v / 60_000) * 10) / 10);
  const ok = total === rows.length && total === TICKETS && perTech === withTech && stats.wait[dayIndex]!.median === asMinutes(percentile(waits, 50)) && stats.wait[dayIndex]!.p90 === asMinutes(percentile(waits, 90));
  console.log(`statistics checked against a recount: ${ok ? 'ok' : 'MISMATCH'} (${total} requests, ${perTech} held, day ${stats.days[dayIndex]} wait median ${stats.wait[dayIndex]!.median} min)`);
  return ok;
}

await run({ client: 'sqlite', filename: join(mkdtempSync(join(tmpdir(), 'helpdesk-bench-')), 'bench.sqlite') });
if (process.env.BENCH_MYSQL_URL) {
  await run({ client: 'mysql', url: process.env.BENCH_MYSQL_URL });
} else {
  const mariadb = await startMariaDb().catch((err: Error) => {
    console.log(`MariaDB not run: ${err.message}`);
    return null;
  });
  if (mariadb) {
    try {
      const admin = knexFactory({ client: 'mysql2', connection: mariadb.url });
      await admin.raw('CREATE DATABASE helpdesk_bench CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci');
      await admin.destroy();
      await run({ client: 'mysql', url: `${mariadb.url}/helpdesk_bench` });
    } finally {
      await mariadb.destroy();
    }
  }
}
