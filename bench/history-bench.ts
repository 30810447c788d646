// History benchmark (not a test): seeds 100,000 tickets into a fresh database
// and times the admin web's history searches, the queue and the dashboard.
// SQLite by default; BENCH_MYSQL_URL=mysql://user:pass@127.0.0.1:port/db runs
// it on MariaDB (the database must exist and be empty). Prints readable
// figures, then one JSON line.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openDatabase } from '../server/db/database.ts';
import { ticketStore, dashboardFigures } from '../server/tickets/store.ts';
import { historyQuerySchema } from '../server/tickets/schema.ts';
import { ticketStatuses } from '../server/tickets/state-machine.ts';

const TICKETS = 100_000;
const TECHNICIANS = 20;
const RUNS = 15;

const database = process.env.BENCH_MYSQL_URL
  ? { client: 'mysql' as const, url: process.env.BENCH_MYSQL_URL }
  : { client: 'sqlite' as const, filename: join(mkdtempSync(join(tmpdir(), 'helpdesk-bench-')), 'bench.sqlite') };
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
let seed = 42;
const rand = (n: number) => ((seed = (seed * 1103515245 + 12345) % 2 ** 31), seed % n);
const batch: Record<string, unknown>[] = [];
for (let i = 0; i < TICKETS; i++) {
  const created = now - (TICKETS - i) * 30_000;
  const status = ticketStatuses[rand(ticketStatuses.length)]!;
  batch.push({
    status, requester_name: `${names[rand(names.length)]} ${rand(5000)}`, username: `u${rand(5000)}`, hostname: `host-${rand(20000)}`,
    os: 'Linux', description: 'Printer does not print', client_secret_hash: 'x'.repeat(64), requester_address: '10.0.0.1',
    technician_id: status === 'requested' ? null : techIds[rand(TECHNICIANS)], view_only: false, resolution: null, end_reason: null,
    created_at: created, updated_at: created + 60_000, accepted_at: null, approved_at: null, started_at: null, ended_at: null,
    resolved_at: status === 'resolved' ? created + 600_000 : null,
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
};
await db.destroy();
console.log(JSON.stringify({ engine: database.client, tickets: TICKETS, ...Object.fromEntries(Object.entries(figures).map(([k, v]) => [k, Number(v.toFixed(2))])) }));
