// The satisfaction survey's figures in the statistics' rollups (issue 29):
// ticket_day_ratings counts the answers per UTC day of the request,
// technician, team, topic (0: none) and rating. Moved by applyTicketChange
// (./rollups.ts) with the rest, so a survey's transaction — or any later move
// of the ticket — keeps them equal to a recount of the tickets.
import type { Knex } from 'knex';
import { isMysql } from '../../migrations/engine.ts';
import { idiv } from '../../migrations/023_ticket_rollups.ts';

const DAY_MS = 86_400_000;

/** What the ratings count of one ticket (a part of rollups.ts' TicketFacts). */
export interface RatingFacts {
  created_at: number;
  technician_id: number | null;
  survey_rating?: number | null;
  team_id?: number | null;
  topic_id?: number | null;
}

const idOf = (v: number | null | undefined): number => (v === null || v === undefined ? 0 : Number(v));

/** The rating figures of a row (absent columns — before teams and topics exist — count as none). */
export function ratingFactsOf(row: RatingFacts): Pick<RatingFacts, 'survey_rating' | 'team_id' | 'topic_id'> {
  return {
    survey_rating: row.survey_rating === null || row.survey_rating === undefined ? null : Number(row.survey_rating),
    team_id: row.team_id === null || row.team_id === undefined ? null : Number(row.team_id),
    topic_id: row.topic_id === null || row.topic_id === undefined ? null : Number(row.topic_id),
  };
}

function keyOf(f: RatingFacts | null): string | null {
  if (!f || f.survey_rating === null || f.survey_rating === undefined) return null;
  return [Math.floor(Number(f.created_at) / DAY_MS), idOf(f.technician_id), idOf(f.team_id), idOf(f.topic_id), Number(f.survey_rating)].join(':');
}

async function addRating(trx: Knex.Transaction, key: string, delta: number): Promise<void> {
  const [day, technician_id, team_id, topic_id, rating] = key.split(':').map(Number);
  const row = { day, technician_id, team_id, topic_id, rating };
  await trx('ticket_day_ratings').insert({ ...row, n: delta }).onConflict(['day', 'technician_id', 'team_id', 'topic_id', 'rating']).merge({ n: trx.raw('n + ?', [delta]) });
  if (delta < 0) await trx('ticket_day_ratings').where(row).where('n', '<=', 0).delete();
}

/** Moves ticket_day_ratings from what it counted of a ticket to what it counts now, in the caller's transaction. */
export async function applyRatingChange(trx: Knex.Transaction, before: RatingFacts | null, after: RatingFacts | null): Promise<void> {
  const was = keyOf(before);
  const now = keyOf(after);
  if (was === now) return;
  // In key order, as the other rollups, so concurrent writers lock rows in one order.
  const changes: [string, number][] = [];
  if (was !== null) changes.push([was, -1]);
  if (now !== null) changes.push([now, 1]);
  changes.sort((a, b) => (a[0] < b[0] ? -1 : 1));
  for (const [key, delta] of changes) await addRating(trx, key, delta);
}

/** ticket_day_ratings against a recount of the tickets' answers (a range of UTC days, or all); differences are appended to `out`; returns the rows kept. */
export async function compareRatingsWithRecount(db: Knex, days: { from: number; to: number } | undefined, out: string[]): Promise<number> {
  const [hasTeam, hasTopic] = await Promise.all([db.schema.hasColumn('tickets', 'team_id'), db.schema.hasColumn('tickets', 'topic_id')]);
  const day = idiv(db, 'created_at', DAY_MS);
  const where = days ? 'AND created_at >= ? AND created_at < ?' : '';
  const sql = `SELECT ${day} AS day, COALESCE(technician_id, 0) AS technician_id, ${hasTeam ? 'COALESCE(team_id, 0)' : '0'} AS team_id, ${hasTopic ? 'COALESCE(topic_id, 0)' : '0'} AS topic_id, survey_rating AS rating, COUNT(*) AS n
    FROM tickets WHERE survey_rating IS NOT NULL ${where} GROUP BY 1, 2, 3, 4, 5`;
  const raw = (await db.raw(sql, days ? [days.from * DAY_MS, days.to * DAY_MS] : [])) as unknown;
  const recounted = (isMysql(db) ? (raw as [Record<string, unknown>[]])[0] : raw) as Record<string, unknown>[];
  const q = db('ticket_day_ratings').where('n', '>', 0);
  const kept = (await (days ? q.where('day', '>=', days.from).where('day', '<', days.to) : q).select('*')) as Record<string, unknown>[];
  const key = (r: Record<string, unknown>) => ['day', 'technician_id', 'team_id', 'topic_id', 'rating'].map((c) => String(r[c])).join(':');
  const a = new Map(kept.map((r) => [key(r), String(r.n)]));
  const b = new Map(recounted.map((r) => [key(r), String(r.n)]));
  for (const k of new Set([...a.keys(), ...b.keys()])) if (a.get(k) !== b.get(k)) out.push(`ratings ${k}: ${a.get(k) ?? 'none'} ≠ ${b.get(k) ?? 'none'}`);
  return kept.length;
}
