// Satisfaction on the staff pages (issue 29): the user's answer and the
// technician's internal exit note on the ticket page, the figures on the
// statistics page. Mounted before ticketPages: it adds to the locals those
// pages render with (the ticket page still checks who may read the ticket)
// and takes the exit note's form.
import { Router } from 'express';
import { z } from 'zod';
import { technicianContext } from '../server/auth/guards.ts';
import { validate } from '../server/http/validate.ts';
import { statsQuerySchema, ticketParams } from '../server/tickets/schema.ts';
import type { SurveyService } from '../server/surveys/service.ts';
import { exitNoteSchema } from '../server/surveys/schema.ts';
import type { TechnicianService } from '../server/technicians/service.ts';
import { formAction, requirePageAdmin, requirePageLogin } from './page-helpers.ts';
import type { TicketService } from '../server/tickets/service.ts';
import type { ChatService } from '../server/chat/service.ts';
import type { FileService } from '../server/files/service.ts';
import { createReportService } from '../server/reports/service.ts';
import { reportPages } from './report-pages.ts';
import type { CannedReplyService } from '../server/canned-replies/service.ts';
import { cannedPages } from './canned-pages.ts';

export interface SurveyPagesDeps {
  surveys: SurveyService;
  technicians: TechnicianService;
  /** The readers the session report gathers (issue 29). */
  tickets: TicketService;
  chat: ChatService;
  files: FileService;
  /** Canned replies' administration page (issue 29). */
  cannedReplies?: CannedReplyService;
}

const byId = validate({ params: ticketParams });
const period = validate({ query: z.preprocess((q) => Object.fromEntries(Object.entries(q as Record<string, unknown>).filter(([, v]) => v !== '')), statsQuerySchema).describe('period') });
const noteForm = validate({ params: ticketParams, body: exitNoteSchema.describe('exit note') });

export function surveyPages({ surveys, technicians, tickets, chat, files, cannedReplies }: SurveyPagesDeps): Router {
  const router = Router();
  if (cannedReplies) router.use(cannedPages({ cannedReplies, teams: () => surveys.teams() }));
  router.use(reportPages({ reports: createReportService({ tickets, chat, files, surveys, now: Date.now }), technicians }));
  router.get('/tickets/:id', requirePageLogin, byId, async (req, res, next) => {
    res.locals.survey = await surveys.of(byId.input(req).params.id);
    next();
  });
  router.get('/stats', requirePageAdmin, period, async (req, res, next) => {
    const { days } = period.input(req).query;
    const [figures, people] = await Promise.all([surveys.stats(days, String(res.locals.lang)), technicians.people()]);
    res.locals.satisfaction = {
      ...figures,
      byTechnician: figures.byTechnician.map((r) => ({ ...r, name: people.get(r.technicianId)?.displayName ?? `#${r.technicianId}` })),
      byTeam: figures.byTeam.map((r) => ({ ...r, name: figures.teamNames[r.teamId] ?? `#${r.teamId}` })),
      byTopic: figures.byTopic.map((r) => ({ ...r, name: figures.topicNames[r.topicId] ?? `#${r.topicId}` })),
    };
    next();
  });
  router.post('/tickets/:id/exit-note', requirePageLogin, formAction(async (req, _res, t, { params: { id }, body }) => {
    await surveys.exitNote(id, body.note, technicianContext(req));
    return { redirect: `/tickets/${id}`, ok: t('survey.exitNoteSaved') };
  }, (req) => `/tickets/${String(req.params.id)}`, noteForm));
  return router;
}
