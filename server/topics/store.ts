// Topics: plain rows, and the one a new request names (active only).
import type { Knex } from 'knex';
import type { TopicNames } from '../../protocol/teams.ts';

export interface TopicRow {
  id: number;
  name_en: string;
  name_es: string;
  name_zh: string;
  team_id: number | null;
  target_wait_seconds: number;
  active: number | boolean;
  created_at: number;
  updated_at: number;
}

export interface Topic {
  id: number;
  names: TopicNames;
  teamId: number | null;
  targetWaitSeconds: number;
  active: boolean;
}

export const toTopic = (r: TopicRow): Topic => ({
  id: Number(r.id),
  names: { en: r.name_en, es: r.name_es, zh: r.name_zh },
  teamId: r.team_id === null ? null : Number(r.team_id),
  targetWaitSeconds: Number(r.target_wait_seconds),
  active: Boolean(r.active),
});

export const topicStore = {
  list: async (db: Knex, activeOnly = false): Promise<Topic[]> => {
    const q = db<TopicRow>('topics').orderBy('name_en').orderBy('id').limit(1000);
    if (activeOnly) q.where({ active: true });
    return (await q).map(toTopic);
  },

  byId: async (db: Knex, id: number): Promise<Topic | undefined> => {
    const row = await db<TopicRow>('topics').where({ id }).first();
    return row ? toTopic(row) : undefined;
  },

  count: async (db: Knex): Promise<number> => Number(((await db('topics').count({ n: '*' }).first()) as { n: number | string }).n),

  async insert(db: Knex, row: Omit<TopicRow, 'id'>): Promise<number> {
    const [id] = await db('topics').insert(row);
    return Number(id);
  },

  update: (db: Knex, id: number, patch: Partial<TopicRow>) => db('topics').where({ id }).update(patch),
};
