// Satisfaction (server/surveys/routes.ts, issue 29): the user's answer after a
// session, the technician's internal exit note.
import { z } from 'zod';
import { empty, type RouteDoc } from './describe.ts';
import { surveyBodySchema } from '../surveys/schema.ts';

export const SurveyAnswer = z
  .object({ rating: z.number().int().min(1).max(5), comment: z.string().nullable(), answeredAt: z.number().int() })
  .meta({ id: 'SurveyAnswer' });

export const surveyDocs: RouteDoc[] = [
  {
    method: 'post',
    path: '/help-requests/{id}/survey',
    id: 'answerSurvey',
    summary: 'Rate the help received (1–5, a comment), once, after a session ended',
    // The route parses its body itself, after the client secret (so a stranger learns nothing).
    body: { kind: 'json', schema: surveyBodySchema },
    pathParams: { id: z.coerce.number().int().positive() },
    responses: { 201: z.object({ survey: SurveyAnswer }) },
    errors: ['SURVEY_NOT_YET', 'SURVEY_NO_SESSION', 'SURVEY_ANSWERED', 'VALIDATION_FAILED'],
  },
  { method: 'post', path: '/tickets/{id}/exit-note', id: 'writeExitNote', summary: 'Write the ticket’s internal exit note (technicians only)', responses: { 204: empty() }, errors: ['TICKET_NOT_FOUND', 'FORBIDDEN', 'ILLEGAL_TRANSITION'] },
];
