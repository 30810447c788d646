// History benchmark (not a test), issue 30: seeds --tickets tickets (default
// 100,000) of realistic text into a fresh database on each engine — SQLite,
// then MariaDB (a private mariadbd started by test/mariadb.ts, or
// BENCH_MYSQL_URL=mysql://…/db, empty) — with the schema stopped before the
// history migrations, times those migrations on the rows, then times each
// read the new way beside today's (keyset vs OFFSET, word index vs LIKE,
// rollups vs rows read into Node), streams a CSV of 100,000 rows with its
// memory measured, and checks the statistics against a recount. Prints
// readable figures, then one JSON line per engine.
// Word search is also timed on the previous release's index (022) before
// migration 031 replaces it with the postings table.
//   npm run bench:history -- --tickets 1000000 [--runs 15] [--legacy-runs 5] [--engines sqlite,mysql]
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { isDeepStrictEqual, parseArgs } from 'node:util';
import knexFactory, { type Knex } from 'knex';
import { migrationSource } from '../migrations/index.ts';
import { setMigrationProgress } from '../migrations/progress.ts';
import { dashboardFigures, ticketStore } from '../server/tickets/store.ts';
import { historyQuerySchema } from '../server/tickets/schema.ts';
import { historyAll } from '../server/history/history-store.ts';
import { encodeCursor } from '../server/history/keyset.ts';
import { ticketStats } from '../server/stats/ticket-stats.ts';
import { compareRollupsWithRecount } from '../server/stats/recount.ts';
import { writeHistoryCsv } from '../admin-web/history-csv.ts';
import { startMariaDb } from '../test/mariadb.ts';
import { fullTextHistory, legacyHistory, legacyStats } from './history-legacy.ts';
import { seedTickets, words } from './history-seed.ts';

const { values: args } = parseArgs({ options: { tickets: { type: 'string', default: '100000' }, runs: { type: 'string', default: '15' }, 'legacy-runs': { type: 'string' }, engines: { type: 'string', default: 'sqlite,mysql' } } });
const TICKETS = Number(args.tickets);
const RUNS = Number(args.runs);
const LEGACY_RUNS = Number(args['legacy-runs'] ?? (TICKETS >= 500_000 ? 3 : 5));
const PAGE = 50;
const CSV_ROWS = Math.min(100_000, TICKETS);
if (!Number.isSafeInteger(TICKETS) || TICKETS < 1000) throw new Error('--tickets must be a whole number of at least 1000');

type Database = { client: 'sqlite'; filename: string } | { client: 'mysql'; url: string };

/** A handle with the schema up to 021: the history migrations are run (and timed) after the seed. */
async function openBefore022(database: Database): Promise<Knex> {
  const db = database.client === 'sqlite'
    ? knexFactory({ client: 'better-sqlite3', connection: { filename: database.filename }, useNullAsDefault: true, pool: { afterCreate: (c: { pragma(s: string): unknown }, done: (e: Error | null, c: unknown) => void) => { c.pragma('journal_mode = WAL'); c.pragma('foreign_keys = ON'); done(null, c); } } })
    : knexFactory({ client: 'mysql2', connection: { uri: database.url, supportBigNumbers: true, bigNumberStrings: false, charset: 'utf8mb4' } as Knex.MySql2ConnectionConfig, pool: { min: 0, max: 10 } });
  const before: Knex.MigrationSource<string> = { ...migrationSource, getMigrations: async () => (await migrationSource.getMigrations([])).filter((name) => name < '022') };
  await db.migrate.latest({ migrationSource: before });
  return db;
}

async function time(label: string, runs: number, work: () => Promise<unknown>): Promise<number> {
  const samples: number[] = [];
  for (let i = 0; i < runs; i++) {
    const t0 = performance.now();
    await work();
    samples.push(performance.now() - t0);
  }
  samples.sort((a, b) => a - b);
  const median = samples[samples.length >> 1]!;
  console.log(`  ${label.padEnd(58)} median ${median.toFixed(2).padStart(9)} ms  (max ${samples.at(-1)!.toFixed(1)}, ${runs} runs)`);
  return median;
}

/** Streams the CSV of the newest CSV_ROWS tickets into a sink that takes a chunk per tick (a client), sampling the process's RSS. */
async function csvRun(db: Knex): Promise<{ ms: number; rssGrowthMiB: number; bytes: number }> {
  (globalThis as { gc?: () => void }).gc?.();
  const rss0 = process.memoryUsage.rss();
  let peak = rss0;
  const sampler = setInterval(() => (peak = Math.max(peak, process.memoryUsage.rss())), 20);
  let bytes = 0;
  const sink = new Writable({ highWaterMark: 64 * 1024, write(chunk: Buffer, _enc, done) { bytes += chunk.length; setImmediate(done); } });
  const t0 = performance.now();
  await writeHistoryCsv(sink, historyAll(db, historyQuerySchema.parse({}), undefined, 1_000, CSV_ROWS));
  const ms = performance.now() - t0;
  clearInterval(sampler);
  peak = Math.max(peak, process.memoryUsage.rss());
  return { ms, rssGrowthMiB: (peak - rss0) / 2 ** 20, bytes };
}

async function run(database: Database): Promise<void> {
  const engine = database.client;
  console.log(`\n== ${engine}: ${TICKETS.toLocaleString('en')} tickets`);
  const db = await openBefore022(database);
  if (engine === 'mysql') await db.raw('SET GLOBAL innodb_buffer_pool_size = 2147483648').catch((err: Error) => console.log(`  buffer pool left as is: ${err.message}`));
  const now = Date.now();
  let t0 = performance.now();
  let shown = 0;
  const techIds = await seedTickets(db, TICKETS, now, (done) => {
    if (done - shown >= TICKETS / 10 || done === TICKETS) console.log(`  seeded ${(shown = done).toLocaleString('en')} tickets, ${((performance.now() - t0) / 1000).toFixed(0)} s`);
  });
  const migrations: Record<string, number> = {};
  setMigrationProgress((step, done, total) => console.log(`  migration ${step}: ${done.toLocaleString('en')} of ${total.toLocaleString('en')}`));
  const [rare, usual] = [words[300]!, words[40]!];
  const fullText: Record<string, number> = {};
  for (;;) {
    // The previous release's word index (022), timed on the same rows before 031 replaces it.
    const [next] = ((await db.migrate.list({ migrationSource })) as [unknown[], (string | { file: string })[]])[1];
    if ((typeof next === 'string' ? next : next?.file) === '031_word_postings') {
      console.log('  the previous release\'s word index (022: SQLite FTS5 / InnoDB FULLTEXT), a page and a count up to 1,001:');
      fullText.fullTextWordMs = await time(`    one word "${rare}"`, Math.min(RUNS, LEGACY_RUNS + 2), () => fullTextHistory(db, rare));
      fullText.fullTextTwoWordsMs = await time(`    two words "${usual} ${rare}"`, Math.min(RUNS, LEGACY_RUNS + 2), () => fullTextHistory(db, `${usual} ${rare}`));
      fullText.fullTextCommonWordMs = await time(`    the most common word "${words[0]}"`, 1, () => fullTextHistory(db, words[0]!));
    }
    t0 = performance.now();
    const [, ran] = (await db.migrate.up({ migrationSource })) as [number, string[]];
    if (!ran.length) break;
    migrations[ran[0]!] = Number(((performance.now() - t0) / 1000).toFixed(1));
    console.log(`  migration ${ran[0]} took ${migrations[ran[0]!]} s`);
  }

  const q = (query: Record<string, unknown>) => historyQuerySchema.parse(query);
  const deepPage = Math.min(10_000, Math.floor(TICKETS / PAGE / 2));
  const at = (await db('tickets').orderBy('created_at', 'desc').orderBy('id', 'desc').offset((deepPage - 1) * PAGE - 1).first('created_at', 'id')) as { created_at: number; id: number };
  const deepCursor = encodeCursor({ value: Number(at.created_at), id: Number(at.id) });
  // Search words (above): one in about 1% of the tickets, one in about 5%, and the most common word.
  const matches = async (text: string) => (await ticketStore.history(db, q({ text, pageSize: 1 }))).total;
  console.log(`  words: "${rare}" (${(await legacyHistory(db, { text: rare, page: 1, pageSize: 1 })).total} tickets), "${usual}" (${(await legacyHistory(db, { text: usual, page: 1, pageSize: 1 })).total}), "${words[0]}" (${(await legacyHistory(db, { text: words[0], page: 1, pageSize: 1 })).total}); the new count says ${await matches(rare)} for "${rare}" (exact up to 1,000)`);

  const L = LEGACY_RUNS;
  const f = {
    historyFirstPageMs: await time('history page 1, keyset + count from rollups', RUNS, () => ticketStore.history(db, q({}))),
    legacyFirstPageMs: await time('  today: OFFSET + COUNT(*)', L, () => legacyHistory(db, { page: 1, pageSize: PAGE })),
    historyDeepPageMs: await time(`history page ${deepPage.toLocaleString('en')} deep, by cursor`, RUNS, () => ticketStore.history(db, q({ after: deepCursor }))),
    legacyDeepPageMs: await time(`  today: OFFSET ${((deepPage - 1) * PAGE).toLocaleString('en')}`, L, () => legacyHistory(db, { page: deepPage, pageSize: PAGE })),
    historyWordMs: await time(`one word "${rare}", word index`, RUNS, () => ticketStore.history(db, q({ text: rare }))),
    legacyWordMs: await time('  today: LIKE', L, () => legacyHistory(db, { text: rare, page: 1, pageSize: PAGE })),
    historyTwoWordsMs: await time(`two words "${usual} ${rare}", word index`, RUNS, () => ticketStore.history(db, q({ text: `${usual} ${rare}` }))),
    legacyTwoWordsMs: await time('  today: LIKE', L, () => legacyHistory(db, { text: `${usual} ${rare}`, page: 1, pageSize: PAGE })),
    historyRequesterMs: await time('history, requester prefix "Carla 12"', RUNS, () => ticketStore.history(db, q({ requester: 'Carla 12' }))),
    historyHostMs: await time('history, hostname prefix "host-1999"', RUNS, () => ticketStore.history(db, q({ hostname: 'host-1999' }))),
    historyTechStatusMs: await time('history, technician + status', RUNS, () => ticketStore.history(db, q({ technicianId: techIds[3], status: 'resolved' }))),
    historyTechnicianViewMs: await time("a technician's own history", RUNS, () => ticketStore.history(db, q({}), techIds[5])),
    historyWordAndDatesMs: await time(`word "${usual}" + a 7-day date range`, RUNS, () => ticketStore.history(db, q({ text: usual, from: now - 14 * 86_400_000, to: now - 7 * 86_400_000 }))),
    queueMs: await time('queue (requested, oldest first)', RUNS, () => ticketStore.listByStatus(db, ['requested'])),
    dashboardMs: await time('dashboard strip', RUNS, () => dashboardFigures(db, now - 86_400_000)),
    historyCommonWordMs: await time(`the most common word "${words[0]}", word index`, L, () => ticketStore.history(db, q({ text: words[0] }))),
    historyUsualWordMs: await time(`a usual word "${usual}", word index`, L, () => ticketStore.history(db, q({ text: usual }))),
    stats30DaysMs: await time('statistics 30 days, rollups', RUNS, () => ticketStats(db, now, 30)),
    legacyStats30DaysMs: await time('  today: rows read into Node', L, () => legacyStats(db, now, 30)),
    stats365DaysMs: await time('statistics 365 days, rollups', RUNS, () => ticketStats(db, now, 365)),
    legacyStats365DaysMs: await time('  today: rows read into Node', L, () => legacyStats(db, now, 365)),
  };
  const csv = await csvRun(db);
  console.log(`  CSV of ${CSV_ROWS.toLocaleString('en')} rows (${(csv.bytes / 2 ** 20).toFixed(1)} MiB) by cursor with backpressure: ${(csv.ms / 1000).toFixed(2)} s, RSS growth ${csv.rssGrowthMiB.toFixed(1)} MiB`);

  const recount = await compareRollupsWithRecount(db);
  const strip = ({ byReason: _r, ...s }: Awaited<ReturnType<typeof ticketStats>>) => s;
  const same30 = isDeepStrictEqual(strip(await ticketStats(db, now, 30)), await legacyStats(db, now, 30));
  const same365 = isDeepStrictEqual(strip(await ticketStats(db, now, 365)), await legacyStats(db, now, 365));
  const statsChecked = recount.differences.length === 0 && same30 && same365;
  console.log(`  statistics against a recount: ${statsChecked ? 'equal' : 'DIFFERENT'} (rollup rows ${recount.rows}, ${recount.differences.length} differ${recount.differences.length ? `: ${recount.differences.slice(0, 3).join('; ')}` : ''}; page figures = rows in Node: 30 days ${same30}, 365 days ${same365})`);
  await db.destroy();
  const r = (x: number) => Number(x.toFixed(2));
  console.log(JSON.stringify({ engine, tickets: TICKETS, ...Object.fromEntries(Object.entries(f).map(([k, v]) => [k, r(v)])), ...Object.fromEntries(Object.entries(fullText).map(([k, v]) => [k, r(v)])), csv100kMs: r(csv.ms), csvRows: CSV_ROWS, csvRssGrowthMiB: r(csv.rssGrowthMiB), statsChecked, migrationsS: migrations, deepPage }));
}

const engines = args.engines.split(',');
if (engines.includes('sqlite')) await run({ client: 'sqlite', filename: join(mkdtempSync(join(tmpdir(), 'helpdesk-bench-')), 'bench.sqlite') });
if (engines.includes('mysql')) {
  if (process.env.BENCH_MYSQL_URL) {
    await run({ client: 'mysql', url: process.env.BENCH_MYSQL_URL });
  } else {
    const mariadb = await startMariaDb();
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
