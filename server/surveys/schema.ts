// The satisfaction survey's inputs (issue 29): the user's answer after the
// session, and the technician's internal note at resolution.
import { z } from 'zod';

/** SURVEY_COMMENT_MAX: a comment's length bound (characters). */
export const SURVEY_COMMENT_MAX = 1000;
export const EXIT_NOTE_MAX = 4000;

export const surveyBodySchema = z.object({
  rating: z.number({ error: 'must be a whole number from 1 to 5' }).int('must be a whole number from 1 to 5').min(1, 'must be from 1 to 5').max(5, 'must be from 1 to 5'),
  comment: z
    .string({ error: 'must be text' })
    .trim()
    .max(SURVEY_COMMENT_MAX, `must be at most ${SURVEY_COMMENT_MAX} characters`)
    .nullable()
    .optional()
    .transform((c) => (c ? c : null)),
});
export type SurveyInput = z.output<typeof surveyBodySchema>;

export const exitNoteSchema = z.object({
  note: z.string({ error: 'must be text' }).trim().max(EXIT_NOTE_MAX, `must be at most ${EXIT_NOTE_MAX} characters`),
});
