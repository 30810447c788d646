// The technicians' ticket API (session-authenticated, CSRF-protected):
// queue, own tickets, history, detail, the moves a technician makes, and the
// single-use viewer token. Input is validated at the edge; services do the rest.
import { Router } from 'express';
import { z } from 'zod';
import type { Redis } from 'ioredis';
import { requireTechnician, technicianContext, technicianOf } from '../auth/guards.ts';
import { legUrl, type LegUrlPolicy } from '../http/base-url.ts';
import { createLimiter } from '../http/limiter.ts';
import { validate } from '../http/validate.ts';
import { neverCached } from '../http/never-cached.ts';
import type { PairingTokenService } from '../tokens/service.ts';
import { channelKey } from '../../protocol/participants.ts';
import { historyQuerySchema, queueQuerySchema, resolveSchema, ticketParams } from './schema.ts';
import { moveSchema } from '../teams/schema.ts';
import type { TicketService } from './service.ts';
import { messageBodySchema, type ChatService } from '../chat/service.ts';
import { uploadQuerySchema, type FileService } from '../files/service.ts';
import { closeWhenTooLarge, closingIfRefused, declaredLength, sendTicketFile } from '../files/http.ts';

export interface TicketRoutesDeps {
  chat: ChatService;
  messageRatePerMinute: number;
  files: FileService;
  uploadRatePerMinute: number;
  redis: Redis | null;
  tickets: TicketService;
  tokens: PairingTokenService;
  /** Where viewer legs connect. */
  legUrls: LegUrlPolicy;
  /** Which channel a technician's viewer opens (issue 26): the main one for a holder without a participant row, else their connected participant's; FORBIDDEN otherwise. */
  viewerChannel: (ticket: import('../../protocol/events.ts').TicketView, me: { id: number; role: 'admin' | 'technician' }) => Promise<{ participantId: number | null; mode: 'view' | 'control' }>;
  /** Whether the ticket's desktop leg is connected to the repeater now. */
  desktopState: (ticketId: number) => Promise<'waiting' | 'paired' | null>;
}

const byId = validate({ params: ticketParams });
const history = validate({ query: historyQuerySchema.describe('history query') });
const message = validate({ params: ticketParams, body: messageBodySchema });
const upload = validate({ params: ticketParams, query: uploadQuerySchema });
const fileById = validate({ params: ticketParams.extend({ fileId: z.string().min(1).max(64) }) });
const readMark = validate({ params: ticketParams, body: z.object({ lastReadId: z.number().int().nonnegative() }).describe('read mark') });
const resolve = validate({ params: ticketParams, body: resolveSchema.describe('resolution') });
const queueQuery = validate({ query: queueQuerySchema.describe('queue') });
const move = validate({ params: ticketParams, body: moveSchema.describe('move') });

export function ticketRoutes(deps: TicketRoutesDeps): Router {
  const { tickets, tokens } = deps;
  const router = Router();
  router.use(requireTechnician);
  const idOf = (req: import('express').Request) => byId.input(req).params.id;

  router.get('/queue', queueQuery, async (req, res) => {
    res.json({ tickets: await tickets.queue(technicianOf(req), queueQuery.input(req).query.team) });
  });

  router.get('/mine', async (req, res) => {
    const mine = await tickets.activeFor(technicianOf(req).id);
    res.json({ tickets: await Promise.all(mine.map(async (t) => ({ ...t, desktop: await deps.desktopState(t.id) }))) });
  });

  router.get('/', history, async (req, res) => {
    res.json(await tickets.history(history.input(req).query, technicianOf(req)));
  });

  router.get('/:id', byId, async (req, res) => {
    const detail = await tickets.detail(idOf(req), technicianOf(req));
    res.json({ ...detail, desktop: await deps.desktopState(detail.ticket.id) });
  });

  const perTechnician = (req: import('express').Request) => `technician:${req.user?.id ?? 0}`;
  const messageLimiter = createLimiter({ name: 'messages-technician', perMinute: deps.messageRatePerMinute, message: 'Too many messages; wait a minute and write again', redis: deps.redis, key: perTechnician });
  const uploadLimiter = createLimiter({ name: 'uploads-technician', perMinute: deps.uploadRatePerMinute, message: 'Too many files sent; wait a minute and send again', redis: deps.redis, key: perTechnician });

  router.get('/:id/messages', byId, async (req, res) => {
    res.json({ messages: await deps.chat.list((await tickets.viewable(idOf(req), technicianOf(req))).id) });
  });

  router.post('/:id/messages', messageLimiter, message, async (req, res) => {
    const { params, body: text } = message.input(req);
    // A queued request: only who may read it (its team's technicians, issue 29) writes to its user; the chat checks the rest.
    const ticket = await tickets.get(params.id);
    if (ticket.status === 'requested') await tickets.viewable(ticket.id, technicianOf(req));
    res.status(201).json({ message: await deps.chat.fromTechnician(ticket, technicianOf(req), text, technicianContext(req)) });
  });

  router.get('/:id/files', byId, async (req, res) => {
    res.json({ files: await deps.files.list((await tickets.viewable(idOf(req), technicianOf(req))).id) });
  });

  // The file is the raw body (application/octet-stream), its name in ?name=.
  router.post('/:id/files', uploadLimiter, closeWhenTooLarge(deps.files.maxBytes), upload, async (req, res) => {
    const { params, query } = upload.input(req);
    const file = await closingIfRefused(req, res, async () => deps.files.offer(await tickets.get(params.id), technicianOf(req), query.name, req, declaredLength(req), technicianContext(req)));
    res.status(201).json({ file });
  });

  router.get('/:id/files/:fileId', fileById, async (req, res) => {
    const { params } = fileById.input(req);
    const ticket = await tickets.get(params.id);
    const { stream, file } = await deps.files.openForTechnician(ticket, technicianOf(req), params.fileId, technicianContext(req));
    sendTicketFile(res, stream, file);
  });

  router.post('/:id/messages/read', readMark, async (req, res) => {
    const { params, body } = readMark.input(req);
    const ticket = await tickets.viewable(params.id, technicianOf(req));
    await deps.chat.markRead(ticket.id, technicianOf(req).id, body.lastReadId);
    res.status(204).end();
  });

  router.post('/:id/accept', byId, async (req, res) => {
    res.json({ ticket: await tickets.accept(idOf(req), technicianContext(req)) });
  });

  // To another team's queue with a note (issue 29).
  router.post('/:id/move', move, async (req, res) => {
    const { params, body } = move.input(req);
    res.json({ ticket: await tickets.moveToTeam(params.id, body.teamId, body.note, technicianOf(req), technicianContext(req)) });
  });

  router.post('/:id/release', byId, async (req, res) => {
    res.json({ ticket: await tickets.release(idOf(req), technicianContext(req)) });
  });

  router.post('/:id/end', byId, async (req, res) => {
    res.json({ ticket: await tickets.end(idOf(req), technicianContext(req)) });
  });

  router.post('/:id/resolve', resolve, async (req, res) => {
    const { params, body } = resolve.input(req);
    res.json({ ticket: await tickets.resolve(params.id, body.resolution, technicianContext(req)) });
  });

  router.post('/:id/viewer-token', byId, neverCached, async (req, res) => {
    const ticket = await tickets.get(idOf(req));
    const me = technicianOf(req);
    const { participantId, mode } = await deps.viewerChannel(ticket, me);
    const minted = await tokens.mintFor(ticket, 'viewer', me.id, participantId);
    res.status(201).json({ url: await legUrl(req, deps.legUrls, ticket.id, 'viewer', minted.token), expiresAt: minted.expiresAt, viewOnly: participantId === null ? ticket.viewOnly : mode === 'view', mode, channel: channelKey(ticket.id, participantId) });
  });

  return router;
}
