// A technician's median and 90th percentile over a long period without
// summing a row per ticket (issue 30): `ticket_spread_tree` holds the same
// counts as ticket_day_spreads (waits until accepted and times to resolve, in
// tenths of a minute, per technician) at two grains of time — a UTC day
// ('d') and a calendar month ('m') — and three of value: level 0 the tenth
// itself, level 1 sixteen tenths, level 2 256 tenths. A period reads its
// whole months and its days at either end; a percentile is found from the
// coarse level down, reading only the one bucket that holds its rank at each
// level below, so the figures stay exact at the page's precision (a tenth of
// a minute). Written with the daily rollups in the move's transaction
// (server/stats/rollups.ts); built here from ticket_day_spreads.
import type { Knex } from 'knex';
import { idiv } from './023_ticket_rollups.ts';
import { isMysql } from './engine.ts';
import { reportProgress } from './progress.ts';

const STEP = '030 statistics by month and bucket';
/** log2 of a level's bucket width in tenths of a minute (level 0, 1, 2). */
export const LEVEL_SHIFTS = [0, 4, 8] as const;

/** The calendar month (year · 12 + month − 1, UTC) of a day number since 1970-01-01. */
export function monthOfDay(day: number): number {
  const d = new Date(day * 86_400_000);
  return d.getUTCFullYear() * 12 + d.getUTCMonth();
}

/** The day number of a month's first day. */
export const firstDayOfMonth = (month: number): number => Math.floor(Date.UTC(Math.floor(month / 12), month % 12, 1) / 86_400_000);

/** SQL for monthOfDay of a column, the same on both engines. */
export function monthSql(knex: Knex, day: string): string {
  if (isMysql(knex)) return `(YEAR(FROM_DAYS(${day} + 719528)) * 12 + MONTH(FROM_DAYS(${day} + 719528)) - 1)`;
  return `(CAST(strftime('%Y', ${day} * 86400, 'unixepoch') AS INTEGER) * 12 + CAST(strftime('%m', ${day} * 86400, 'unixepoch') AS INTEGER) - 1)`;
}

export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable('ticket_spread_tree', (t) => {
    t.string('unit', 1).notNullable();
    t.integer('at').notNullable();
    t.integer('level').notNullable();
    t.integer('technician_id').notNullable();
    t.string('kind', 1).notNullable();
    t.integer('bucket').notNullable();
    t.integer('n').notNullable();
    t.primary(['unit', 'level', 'technician_id', 'kind', 'bucket', 'at']);
  });
  const total = Number(((await knex('ticket_day_spreads').count({ n: '*' }).first()) as { n: number | string }).n);
  let step = 0;
  for (const unit of ['d', 'm'] as const) {
    for (const [level, shift] of LEVEL_SHIFTS.entries()) {
      reportProgress(STEP, Math.round((total * step++) / 6), total);
      const at = unit === 'd' ? 'day' : monthSql(knex, 'day');
      const bucket = idiv(knex, 'tenths', 2 ** shift);
      await knex.raw(
        `INSERT INTO ticket_spread_tree (unit, at, level, technician_id, kind, bucket, n)
         SELECT '${unit}', ${at}, ${level}, technician_id, kind, ${bucket}, SUM(n) FROM ticket_day_spreads WHERE n > 0 GROUP BY ${at}, technician_id, kind, ${bucket}`,
      );
    }
  }
  reportProgress(STEP, total, total);
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTableIfExists('ticket_spread_tree');
}
