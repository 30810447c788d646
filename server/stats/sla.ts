// "Met the target wait" (issue 29): per UTC day of the request, team and
// topic, how many requests with a topic were taken within their target
// (left the queue to a technician before the background check found them
// waiting too long) and how many were found waiting too long. Requests still
// waiting, and those withdrawn or expired before their target, count in
// neither. A count over the period's tickets with a target (tickets_created
// index), at most MAX_ROWS groups — not yet a rollup like ./rollups.ts.
import type { Knex } from 'knex';
import { idiv } from '../../migrations/023_ticket_rollups.ts';
import type { TopicNames } from '../../protocol/teams.ts';

const DAY_MS = 86_400_000;
const MAX_ROWS = 5_000;

export interface WaitTargetRow {
  /** YYYY-MM-DD (UTC). */
  day: string;
  team: { id: number; name: string } | null;
  topic: { id: number; names: TopicNames };
  met: number;
  missed: number;
}

/** The figures of the last `days` UTC days (today included), newest day first. */
export async function waitTargetStats(db: Knex, nowMs: number, days: number): Promise<WaitTargetRow[]> {
  const to = (Math.floor(nowMs / DAY_MS) + 1) * DAY_MS;
  const from = to - days * DAY_MS;
  const day = idiv(db, 'tickets.created_at', DAY_MS);
  const rows = (await db('tickets')
    .leftJoin('teams', 'teams.id', 'tickets.team_id')
    .join('topics', 'topics.id', 'tickets.topic_id')
    .where('tickets.created_at', '>=', from)
    .where('tickets.created_at', '<', to)
    .whereNotNull('tickets.wait_target_ms')
    .groupByRaw(`${day}, tickets.team_id, tickets.topic_id, teams.name, topics.name_en, topics.name_es, topics.name_zh`)
    .orderByRaw(`${day} desc, teams.name, topics.name_en`)
    .limit(MAX_ROWS)
    .select(
      db.raw(`${day} as day`),
      'tickets.team_id',
      'tickets.topic_id',
      'teams.name as team_name',
      'topics.name_en',
      'topics.name_es',
      'topics.name_zh',
      db.raw("sum(case when tickets.waiting_too_long_at is null and tickets.status not in ('requested', 'cancelled', 'expired') then 1 else 0 end) as met"),
      db.raw('sum(case when tickets.waiting_too_long_at is not null then 1 else 0 end) as missed'),
    )) as { day: number | string; team_id: number | null; topic_id: number; team_name: string | null; name_en: string; name_es: string; name_zh: string; met: number | string; missed: number | string }[];
  return rows
    .map((r) => ({
      day: new Date(Math.floor(Number(r.day)) * DAY_MS).toISOString().slice(0, 10),
      team: r.team_id === null ? null : { id: Number(r.team_id), name: r.team_name ?? '' },
      topic: { id: Number(r.topic_id), names: { en: r.name_en, es: r.name_es, zh: r.name_zh } },
      met: Number(r.met),
      missed: Number(r.missed),
    }))
    .filter((r) => r.met + r.missed > 0);
}
