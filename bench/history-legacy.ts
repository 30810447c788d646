// Today's methods (before issue 30), kept for the benchmark to print beside
// the new ones on the same data: the history by OFFSET with an exact COUNT
// and words by LIKE '%…%' (a scan), and the statistics from the period's
// tickets read into Node (with the rollups' rounding and nearest rank, so it
// is also the recount the new figures are checked against).
import type { Knex } from 'knex';
import { spreadOf, type TicketStats } from '../server/stats/ticket-stats.ts';
import { tenthsOf } from '../server/stats/rollups.ts';

const escapeLike = (s: string) => s.replace(/[!%_]/g, (c) => `!${c}`);

export async function legacyHistory(db: Knex, q: { text?: string; page: number; pageSize: number }): Promise<{ rows: unknown[]; total: number }> {
  const filtered = (b: Knex.QueryBuilder) => {
    for (const word of (q.text ?? '').split(/\s+/).filter(Boolean).slice(0, 8)) {
      const like = `%${escapeLike(word.toLowerCase())}%`;
      b.where((w) => {
        void w.whereRaw("LOWER(tickets.description) LIKE ? ESCAPE '!'", [like]).orWhereRaw("LOWER(tickets.resolution) LIKE ? ESCAPE '!'", [like]);
      });
    }
    return b;
  };
  const total = (await filtered(db('tickets')).count({ n: '*' }).first()) as { n: number | string };
  const rows = (await filtered(db('tickets').leftJoin('technicians', 'technicians.id', 'tickets.technician_id').select('tickets.*', 'technicians.display_name as technician_display_name'))
    .orderBy('tickets.created_at', 'desc')
    .orderBy('tickets.id', 'desc')
    .limit(q.pageSize)
    .offset((q.page - 1) * q.pageSize)) as unknown[];
  return { rows, total: Number(total.n) };
}

type Row = { created_at: number; accepted_at: number | null; resolved_at: number | null; technician_id: number | null };

/** The statistics from the period's rows, in Node (today's method), with the page's precision and nearest rank. */
export async function legacyStats(db: Knex, now: number, days: number): Promise<Omit<TicketStats, 'byReason'>> {
  const DAY_MS = 86_400_000;
  const to = Math.floor(now / DAY_MS) * DAY_MS + DAY_MS;
  const from = to - days * DAY_MS;
  const rows = (await db('tickets').where('created_at', '>=', from).where('created_at', '<', to).select('created_at', 'accepted_at', 'resolved_at', 'technician_id')) as Row[];
  const requests = new Array<number>(days).fill(0);
  const hist = () => new Map<number, number>();
  const waits = Array.from({ length: days }, hist);
  const resolves = Array.from({ length: days }, hist);
  const perTech = new Map<number, { requests: number; w: Map<number, number>; r: Map<number, number> }>();
  const add = (m: Map<number, number>, v: number) => m.set(v, (m.get(v) ?? 0) + 1);
  const sorted = (m: Map<number, number>) => [...m].sort((a, b) => a[0] - b[0]);
  for (const r of rows) {
    const created = Number(r.created_at);
    const day = Math.floor((created - from) / DAY_MS);
    requests[day]! += 1;
    const wait = r.accepted_at === null || Number(r.accepted_at) < created ? null : tenthsOf(Number(r.accepted_at) - created);
    const resolve = r.resolved_at === null || Number(r.resolved_at) < created ? null : tenthsOf(Number(r.resolved_at) - created);
    if (wait !== null) add(waits[day]!, wait);
    if (resolve !== null) add(resolves[day]!, resolve);
    if (r.technician_id !== null) {
      const id = Number(r.technician_id);
      const t = perTech.get(id) ?? { requests: 0, w: hist(), r: hist() };
      t.requests += 1;
      if (wait !== null) add(t.w, wait);
      if (resolve !== null) add(t.r, resolve);
      perTech.set(id, t);
    }
  }
  return {
    from,
    to,
    days: Array.from({ length: days }, (_, i) => new Date(from + i * DAY_MS).toISOString().slice(0, 10)),
    requests,
    wait: waits.map((m) => spreadOf(sorted(m))),
    resolve: resolves.map((m) => spreadOf(sorted(m))),
    byTechnician: [...perTech]
      .map(([technicianId, t]) => ({ technicianId, requests: t.requests, wait: spreadOf(sorted(t.w)), resolve: spreadOf(sorted(t.r)) }))
      .sort((a, b) => b.requests - a.requests || a.technicianId - b.technicianId),
  };
}

/**
 * The previous release's word search (migration 022: SQLite FTS5, MariaDB InnoDB FULLTEXT in BOOLEAN MODE), a page
 * newest first and a count up to 1,001 — timed before migration 031 replaces that index with the postings table.
 */
export async function fullTextHistory(db: Knex, text: string): Promise<{ rows: unknown[]; total: number }> {
  const words = text.split(/[^\p{L}\p{M}\p{N}]+/u).filter(Boolean);
  const mysql = (db.client as { config: { client: string } }).config.client !== 'better-sqlite3';
  const ids = mysql
    ? { sql: 'SELECT ticket_id AS id FROM ticket_search WHERE MATCH (problem, resolution, conversation) AGAINST (? IN BOOLEAN MODE)', bindings: [words.map((w, i) => `+${w}${i === words.length - 1 ? '*' : ''}`).join(' ')] }
    : { sql: 'SELECT rowid AS id FROM ticket_search WHERE ticket_search MATCH ?', bindings: [words.map((w, i) => `"${w}"${i === words.length - 1 ? '*' : ''}`).join(' ')] };
  const page = db('tickets').leftJoin('technicians', 'technicians.id', 'tickets.technician_id').select('tickets.*', 'technicians.display_name as technician_display_name');
  if (mysql) page.join(db.raw(`(${ids.sql} LIMIT 18446744073709551615) AS words`, ids.bindings), 'words.id', 'tickets.id');
  else page.whereRaw(`tickets.id IN (${ids.sql})`, ids.bindings);
  const [rows, count] = await Promise.all([
    page.orderBy('tickets.created_at', 'desc').orderBy('tickets.id', 'desc').limit(51) as Promise<unknown[]>,
    db.from(db.raw(`(${ids.sql} LIMIT 1001) c`, ids.bindings)).count({ n: '*' }).first() as Promise<{ n: number | string }>,
  ]);
  return { rows, total: Number(count.n) };
}
