// Canned replies' routes (issue 29): administrators manage them at
// /api/v1/canned-replies; a technician reads a ticket's, filled in, at
// /api/v1/tickets/:id/canned-replies (whoever may read the ticket).
import { Router } from 'express';
import { requireAdmin, requireTechnician, technicianContext, technicianOf } from '../auth/guards.ts';
import { validate } from '../http/validate.ts';
import { ticketParams } from '../tickets/schema.ts';
import type { TicketService } from '../tickets/service.ts';
import { cannedReplyBodySchema, cannedReplyParams } from './schema.ts';
import type { CannedReplyService } from './service.ts';

const create = validate({ body: cannedReplyBodySchema.describe('canned reply') });
const update = validate({ params: cannedReplyParams, body: cannedReplyBodySchema.describe('canned reply') });
const byId = validate({ params: cannedReplyParams });
const forTicket = validate({ params: ticketParams });

export function cannedReplyRoutes({ cannedReplies }: { cannedReplies: CannedReplyService }): Router {
  const router = Router();
  router.use(requireAdmin);
  router.get('/', async (_req, res) => {
    res.json({ cannedReplies: await cannedReplies.list() });
  });
  router.post('/', create, async (req, res) => {
    res.status(201).json({ cannedReply: await cannedReplies.create(create.input(req).body, technicianContext(req)) });
  });
  router.patch('/:id', update, async (req, res) => {
    const { params, body } = update.input(req);
    res.json({ cannedReply: await cannedReplies.update(params.id, body, technicianContext(req)) });
  });
  router.delete('/:id', byId, async (req, res) => {
    await cannedReplies.remove(byId.input(req).params.id, technicianContext(req));
    res.status(204).end();
  });
  return router;
}

/** Mounted at /api/v1/tickets. */
export function ticketCannedReplyRoutes({ cannedReplies, tickets }: { cannedReplies: CannedReplyService; tickets: TicketService }): Router {
  const router = Router();
  router.get('/:id/canned-replies', requireTechnician, forTicket, async (req, res) => {
    const me = technicianOf(req);
    const ticket = await tickets.viewable(forTicket.input(req).params.id, me);
    res.json({ cannedReplies: await cannedReplies.forTicket(ticket, me.displayName) });
  });
  return router;
}
