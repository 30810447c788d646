// GET /api/v1/tickets/:id/report: the session report as JSON (issue 29), for
// whoever may read the ticket (a tickets:read token too).
import { Router } from 'express';
import { requireTechnician, technicianOf } from '../auth/guards.ts';
import { validate } from '../http/validate.ts';
import { ticketParams } from '../tickets/schema.ts';
import type { ReportService } from './service.ts';

const byId = validate({ params: ticketParams });

export function reportRoutes({ reports }: { reports: ReportService }): Router {
  const router = Router();
  router.get('/:id/report', requireTechnician, byId, async (req, res) => {
    res.json(await reports.of(byId.input(req).params.id, technicianOf(req)));
  });
  return router;
}
