// The survey's routes (issue 29): the user's answer on the desktop API
// (POST /api/v1/help-requests/:id/survey, the ticket's client secret as
// bearer, no cookies), and the technician's internal exit note on the staff
// API (POST /api/v1/tickets/:id/exit-note).
import { Router } from 'express';
import { requireTechnician, technicianContext } from '../auth/guards.ts';
import { parseOrThrow } from '../errors.ts';
import { validate } from '../http/validate.ts';
import { helpRequestParams, ticketParams } from '../tickets/schema.ts';
import type { TicketService } from '../tickets/service.ts';
import { exitNoteSchema, surveyBodySchema } from './schema.ts';
import type { SurveyService } from './service.ts';

const answer = validate({ params: helpRequestParams, body: surveyBodySchema.describe('survey') });
const note = validate({ params: ticketParams, body: exitNoteSchema.describe('exit note') });

/** Mounted at /api/v1/help-requests, before the rest of the desktop API. */
export function surveyDesktopRoutes({ surveys, tickets }: { surveys: SurveyService; tickets: TicketService }): Router {
  const router = Router();
  router.post('/:id/survey', async (req, res) => {
    // The secret first: a stranger learns nothing of the ticket, not even whether its body would do.
    const { id } = parseOrThrow(helpRequestParams, req.params, 'help request id');
    const match = /^Bearer ([A-Za-z0-9_-]{1,200})$/.exec(req.get('authorization') ?? '');
    const ticket = await tickets.authenticateClient(id, match?.[1] ?? null);
    const { body } = answer.parse(req);
    const saved = await surveys.answer(ticket.id, body, { actor: { type: 'requester', name: ticket.requesterName }, remoteAddress: req.ip ?? '' });
    res.status(201).json({ survey: saved });
  });
  return router;
}

/** Mounted at /api/v1/tickets (technicians signed in or with a tickets:write token). */
export function exitNoteRoutes({ surveys }: { surveys: SurveyService }): Router {
  const router = Router();
  router.post('/:id/exit-note', requireTechnician, note, async (req, res) => {
    const { params, body } = note.input(req);
    await surveys.exitNote(params.id, body.note, technicianContext(req));
    res.status(204).end();
  });
  return router;
}
