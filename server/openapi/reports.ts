// The session report (server/reports/routes.ts, issue 29): one ticket's
// summary, timeline, sessions, conversation, files, recordings and survey.
import { z } from 'zod';
import type { RouteDoc } from './describe.ts';
import { SurveyAnswer } from './surveys.ts';
import { AuditEvent, ChatMessage, RecordingSummary, RemoteSession, Ticket, TicketFile } from './views.ts';

export const SessionReport = z
  .object({
    ticket: Ticket,
    timeline: z.array(AuditEvent),
    sessions: z.array(RemoteSession),
    messages: z.array(ChatMessage),
    files: z.array(TicketFile),
    recordings: z.array(RecordingSummary),
    survey: SurveyAnswer.nullable(),
    exitNote: z.string().nullable().describe('The technician’s internal note, never shown to the user'),
    generatedAt: z.number().int(),
  })
  .meta({ id: 'SessionReport' });

export const reportDocs: RouteDoc[] = [
  {
    method: 'get',
    path: '/tickets/{id}/report',
    id: 'getSessionReport',
    summary: 'The session report of a ticket (what its printable page shows), for whoever may read the ticket',
    responses: { 200: SessionReport },
    errors: ['TICKET_NOT_FOUND', 'FORBIDDEN'],
  },
];
