// The printable session report (issue 29): /tickets/:id/report, the same
// object as GET /api/v1/tickets/:id/report (server/reports/), with the
// timeline in words (audit-words.ts) and a print stylesheet.
import { Router } from 'express';
import { validate } from '../server/http/validate.ts';
import { ticketParams } from '../server/tickets/schema.ts';
import type { ReportService } from '../server/reports/service.ts';
import type { TechnicianService } from '../server/technicians/service.ts';
import { describeAudit, endedByText, reasonKey } from './audit-words.ts';
import type { Translate } from './messages/index.ts';
import { requirePageLogin } from './page-helpers.ts';

const byId = validate({ params: ticketParams });

export function reportPages({ reports, technicians }: { reports: ReportService; technicians: TechnicianService }): Router {
  const router = Router();
  router.get('/tickets/:id/report', requirePageLogin, byId, async (req, res) => {
    const report = await reports.of(byId.input(req).params.id, req.user!);
    const people = await technicians.people();
    const t = res.locals.t as Translate;
    const { ticket } = report;
    res.render('report', {
      title: t('report.title', { id: ticket.id }),
      report,
      ticket,
      timeline: report.timeline.map((e) => ({ ...e, ...describeAudit(e, t, people, res.locals.fmt.bytes) })),
      sessions: report.sessions.map((s) => ({ ...s, endedByText: endedByText(s, ticket, t), reasonText: s.endReason ? t(reasonKey(s.endReason)) : '' })),
    });
  });
  return router;
}
