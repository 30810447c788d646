// The technicians' working pages: queue (with the dashboard strip), my
// tickets, ticket detail, history. Forms post and redirect, so everything
// works without JavaScript; live.js adds the live updates.
import { Router, type Request } from 'express';
import { z } from 'zod';
import { technicianContext } from '../server/auth/guards.ts';
import { validate } from '../server/http/validate.ts';
import { historyQuerySchema, queueQuerySchema, resolveSchema, statsQuerySchema, ticketParams } from '../server/tickets/schema.ts';
import { ticketStatuses } from '../server/tickets/state-machine.ts';
import type { TicketService } from '../server/tickets/service.ts';
import type { TechnicianService } from '../server/technicians/service.ts';
import { mayWriteTo, messageBodySchema, type ChatService } from '../server/chat/service.ts';
import type { FileService } from '../server/files/service.ts';
import { describeAudit, endedByText, reasonKey } from './audit-words.ts';
import type { Translate } from './messages/index.ts';
import { formAction, requirePageAdmin, requirePageLogin } from './page-helpers.ts';
import { writeHistoryCsv } from './history-csv.ts';

export interface TicketPagesDeps {
  tickets: TicketService;
  technicians: TechnicianService;
  desktopState: (ticketId: number) => Promise<'waiting' | 'paired' | null>;
  chat: ChatService;
  files: FileService;
}


/** Empty form fields mean "any": they are dropped before validation. */
const search = z.preprocess(dropEmpty, historyQuerySchema).describe('search');
const byId = validate({ params: ticketParams });
const historyPage = validate({ query: search });
const csvExport = validate({ query: z.preprocess((q) => { const { after: _a, before: _b, ...rest } = dropEmpty(q) as Record<string, unknown>; return rest; }, historyQuerySchema).describe('search') });
const statsPage = validate({ query: z.preprocess(dropEmpty, statsQuerySchema).describe('period') });
const messageForm = validate({ params: ticketParams, body: messageBodySchema });
const resolveForm = validate({ params: ticketParams, body: resolveSchema.describe('resolution') });
const queuePage = validate({ query: z.preprocess(dropEmpty, queueQuerySchema).describe('queue') });

export function ticketPages({ tickets, technicians, desktopState, chat, files }: TicketPagesDeps): Router {
  const router = Router();
  router.use(['/queue', '/mine', '/tickets', '/history', '/history.csv'], requirePageLogin);
  // timeText and bytesText are the page's (res.locals: its language and the reader's time zone).
  const helpers = { now: () => Date.now() };

  router.get('/', (req, res) => res.redirect(303, req.user ? '/queue' : '/login'));

  const withUnread = async <T extends { id: number }>(list: T[], technicianId: number) => {
    const unread = await chat.unread(technicianId, list.map((t) => t.id));
    return list.map((t) => ({ ...t, unread: unread.get(t.id) ?? 0 }));
  };

  router.get('/queue', queuePage, async (req, res) => {
    // Issue 29: a team's queue, every team of mine (and everyone's), or (administrators) all.
    const team = queuePage.input(req).query.team ?? (req.user!.role === 'admin' ? 'all' : 'mine');
    const [queue, figures, teams] = await Promise.all([tickets.queue(req.user!, team).then((q) => withUnread(q, req.user!.id)), tickets.dashboard(), tickets.queueTeams(req.user!)]);
    // Tickets whose user declined me lately (or for good) say so, and offer no Accept.
    const declined = await tickets.declinedFor(req.user!.id, queue.map((q) => q.id));
    const rows = queue.map((q) => {
      const waitMs = declined.get(q.id);
      return { ...q, declinedMinutes: waitMs === undefined ? null : Math.ceil(waitMs / 60_000) };
    });
    res.render('queue', { title: res.locals.t('queue.title'), queue: rows, figures, teams, team, ...helpers });
  });

  router.get('/mine', async (req, res) => {
    const mine = await Promise.all((await withUnread(await tickets.activeFor(req.user!.id), req.user!.id)).map(async (t) => ({ ...t, desktop: await desktopState(t.id) })));
    const toResolve = await withUnread(await tickets.toResolveFor(req.user!.id), req.user!.id);
    // A ticket whose user declined me lately left this list for the queue: it says so here too, not only live.
    const queue = await tickets.queue();
    const declinedWait = await tickets.declinedFor(req.user!.id, queue.map((q) => q.id));
    const declined = queue.flatMap((q) => {
      const waitMs = declinedWait.get(q.id);
      return waitMs === undefined ? [] : [{ id: q.id, requesterName: q.requesterName, minutes: waitMs === Infinity ? Infinity : Math.ceil(waitMs / 60_000) }];
    });
    res.render('mine', { title: res.locals.t('mine.title'), mine, toResolve, declined, ...helpers });
  });

  router.get('/tickets/:id', byId, async (req, res) => {
    const { ticket, timeline, sessions, recordings: recorded } = await tickets.detail(byId.input(req).params.id, req.user!);
    const [messages, ticketFiles, people] = await Promise.all([
      chat.list(ticket.id),
      files.list(ticket.id),
      technicians.people(),
    ]);
    const t = res.locals.t as Translate;
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
      timeline: timeline.map((e) => ({ ...e, ...describeAudit(e, t, people, res.locals.fmt.bytes) })),
      sessions: sessions.map((s) => ({ ...s, endedByText: endedByText(s, ticket, t), reasonText: s.endReason ? t(reasonKey(s.endReason)) : '' })),
      desktop: await desktopState(ticket.id),
      holder: ticket.technician?.id === req.user!.id,
      ...helpers,
    });
  });

  const back = (path: string) => () => path;
  const toTicket = (req: Request) => `/tickets/${String(req.params.id)}`;
  router.post('/tickets/:id/accept', formAction(async (req, _res, t, { params }) => {
    const ticket = await tickets.accept(params.id, technicianContext(req));
    return { redirect: '/mine', ok: t('flash.accepted', { id: ticket.id, requester: ticket.requesterName }) };
  }, back('/queue'), byId));

  router.post('/tickets/:id/release', formAction(async (req, _res, t, { params }) => {
    const ticket = await tickets.release(params.id, technicianContext(req));
    return { redirect: '/mine', ok: t('flash.released', { id: ticket.id }) };
  }, back('/mine'), byId));

  router.post('/tickets/:id/end', formAction(async (req, _res, t, { params: { id } }) => {
    await tickets.end(id, technicianContext(req));
    return { redirect: `/tickets/${id}`, ok: t('flash.ended') };
  }, toTicket, byId));

  router.post('/tickets/:id/messages', formAction(async (req, _res, t, { params, body: text }) => {
    // As the API: only who may read the ticket writes to its user (another team's queued request: no).
    const ticket = await tickets.get(params.id);
    if (ticket.status === 'requested') await tickets.viewable(ticket.id, req.user!);
    await chat.fromTechnician(ticket, req.user!, text, technicianContext(req));
    return { redirect: `/tickets/${ticket.id}`, ok: t('chat.sent') };
  }, toTicket, messageForm));

  router.post('/tickets/:id/resolve', formAction(async (req, _res, t, { params: { id }, body }) => {
    await tickets.resolve(id, body.resolution, technicianContext(req));
    return { redirect: `/tickets/${id}`, ok: t('flash.resolved', { id }) };
  }, toTicket, resolveForm));

  router.get('/history', historyPage, async (req, res) => {
    const given = dropEmpty(req.query) as Record<string, string>;
    const { query } = historyPage.input(req);
    const result = await tickets.history(query, req.user!);
    const list = req.user!.role === 'admin' ? await technicians.list() : [];
    // Pages by cursor (next / previous, or a date to jump to): the filters stay, the position changes.
    const { after: _after, before: _before, at: _at, ...filters } = given;
    const pageLink = (position: Record<string, string>) => `/history?${new URLSearchParams({ ...filters, ...position })}`;
    const csvLink = `/history.csv?${new URLSearchParams(filters)}`;
    const paged = Boolean(query.after ?? query.before ?? query.at);
    res.render('history', { title: res.locals.t('history.title'), result, query, filters, paged, pageLink, csvLink, statuses: ticketStatuses, technicians: list, ...helpers });
  });

  // The same search as CSV: every matching row (up to CSV_MAX_ROWS), read by cursor a page at a time and
  // written as the client takes it (a slow reader holds the reads: memory stays that of one page).
  router.get('/history.csv', csvExport, async (req, res) => {
    const { query } = csvExport.input(req);
    res.set({ 'Content-Type': 'text/csv; charset=utf-8', 'Content-Disposition': 'attachment; filename="helpdesk-history.csv"', 'X-Content-Type-Options': 'nosniff' });
    await writeHistoryCsv(res, tickets.historyAll(query, req.user!, CSV_MAX_ROWS));
  });

  router.get('/stats', requirePageAdmin, statsPage, async (req, res) => {
    const { days } = statsPage.input(req).query;
    const [stats, people] = await Promise.all([tickets.stats(days), technicians.people()]);
    const t = res.locals.t as Translate;
    const byTechnician = stats.byTechnician.map((r) => ({ ...r, name: people.get(r.technicianId)?.displayName ?? `#${r.technicianId}` }));
    const byReason = stats.byReason.map((r) => ({ ...r, words: t(reasonKey(r.reason)) }));
    res.render('stats', { title: t('stats.title'), days, stats: { ...stats, byTechnician, byReason } });
  });

  return router;
}

const CSV_MAX_ROWS = 100_000;

export { csvLine } from './history-csv.ts';

/** Empty form fields mean "any": they are dropped before validation. */
function dropEmpty(query: unknown): Record<string, unknown> {
  return Object.fromEntries(Object.entries(query as Record<string, unknown>).filter(([, v]) => typeof v === 'string' && v.trim() !== ''));
}
