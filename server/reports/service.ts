// The session report (issue 29): one ticket's summary, timeline, sessions,
// conversation, files (with their SHA-256), recordings (duration and state),
// the user's answer and the technician's exit note, gathered from the readers
// the ticket page uses, with the same access rule (tickets.detail). The page
// (admin-web/report-pages.ts) and GET /api/v1/tickets/:id/report show the
// same object.
import type { ChatMessage, TicketFile, TicketView } from '../../protocol/events.ts';
import type { AuditEvent } from '../audit/store.ts';
import type { ChatService } from '../chat/service.ts';
import type { FileService } from '../files/service.ts';
import type { RecordingSummary } from '../recordings/service.ts';
import type { RemoteSession } from '../remote-sessions/store.ts';
import type { SurveyAnswer, SurveyService } from '../surveys/service.ts';
import type { TicketService, Viewer } from '../tickets/service.ts';

export interface SessionReport {
  ticket: TicketView;
  timeline: AuditEvent[];
  sessions: RemoteSession[];
  messages: ChatMessage[];
  files: TicketFile[];
  recordings: RecordingSummary[];
  survey: SurveyAnswer | null;
  /** The technician's internal note (staff only, as this report is). */
  exitNote: string | null;
  generatedAt: number;
}

export type ReportService = ReturnType<typeof createReportService>;

export function createReportService({ tickets, chat, files, surveys, now }: { tickets: TicketService; chat: ChatService; files: FileService; surveys: SurveyService; now: () => number }) {
  return {
    /** The report of one ticket for `viewer`: FORBIDDEN or TICKET_NOT_FOUND as reading the ticket would be. */
    async of(id: number, viewer: Viewer): Promise<SessionReport> {
      const detail = await tickets.detail(id, viewer);
      const [messages, ticketFiles, answer] = await Promise.all([chat.list(id), files.list(id), surveys.of(id)]);
      return { ...detail, messages, files: ticketFiles, survey: answer.survey, exitNote: answer.exitNote, generatedAt: now() };
    },
  };
}
