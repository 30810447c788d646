// The satisfaction figures of the statistics page (issue 29), read from the
// rollup ticket_day_ratings (server/stats/survey-rollups.ts) over the same
// UTC days as the other figures (the day of the request): per day, per
// technician, team and topic — how many answered, the average, and how many
// gave each rating from 1 to 5.
import type { Knex } from 'knex';

const DAY_MS = 86_400_000;

export interface RatingSummary {
  count: number;
  /** To two decimals; null when nobody answered. */
  average: number | null;
  /** How many gave 1, 2, 3, 4 and 5. */
  distribution: [number, number, number, number, number];
}

export interface SurveyStats {
  overall: RatingSummary;
  /** One per day of the period, oldest first (the days of TicketStats). */
  perDay: RatingSummary[];
  byTechnician: ({ technicianId: number } & RatingSummary)[];
  byTeam: ({ teamId: number } & RatingSummary)[];
  byTopic: ({ topicId: number } & RatingSummary)[];
}

const empty = (): RatingSummary => ({ count: 0, average: null, distribution: [0, 0, 0, 0, 0] });

function add(s: RatingSummary, rating: number, n: number): void {
  if (rating < 1 || rating > 5) return;
  s.distribution[rating - 1] = s.distribution[rating - 1]! + n;
  s.count += n;
}

function finish<T extends RatingSummary>(s: T): T {
  const sum = s.distribution.reduce((a, n, i) => a + n * (i + 1), 0);
  s.average = s.count === 0 ? null : Math.round((100 * sum) / s.count) / 100;
  return s;
}

export async function surveyStats(db: Knex, now: number, days: number): Promise<SurveyStats> {
  const toDay = Math.floor(now / DAY_MS) + 1;
  const fromDay = toDay - days;
  const rows = (await db('ticket_day_ratings').where('day', '>=', fromDay).where('day', '<', toDay).where('n', '>', 0).select('day', 'technician_id', 'team_id', 'topic_id', 'rating', 'n')) as Record<string, number | string>[];
  const overall = empty();
  const perDay = Array.from({ length: days }, empty);
  const groups = { technician: new Map<number, RatingSummary>(), team: new Map<number, RatingSummary>(), topic: new Map<number, RatingSummary>() };
  const into = (map: Map<number, RatingSummary>, id: number) => {
    let s = map.get(id);
    if (!s) map.set(id, (s = empty()));
    return s;
  };
  for (const r of rows) {
    const rating = Number(r.rating);
    const n = Number(r.n);
    add(overall, rating, n);
    add(perDay[Number(r.day) - fromDay]!, rating, n);
    if (Number(r.technician_id) > 0) add(into(groups.technician, Number(r.technician_id)), rating, n);
    if (Number(r.team_id) > 0) add(into(groups.team, Number(r.team_id)), rating, n);
    if (Number(r.topic_id) > 0) add(into(groups.topic, Number(r.topic_id)), rating, n);
  }
  const list = <K extends string>(map: Map<number, RatingSummary>, key: K) =>
    [...map].map(([id, s]) => ({ [key]: id, ...finish(s) }) as { [P in K]: number } & RatingSummary).sort((a, b) => b.count - a.count || (a[key] as number) - (b[key] as number));
  return {
    overall: finish(overall),
    perDay: perDay.map(finish),
    byTechnician: list(groups.technician, 'technicianId'),
    byTeam: list(groups.team, 'teamId'),
    byTopic: list(groups.topic, 'topicId'),
  };
}
