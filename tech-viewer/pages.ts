// The technician's viewer page: /tech/:ticketId, for the technician who holds
// the ticket, or one who takes (or took) part in its session (issue 26: the
// page then says whether the user allowed them yet). The page mints its own
// single-use viewer token when it connects (and again on Reconnect) — the
// holder's channel or the participant's own; the URL itself grants nothing.
import { Router } from 'express';
import { z } from 'zod';
import { AppError, isAppError } from '../server/errors.ts';
import { validate } from '../server/http/validate.ts';
import { neverCached } from '../server/http/never-cached.ts';
import { ticketIdSchema } from '../server/tickets/schema.ts';
import type { TicketService } from '../server/tickets/service.ts';
import type { FileService } from '../server/files/service.ts';
import { pageLocals, requirePageLogin } from '../admin-web/page-helpers.ts';
import { mayWriteTo, type ChatService } from '../server/chat/service.ts';
import type { Translate } from '../admin-web/messages/index.ts';
import type { ParticipantView } from '../protocol/participants.ts';
import { connectableStatuses } from '../protocol/tickets.ts';
import { specialKeys } from './special-keys.ts';
import { novncModulePaths } from './novnc-preload.ts';
import { closeCodesJson } from './close-codes-json.ts';
import { scriptJson } from '../admin-web/messages/index.ts';

/** Said in the page, not fetched after it (issue 31: the first frame waited for each in turn). */
const preload = { novncModules: novncModulePaths(), closeCodes: scriptJson(closeCodesJson()) };

export interface TechViewerDeps {
  tickets: TicketService;
  chat: ChatService;
  /** Who takes part in a ticket's session besides its holder (issue 26). */
  participants?: { list(ticketId: number, me: { id: number; role: 'admin' | 'technician' }): Promise<{ participants: ParticipantView[] }> };
  /** The ticket's files, in the viewer's drawer (issue 31). */
  files?: Pick<FileService, 'list' | 'maxBytes'>;
}

export function techViewerPages({ tickets, chat, participants, files }: TechViewerDeps): Router {
  const router = Router();
  // The page carries a CSRF token and its ticket's conversation: no cache keeps it.
  router.use('/tech', neverCached);
  const byId = validate({ params: z.object({ ticketId: ticketIdSchema }).describe('ticket id') });
  router.get('/tech/:ticketId', pageLocals, requirePageLogin, byId, async (req, res) => {
    const id = byId.input(req).params.ticketId;
    const ticket = await tickets.get(id);
    const t = res.locals.t as Translate;
    const holder = ticket.technician?.id === req.user!.id;
    if (!holder && !(await takesPart(id, req.user!))) throw new AppError('FORBIDDEN', t('viewer.notHolder', { id }));
    // The conversation and the files only to who may read the ticket: not to one merely invited, whom the user has not allowed yet.
    const mayRead = holder || (await tickets.viewable(id, req.user!).then(() => true, (err: unknown) => {
      if (isAppError(err) && err.code === 'FORBIDDEN') return false;
      throw err;
    }));
    const [messages, ticketFiles] = mayRead ? await Promise.all([chat.list(ticket.id), files ? files.list(ticket.id) : null]) : [[], null];
    const holderOrAdmin = holder || req.user!.role === 'admin';
    const filesPanel = ticketFiles && { files: ticketFiles, maxFileBytes: files!.maxBytes, mayDownload: holderOrAdmin, mayOffer: holderOrAdmin && mayWriteTo(ticket, req.user!) && ticket.status !== 'requested' };
    // The holder of a ticket that allows a session connects at once: the page's head starts it (first-connection.js).
    const connectAtOnce = holder && connectableStatuses.includes(ticket.status);
    res.render('tech', { ticket, holder, connectAtOnce, messages, specialKeys, preload, filesPanel, mayWrite: mayWriteTo(ticket, req.user!), title: t('viewer.title', { id: ticket.id, requester: ticket.requesterName, host: ticket.hostname }) });
  });
  /** Whether the technician has (or had) a participant row on the ticket: the page then tells them where they stand. */
  async function takesPart(ticketId: number, me: { id: number; role: 'admin' | 'technician' }): Promise<boolean> {
    if (!participants) return false;
    const { participants: list } = await participants.list(ticketId, me).catch((err: unknown) => {
      if (isAppError(err) && err.code === 'FORBIDDEN') return { participants: [] };
      throw err;
    });
    return list.some((p) => !p.holder && p.technicianId === me.id);
  }

  return router;
}
