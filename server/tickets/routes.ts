// The technicians' ticket API (session-authenticated, CSRF-protected):
// queue, own tickets, history, detail, the moves a technician makes, and the
// single-use viewer token.
import { Router } from 'express';
import type { Knex } from 'knex';
import { AppError, parseOrThrow } from '../errors.ts';
import { requireTechnician, technicianContext, technicianOf } from '../auth/guards.ts';
import { listAuditEvents } from '../audit/store.ts';
import { remoteSessionStore } from '../remote-sessions/store.ts';
import { websocketUrl } from '../http/base-url.ts';
import type { PairingTokenService } from '../tokens/service.ts';
import { connectableStatuses } from './state-machine.ts';
import { historyQuerySchema, ticketIdSchema } from './schema.ts';
import type { TicketService } from './service.ts';
import type { RecordingService } from '../recordings/service.ts';
import type { Redis } from 'ioredis';
import { z } from 'zod';
import type { ChatService } from '../chat/service.ts';
import type { FileService } from '../files/service.ts';
import { closeAfterAnswer, declaredLength, sendTicketFile } from '../files/http.ts';
import { createLimiter } from '../http/limiter.ts';

export interface TicketRoutesDeps {
  db: Knex;
  chat: ChatService;
  messageRatePerMinute: number;
  files: FileService;
  uploadRatePerMinute: number;
  redis: Redis | null;
  recordings: RecordingService;
  tickets: TicketService;
  tokens: PairingTokenService;
  publicUrl: string | null;
  /** The repeater process's public URL (ws:// or wss://), when the repeater runs on its own. */
  repeaterUrl: string | null;
  /** With repeater nodes: the URL of the node carrying a ticket. */
  repeaterUrlFor?: ((ticketId: number) => Promise<string | null>) | null;
  /** Whether the ticket's desktop leg is connected to the repeater now. */
  desktopState: (ticketId: number) => 'waiting' | 'paired' | null;
}

export function ticketRoutes(deps: TicketRoutesDeps): Router {
  const { tickets, tokens, db } = deps;
  const router = Router();
  router.use(requireTechnician);
  const idOf = (raw: unknown) => parseOrThrow(ticketIdSchema, raw, 'ticket id');

  router.get('/queue', async (_req, res) => {
    res.json({ tickets: await tickets.queue() });
  });

  router.get('/mine', async (req, res) => {
    const mine = await tickets.activeFor(technicianOf(req).id);
    res.json({ tickets: mine.map((t) => ({ ...t, desktop: deps.desktopState(t.id) })) });
  });

  router.get('/', async (req, res) => {
    const result = await tickets.history(parseOrThrow(historyQuerySchema, req.query, 'history query'), technicianOf(req));
    res.json(result);
  });

  const viewable = async (req: import('express').Request) => {
    const ticket = await tickets.get(idOf(req.params.id));
    if (!tickets.canView(ticket, technicianOf(req))) throw new AppError('FORBIDDEN', `Ticket ${ticket.id} is held by another technician`);
    return ticket;
  };

  router.get('/:id', async (req, res) => {
    const ticket = await viewable(req);
    const [timeline, sessions, recordings] = await Promise.all([
      listAuditEvents(db, { ticketId: ticket.id, limit: 1000 }),
      remoteSessionStore.forTicket(db, ticket.id),
      deps.recordings.forTicket(ticket.id),
    ]);
    res.json({ ticket, desktop: deps.desktopState(ticket.id), timeline, sessions, recordings });
  });

  const messageLimiter = createLimiter({
    name: 'messages-technician',
    perMinute: deps.messageRatePerMinute,
    message: 'Too many messages; wait a minute and write again',
    redis: deps.redis,
    key: (req) => `technician:${req.user?.id ?? 0}`,
  });

  router.get('/:id/messages', async (req, res) => {
    res.json({ messages: await deps.chat.list((await viewable(req)).id) });
  });

  router.post('/:id/messages', messageLimiter, async (req, res) => {
    const ticket = await tickets.get(idOf(req.params.id));
    res.status(201).json({ message: await deps.chat.fromTechnician(ticket, technicianOf(req), req.body, technicianContext(req)) });
  });

  const uploadLimiter = createLimiter({
    name: 'uploads-technician',
    perMinute: deps.uploadRatePerMinute,
    message: 'Too many files sent; wait a minute and send again',
    redis: deps.redis,
    key: (req) => `technician:${req.user?.id ?? 0}`,
  });

  router.get('/:id/files', async (req, res) => {
    res.json({ files: await deps.files.list((await viewable(req)).id) });
  });

  // The file is the raw body (application/octet-stream), its name in ?name=.
  router.post('/:id/files', uploadLimiter, async (req, res) => {
    const length = declaredLength(req);
    if (length !== null && length > deps.files.maxBytes) closeAfterAnswer(res);
    const ticket = await tickets.get(idOf(req.params.id));
    res.status(201).json({ file: await deps.files.offer(ticket, technicianOf(req), req.query.name, req, length, technicianContext(req)) });
  });

  router.get('/:id/files/:fileId', async (req, res) => {
    const ticket = await tickets.get(idOf(req.params.id));
    const { stream, file } = await deps.files.openForTechnician(ticket, technicianOf(req), String(req.params.fileId), technicianContext(req));
    sendTicketFile(res, stream, file);
  });

  router.post('/:id/messages/read', async (req, res) => {
    const ticket = await viewable(req);
    const { lastReadId } = parseOrThrow(z.object({ lastReadId: z.number().int().nonnegative() }), req.body, 'read mark');
    await deps.chat.markRead(ticket.id, technicianOf(req).id, lastReadId);
    res.status(204).end();
  });

  router.post('/:id/accept', async (req, res) => {
    res.json({ ticket: await tickets.accept(idOf(req.params.id), technicianContext(req)) });
  });

  router.post('/:id/release', async (req, res) => {
    res.json({ ticket: await tickets.release(idOf(req.params.id), technicianContext(req)) });
  });

  router.post('/:id/end', async (req, res) => {
    res.json({ ticket: await tickets.end(idOf(req.params.id), technicianContext(req)) });
  });

  router.post('/:id/resolve', async (req, res) => {
    res.json({ ticket: await tickets.resolve(idOf(req.params.id), req.body, technicianContext(req)) });
  });

  router.post('/:id/viewer-token', async (req, res) => {
    const me = technicianOf(req);
    const ticket = await tickets.get(idOf(req.params.id));
    if (ticket.technician?.id !== me.id) throw new AppError('FORBIDDEN', `Only the technician who holds ticket ${ticket.id} may view it`);
    if (!connectableStatuses.includes(ticket.status)) {
      throw new AppError('ILLEGAL_TRANSITION', `Ticket ${ticket.id} is ${ticket.status.replace('_', ' ')}: the user has not allowed a session`);
    }
    const minted = await tokens.mint(ticket.id, 'viewer', me.id);
    res.status(201).json({ url: websocketUrl(req, deps.publicUrl, '/wsClient', minted.token, (await deps.repeaterUrlFor?.(ticket.id)) ?? deps.repeaterUrl), expiresAt: minted.expiresAt, viewOnly: ticket.viewOnly });
  });

  return router;
}
