// The technicians' working pages: queue (with the dashboard strip), my
// tickets, ticket detail, history. Forms post and redirect, so everything
// works without JavaScript; live.js adds the live updates.
import { Router } from 'express';
import type { Knex } from 'knex';
import { parseOrThrow } from '../server/errors.ts';
import { technicianContext } from '../server/auth/guards.ts';
import { listAuditEvents } from '../server/audit/store.ts';
import { remoteSessionStore } from '../server/sessions/store.ts';
import { ticketIdSchema, historyQuerySchema } from '../server/tickets/schema.ts';
import { ticketStatuses } from '../server/tickets/state-machine.ts';
import type { TicketService } from '../server/tickets/service.ts';
import type { TechnicianService } from '../server/technicians/service.ts';
import type { RecordingService } from '../server/recordings/service.ts';
import { mayWriteTo, type ChatService } from '../server/chat/service.ts';
import type { FileService } from '../server/files/service.ts';
import { AppError } from '../server/errors.ts';
import { ageText, bytesText, formAction, requirePageLogin, timeText } from './page-helpers.ts';

export interface TicketPagesDeps {
  tickets: TicketService;
  technicians: TechnicianService;
  db: Knex;
  desktopState: (ticketId: number) => 'waiting' | 'paired' | null;
  recordings: RecordingService;
  chat: ChatService;
  files: FileService;
}


export function ticketPages({ tickets, technicians, db, desktopState, recordings, chat, files }: TicketPagesDeps): Router {
  const router = Router();
  router.use(['/queue', '/mine', '/tickets', '/history'], requirePageLogin);
  const idOf = (raw: unknown) => parseOrThrow(ticketIdSchema, raw, 'ticket id');
  const helpers = { ageText, bytesText, timeText, now: () => Date.now() };

  router.get('/', (req, res) => res.redirect(303, req.user ? '/queue' : '/login'));

  const withUnread = async <T extends { id: number }>(list: T[], technicianId: number) => {
    const unread = await chat.unread(technicianId, list.map((t) => t.id));
    return list.map((t) => ({ ...t, unread: unread.get(t.id) ?? 0 }));
  };

  router.get('/queue', async (req, res) => {
    const [queue, figures] = await Promise.all([tickets.queue().then((q) => withUnread(q, req.user!.id)), tickets.dashboard()]);
    res.render('queue', { title: res.locals.t('queue.title'), queue, figures, ...helpers });
  });

  router.get('/mine', async (req, res) => {
    const mine = (await withUnread(await tickets.activeFor(req.user!.id), req.user!.id)).map((t) => ({ ...t, desktop: desktopState(t.id) }));
    const toResolve = await withUnread(await tickets.toResolveFor(req.user!.id), req.user!.id);
    res.render('mine', { title: res.locals.t('mine.title'), mine, toResolve, ...helpers });
  });

  router.get('/tickets/:id', async (req, res) => {
    const ticket = await tickets.get(idOf(req.params.id));
    if (!tickets.canView(ticket, req.user!)) throw new AppError('FORBIDDEN', `Ticket ${ticket.id} is held by another technician`);
    const [timeline, sessions, recorded, messages, ticketFiles] = await Promise.all([
      listAuditEvents(db, { ticketId: ticket.id, limit: 1000 }),
      remoteSessionStore.forTicket(db, ticket.id),
      recordings.forTicket(ticket.id),
      chat.list(ticket.id),
      files.list(ticket.id),
    ]);
    const holderOrAdmin = req.user!.role === 'admin' || ticket.technician?.id === req.user!.id;
    // Opening the ticket reads its conversation.
    if (messages.length) await chat.markRead(ticket.id, req.user!.id, messages[messages.length - 1]!.id);
    res.render('ticket', {
      messages,
      mayWrite: mayWriteTo(ticket, req.user!),
      files: ticketFiles,
      maxFileBytes: files.maxBytes,
      mayDownload: holderOrAdmin,
      mayOffer: holderOrAdmin && mayWriteTo(ticket, req.user!) && ticket.status !== 'requested',
      recordings: recorded,
      title: res.locals.t('detail.title', { id: ticket.id }),
      ticket,
      timeline,
      sessions,
      desktop: desktopState(ticket.id),
      holder: ticket.technician?.id === req.user!.id,
      ...helpers,
    });
  });

  const back = (path: string) => () => path;
  router.post('/tickets/:id/accept', formAction(async (req) => {
    const ticket = await tickets.accept(idOf(req.params.id), technicianContext(req));
    return { redirect: '/mine', ok: `You accepted ticket #${ticket.id}. Waiting for ${ticket.requesterName} to allow you.` };
  }, back('/queue')));

  router.post('/tickets/:id/release', formAction(async (req) => {
    const ticket = await tickets.release(idOf(req.params.id), technicianContext(req));
    return { redirect: '/mine', ok: `Ticket #${ticket.id} is back in the queue.` };
  }, back('/mine')));

  router.post('/tickets/:id/end', formAction(async (req) => {
    const id = idOf(req.params.id);
    await tickets.end(id, technicianContext(req));
    return { redirect: `/tickets/${id}`, ok: 'The session was ended.' };
  }, (req) => `/tickets/${String(req.params.id)}`));

  router.post('/tickets/:id/messages', formAction(async (req) => {
    const ticket = await tickets.get(idOf(req.params.id));
    await chat.fromTechnician(ticket, req.user!, req.body, technicianContext(req));
    return { redirect: `/tickets/${ticket.id}`, ok: 'Message sent.' };
  }, (req) => `/tickets/${String(req.params.id)}`));

  router.post('/tickets/:id/resolve', formAction(async (req) => {
    const id = idOf(req.params.id);
    await tickets.resolve(id, req.body, technicianContext(req));
    return { redirect: `/tickets/${id}`, ok: `Ticket #${id} is resolved.` };
  }, (req) => `/tickets/${String(req.params.id)}`));

  router.get('/history', async (req, res) => {
    const query = parseOrThrow(historyQuerySchema, dropEmpty(req.query as Record<string, unknown>), 'search');
    const result = await tickets.history(query, req.user!);
    const list = req.user!.role === 'admin' ? await technicians.list() : [];
    const pages = Math.max(1, Math.ceil(result.total / query.pageSize));
    const pageLink = (page: number) => `/history?${new URLSearchParams({ ...(dropEmpty(req.query as Record<string, unknown>) as Record<string, string>), page: String(page) })}`;
    res.render('history', { title: res.locals.t('history.title'), result, query, pages, pageLink, statuses: ticketStatuses, technicians: list, ...helpers });
  });

  return router;
}

/** Empty form fields mean "any": they are dropped before validation. */
function dropEmpty(query: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(Object.entries(query).filter(([, v]) => typeof v === 'string' && v.trim() !== ''));
}
