// Topics' input, validated at the edge: a name in each language, the team
// that handles it (none: everyone's queue), a target wait, active or not.
import { z } from 'zod';

/** At most this many topics: the desktop's list and the terminal's numbered question stay short. */
export const MAX_TOPICS = 50;
/** The longest target wait: a day. */
export const MAX_TARGET_WAIT_SECONDS = 86_400;

const id = z.coerce.number().int().positive().max(2 ** 31 - 1);
const name = z.string({ error: 'is required' }).trim().min(1, 'is required').max(80, 'must be at most 80 characters');

export const topicParams = z.object({ id }).describe('topic id');

export const topicSchema = z.object({
  nameEn: name,
  nameEs: name,
  nameZh: name,
  teamId: id.nullable().default(null),
  targetWaitSeconds: z.coerce.number({ error: 'must be a number of seconds' }).int('must be a whole number of seconds').min(1, 'must be at least 1 second').max(MAX_TARGET_WAIT_SECONDS, `must be at most ${MAX_TARGET_WAIT_SECONDS} seconds (a day)`),
  active: z.boolean().default(true),
});
export type TopicInput = z.output<typeof topicSchema>;
