// Topics (issue 29): administrators name them in three languages, give each
// the team that handles it and a target wait; the desktop client offers the
// active ones in its user's language. A topic is never deleted (tickets keep
// it): it is made inactive, and new requests may no longer name it.
import type { Knex } from 'knex';
import { AppError } from '../errors.ts';
import type { Clock } from '../clock.ts';
import type { ActorContext } from '../audit/actor.ts';
import { insertAuditEvent } from '../audit/store.ts';
import type { TopicChoice, TopicLanguage } from '../../protocol/teams.ts';
import { MAX_TOPICS, type TopicInput } from './schema.ts';
import { topicStore, type Topic, type TopicRow } from './store.ts';

export type TopicService = ReturnType<typeof createTopicService>;

const rowOf = (input: TopicInput): Pick<TopicRow, 'name_en' | 'name_es' | 'name_zh' | 'team_id' | 'target_wait_seconds' | 'active'> => ({
  name_en: input.nameEn,
  name_es: input.nameEs,
  name_zh: input.nameZh,
  team_id: input.teamId,
  target_wait_seconds: input.targetWaitSeconds,
  active: input.active,
});

export function createTopicService({ db, clock }: { db: Knex; clock: Clock }) {
  async function get(id: number, trx: Knex = db): Promise<Topic> {
    const topic = await topicStore.byId(trx, id);
    if (!topic) throw new AppError('TOPIC_NOT_FOUND', `No topic with id ${id}`);
    return topic;
  }

  async function teamExists(trx: Knex, teamId: number | null): Promise<void> {
    if (teamId !== null && !(await trx('teams').where({ id: teamId }).first())) throw new AppError('TEAM_NOT_FOUND', `No team with id ${teamId}`);
  }

  return {
    get: (id: number) => get(id),
    list: () => topicStore.list(db),

    /** The active topics as the desktop client offers them, in `lang`. */
    async choices(lang: TopicLanguage): Promise<TopicChoice[]> {
      const topics = await topicStore.list(db, true);
      return topics.map((t) => ({ id: t.id, name: t.names[lang] })).sort((a, b) => a.name.localeCompare(b.name, lang));
    },

    create(input: TopicInput, context: ActorContext): Promise<Topic> {
      return db.transaction(async (trx) => {
        if ((await topicStore.count(trx)) >= MAX_TOPICS) throw new AppError('TOO_MANY_TOPICS', `There are already ${MAX_TOPICS} topics, the most there may be`, { max: MAX_TOPICS });
        await teamExists(trx, input.teamId);
        const now = clock.now();
        const id = await topicStore.insert(trx, { ...rowOf(input), created_at: now, updated_at: now });
        await insertAuditEvent(trx, now, context, 'topic.created', {}, { topicId: id, name: input.nameEn, targetWaitSeconds: input.targetWaitSeconds });
        return get(id, trx);
      });
    },

    update(id: number, input: TopicInput, context: ActorContext): Promise<Topic> {
      return db.transaction(async (trx) => {
        const before = await get(id, trx);
        await teamExists(trx, input.teamId);
        const now = clock.now();
        await topicStore.update(trx, id, { ...rowOf(input), updated_at: now });
        await insertAuditEvent(trx, now, context, 'topic.updated', {}, { topicId: id, name: input.nameEn, previousName: before.names.en, targetWaitSeconds: input.targetWaitSeconds, active: input.active });
        return get(id, trx);
      });
    },
  };
}

/**
 * The topic a new request names, read in its transaction: an unknown or
 * inactive one is refused in words (TOPIC_UNKNOWN), the same for both.
 */
export async function topicForRequest(trx: Knex, topicId: number): Promise<Topic> {
  const topic = await topicStore.byId(trx, topicId);
  if (!topic || !topic.active) throw new AppError('TOPIC_UNKNOWN', `There is no topic ${topicId} to ask about: choose one of the topics offered`, { topicId });
  return topic;
}
