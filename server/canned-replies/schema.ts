// Canned replies' inputs (issue 29): a title, a text with {user} and
// {technician} filled in when inserted, and the team it belongs to (null:
// every team). Bounded: 80 and 2,000 characters, CANNED_REPLIES_PER_TEAM.
import { z } from 'zod';

export const CANNED_TITLE_MAX = 80;
export const CANNED_BODY_MAX = 2000;
/** How many canned replies one team (or "every team") may hold. */
export const CANNED_REPLIES_PER_TEAM = 100;

export const cannedReplyBodySchema = z.object({
  title: z.string({ error: 'is required' }).trim().min(1, 'is required').max(CANNED_TITLE_MAX, `must be at most ${CANNED_TITLE_MAX} characters`),
  body: z.string({ error: 'is required' }).trim().min(1, 'is required').max(CANNED_BODY_MAX, `must be at most ${CANNED_BODY_MAX} characters`),
  teamId: z.preprocess((v) => (v === '' || v === undefined ? null : v), z.coerce.number().int().positive().max(2 ** 31 - 1).nullable()),
});
export type CannedReplyInput = z.output<typeof cannedReplyBodySchema>;

export const cannedReplyParams = z.object({ id: z.coerce.number().int().positive().max(2 ** 31 - 1) }).describe('canned reply id');
