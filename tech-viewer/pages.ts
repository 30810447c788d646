// The technician's viewer page: /tech/:ticketId, for the technician who holds
// the ticket only. The page mints its own single-use viewer token when it
// connects (and again on Reconnect); the URL itself grants nothing.
import { Router } from 'express';
import { z } from 'zod';
import { AppError } from '../server/errors.ts';
import { validate } from '../server/http/validate.ts';
import { neverCached } from '../server/http/never-cached.ts';
import { ticketIdSchema } from '../server/tickets/schema.ts';
import type { TicketService } from '../server/tickets/service.ts';
import { pageLocals, requirePageLogin, timeText } from '../admin-web/page-helpers.ts';
import { mayWriteTo, type ChatService } from '../server/chat/service.ts';
import type { Translate } from '../admin-web/messages/index.ts';

export function techViewerPages({ tickets, chat }: { tickets: TicketService; chat: ChatService }): Router {
  const router = Router();
  // The page carries a CSRF token and its ticket's conversation: no cache keeps it.
  router.use('/tech', neverCached);
  const byId = validate({ params: z.object({ ticketId: ticketIdSchema }).describe('ticket id') });
  router.get('/tech/:ticketId', pageLocals, requirePageLogin, byId, async (req, res) => {
    const id = byId.input(req).params.ticketId;
    const ticket = await tickets.get(id);
    const t = res.locals.t as Translate;
    if (ticket.technician?.id !== req.user!.id) throw new AppError('FORBIDDEN', t('viewer.notHolder', { id }));
    const messages = await chat.list(ticket.id);
    res.render('tech', { ticket, messages, mayWrite: mayWriteTo(ticket, req.user!), timeText, title: t('viewer.title', { id: ticket.id, requester: ticket.requesterName, host: ticket.hostname }) });
  });
  return router;
}
