// Daily rollups for the statistics page, kept by the ticket's writes in their
// own transaction (server/stats/rollups.ts) and built here for existing rows:
// - ticket_day_counts: requests per UTC day (of the request) and technician
//   (0: none holds it);
// - ticket_day_spreads: how many waits until accepted ('w') and times to
//   resolve ('r') fell in each tenth of a minute (the page's precision, so
//   the median and 90th percentile read from it are exact), per day and
//   technician;
// - ticket_day_percentiles: each day's count, median and 90th percentile (in
//   tenths of a minute, nearest rank) over every technician, refreshed with
//   the day's spreads.
import type { Knex } from 'knex';
import { isMysql } from './engine.ts';
import { reportProgress } from './progress.ts';

const DAY_MS = 86_400_000;
const TENTH_MS = 6_000;
const STEP = '023 statistics rollups';


/** Integer division of non-negative integers, the same on both engines. */
export function idiv(knex: Knex, expr: string, by: number): string {
  return isMysql(knex) ? `((${expr}) DIV ${by})` : `((${expr}) / ${by})`;
}

/** The rollups' rows recounted from the tickets (a range of UTC days, or all): the migration's backfill and the tests' and benchmark's check. */
export function recountSql(knex: Knex, days?: { from: number; to: number }): { counts: string; spreads: string; bindings: number[] } {
  // bindings: the range's, once per place it is used (the counts take the first two).
  const day = idiv(knex, 'created_at', DAY_MS);
  const where = days ? `WHERE created_at >= ? AND created_at < ?` : '';
  const and = days ? `AND created_at >= ? AND created_at < ?` : '';
  const bindings = days ? [days.from * DAY_MS, days.to * DAY_MS] : [];
  const spread = (kind: string, at: string) =>
    `SELECT ${day} AS day, COALESCE(technician_id, 0) AS technician_id, '${kind}' AS kind, ${idiv(knex, `${at} - created_at + ${TENTH_MS / 2}`, TENTH_MS)} AS tenths, COUNT(*) AS n
     FROM tickets WHERE ${at} IS NOT NULL AND ${at} >= created_at ${and} GROUP BY 1, 2, 4`;
  return {
    counts: `SELECT ${day} AS day, COALESCE(technician_id, 0) AS technician_id, COUNT(*) AS requests FROM tickets ${where} GROUP BY 1, 2`,
    spreads: `${spread('w', 'accepted_at')} UNION ALL ${spread('r', 'resolved_at')}`,
    bindings: days ? [...bindings, ...bindings] : [],
  };
}

/** Each day's count, median and 90th percentile per kind from the spreads (nearest rank: rank ⌈p·n/100⌉), for one day or all. */
export function percentilesSql(knex: Knex, oneDay: boolean): string {
  const rank = (p: number) => idiv(knex, `${p} * total + 99`, 100);
  return `SELECT day, kind, MAX(total) AS n,
      MIN(CASE WHEN cum >= ${rank(50)} THEN tenths END) AS median_tenths,
      MIN(CASE WHEN cum >= ${rank(90)} THEN tenths END) AS p90_tenths
    FROM (SELECT day, kind, tenths,
            SUM(n) OVER (PARTITION BY day, kind ORDER BY tenths) AS cum,
            SUM(n) OVER (PARTITION BY day, kind) AS total
          FROM (SELECT day, kind, tenths, SUM(n) AS n FROM ticket_day_spreads ${oneDay ? 'WHERE day = ? AND kind = ?' : ''} GROUP BY day, kind, tenths) h) c
    GROUP BY day, kind`;
}

export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable('ticket_day_counts', (t) => {
    t.integer('day').notNullable();
    t.integer('technician_id').notNullable();
    t.integer('requests').notNullable();
    t.primary(['day', 'technician_id']);
  });
  await knex.schema.createTable('ticket_day_spreads', (t) => {
    t.integer('day').notNullable();
    t.integer('technician_id').notNullable();
    t.string('kind', 1).notNullable();
    t.integer('tenths').notNullable();
    t.integer('n').notNullable();
    t.primary(['day', 'technician_id', 'kind', 'tenths']);
  });
  await knex.schema.createTable('ticket_day_percentiles', (t) => {
    t.integer('day').notNullable();
    t.string('kind', 1).notNullable();
    t.integer('n').notNullable();
    t.integer('median_tenths').notNullable();
    t.integer('p90_tenths').notNullable();
    t.primary(['day', 'kind']);
  });
  const total = Number(((await knex('tickets').count({ n: '*' }).first()) as { n: number | string }).n);
  const sql = recountSql(knex);
  reportProgress(`${STEP} (requests per day)`, 0, total);
  await knex.raw(`INSERT INTO ticket_day_counts (day, technician_id, requests) ${sql.counts}`);
  reportProgress(`${STEP} (waits and times to resolve)`, Math.round(total / 3), total);
  await knex.raw(`INSERT INTO ticket_day_spreads (day, technician_id, kind, tenths, n) ${sql.spreads}`);
  reportProgress(`${STEP} (medians and 90th percentiles)`, Math.round((2 * total) / 3), total);
  await knex.raw(`INSERT INTO ticket_day_percentiles (day, kind, n, median_tenths, p90_tenths) ${percentilesSql(knex, false)}`);
  reportProgress(STEP, total, total);
}

export async function down(knex: Knex): Promise<void> {
  for (const table of ['ticket_day_percentiles', 'ticket_day_spreads', 'ticket_day_counts']) await knex.schema.dropTableIfExists(table);
}
