// The desktop API (/api/v1/help-requests): a contract the desktop client and
// other integrations use. Every call but the creation carries the ticket's
// client secret as a bearer token; the creation may require X-Client-Key.
import { sameSecret } from '../../lib/crypto.ts';
import { Router, type Request, type RequestHandler } from 'express';
import type { Redis } from 'ioredis';
import { createLimiter as makeLimiter } from '../http/limiter.ts';
import { AppError } from '../errors.ts';
import { validate } from '../http/validate.ts';
import { neverCached } from '../http/never-cached.ts';
import { messageBodySchema } from '../chat/service.ts';
import { uploadQuerySchema } from '../files/service.ts';
import type { ActorContext } from '../audit/actor.ts';
import type { EventBus } from '../events/event-bus.ts';
import type { TicketView } from '../../protocol/events.ts';
import type { DesktopStreamEvents, HelpRequestView } from '../../protocol/desktop-api.ts';
import { connectableStatuses } from '../../protocol/tickets.ts';
import { openSse } from '../events/sse.ts';
import { joinStream, lastEventIdOf } from '../events/resume.ts';
import { legUrl, type LegUrlPolicy } from '../http/base-url.ts';
import type { PairingTokenService } from '../tokens/service.ts';
import { approveSchema, createHelpRequestSchema, declineSchema, helpRequestParams } from './schema.ts';

const create = validate({ body: createHelpRequestSchema.describe('help request') });
const byId = validate({ params: helpRequestParams });
const message = validate({ body: messageBodySchema });
const upload = validate({ query: uploadQuerySchema });
const approve = validate({ body: approveSchema.describe('approval') });
const decline = validate({ body: declineSchema.describe('decline') });
import { toHelpRequestView, type TicketService } from './service.ts';
import type { ChatService } from '../chat/service.ts';
import type { FileService } from '../files/service.ts';
import { closeWhenTooLarge, closingIfRefused, declaredLength, sendTicketFile } from '../files/http.ts';

export interface DesktopRoutesDeps {
  tickets: TicketService;
  tokens: PairingTokenService;
  bus: EventBus;
  clientKey: string | null;
  /** Where desktop legs connect. */
  legUrls: LegUrlPolicy;
  createRatePerMinute: number;
  desktopState: (ticketId: number) => Promise<'waiting' | 'paired' | null>;
  /** With REDIS_URL: rate limits count across servers. */
  redis?: Redis | null;
  chat: ChatService;
  messageRatePerMinute: number;
  files: FileService;
  uploadRatePerMinute: number;
  /** The user's consent for participants (server/participants/desktop-routes.ts), mounted at /:id/participants after the secret is checked. */
  participantRoutes?: Router;
}

declare module 'express-serve-static-core' {
  interface Request {
    helpRequest?: TicketView;
  }
}

export function desktopRoutes(deps: DesktopRoutesDeps): Router {
  const { tickets, tokens, bus } = deps;
  const router = Router();

  const requireClientKey: RequestHandler = (req, _res, next) => {
    if (!deps.clientKey) return next();
    if (!sameSecret(req.get('x-client-key'), deps.clientKey)) {
      return next(new AppError('CLIENT_KEY_INVALID', 'This client is not allowed to request help: missing or wrong X-Client-Key'));
    }
    next();
  };

  const createLimiter = makeLimiter({
    name: 'help-requests',
    perMinute: deps.createRatePerMinute,
    message: 'Too many help requests from this address; wait a minute and try again',
    redis: deps.redis ?? null,
  });

  const requesterOf = (req: Request): ActorContext => ({
    actor: { type: 'requester', name: req.helpRequest?.requesterName ?? 'requester' },
    remoteAddress: req.ip ?? '',
  });
  const ticketOf = (req: Request): TicketView => {
    if (!req.helpRequest) throw new AppError('CLIENT_SECRET_INVALID', 'No help request authenticated');
    return req.helpRequest;
  };

  // The limiter comes first so that guesses at the client key count too.
  router.post('/', createLimiter, requireClientKey, create, neverCached, async (req, res) => {
    const { ticket, clientSecret } = await tickets.create(create.input(req).body, req.ip ?? '');
    res.status(201).json({ id: ticket.id, clientSecret, status: ticket.status, helpRequest: await tickets.helpView(ticket) });
  });

  router.use('/:id', byId, async (req, _res, next) => {
    const { id } = byId.input(req).params;
    const match = /^Bearer ([A-Za-z0-9_-]{1,200})$/.exec(req.get('authorization') ?? '');
    req.helpRequest = await tickets.authenticateClient(id, match?.[1] ?? null);
    next();
  });

  router.get('/:id', async (req, res) => {
    res.json(await tickets.helpView(ticketOf(req)));
  });

  // The user's consent for each participant (issue 26).
  if (deps.participantRoutes) router.use('/:id/participants', deps.participantRoutes);

  const messageLimiter = makeLimiter({
    name: 'messages-user',
    perMinute: deps.messageRatePerMinute,
    message: 'Too many messages on this help request; wait a minute and write again',
    redis: deps.redis ?? null,
    key: (req) => `ticket:${String(req.params.id)}`,
  });

  router.get('/:id/messages', async (req, res) => {
    res.json({ messages: await deps.chat.list(ticketOf(req).id) });
  });

  router.post('/:id/messages', messageLimiter, message, async (req, res) => {
    res.status(201).json({ message: await deps.chat.fromUser(ticketOf(req), message.input(req).body, requesterOf(req)) });
  });

  const uploadLimiter = makeLimiter({
    name: 'uploads-user',
    perMinute: deps.uploadRatePerMinute,
    message: 'Too many files sent on this help request; wait a minute and send again',
    redis: deps.redis ?? null,
    key: (req) => `ticket:${String(req.params.id)}`,
  });

  router.get('/:id/files', async (req, res) => {
    res.json({ files: await deps.files.list(ticketOf(req).id) });
  });

  // The file is the raw body (application/octet-stream), its name in ?name=; only once a technician has accepted.
  router.post('/:id/files', uploadLimiter, closeWhenTooLarge(deps.files.maxBytes), upload, async (req, res) => {
    const file = await closingIfRefused(req, res, () => deps.files.fromUser(ticketOf(req), upload.input(req).query.name, req, declaredLength(req), requesterOf(req)));
    res.status(201).json({ file });
  });

  router.get('/:id/files/:fileId', async (req, res) => {
    const { stream, file } = await deps.files.openForUser(ticketOf(req), String(req.params.fileId), requesterOf(req));
    sendTicketFile(res, stream, file);
  });

  router.post('/:id/files/:fileId/accept', async (req, res) => {
    res.json({ file: await deps.files.decide(ticketOf(req), String(req.params.fileId), true, requesterOf(req)) });
  });

  router.post('/:id/files/:fileId/refuse', async (req, res) => {
    res.json({ file: await deps.files.decide(ticketOf(req), String(req.params.fileId), false, requesterOf(req)) });
  });

  // The ticket's live stream; a reconnecting client resumes after its Last-Event-ID (else: the ticket and its connection now, first).
  router.get('/:id/events', async (req, res) => {
    const id = ticketOf(req).id;
    const channel = openSse<DesktopStreamEvents>(req, res, { key: `ticket:${id}` });
    // The ticket is sent again at each participant change: the last view and list seen, kept in step by the events in order.
    let people: Pick<HelpRequestView, 'participants' | 'mainChannel'> = { participants: [], mainChannel: true };
    let last: TicketView | null = null;
    // A stream that resumes (Last-Event-ID) has no snapshot: the list starts from the database, not empty.
    if (lastEventIdOf(req) !== null) people = await tickets.helpView(await tickets.get(id));
    const sendTicket = (ticket: TicketView, eventId: number | null) => {
      last = ticket;
      const holderId = ticket.technician?.id ?? null;
      const mainChannel = holderId === null || !people.participants.some((p) => p.technicianId === holderId && p.state === 'connected');
      // Out of its session, nobody takes part any more (the rows were cancelled with the move).
      const live = connectableStatuses.includes(ticket.status);
      const participants = live ? people.participants : people.participants.map((p) => (['invited', 'waiting_user', 'connected'].includes(p.state) ? { ...p, state: 'cancelled' as const } : p));
      channel.send('ticket', toHelpRequestView(ticket, { participants, mainChannel }), eventId);
    };
    await joinStream({
      bus,
      log: bus.log,
      channel,
      lastEventId: lastEventIdOf(req),
      ticketId: id,
      on: {
        'ticket.changed': (e, eventId) => e.ticket.id === id && sendTicket(e.ticket, eventId),
        'ticket.participant': (e, eventId) => {
          if (e.ticketId !== id) return;
          people = e.desktop;
          if (last) sendTicket(last, eventId);
        },
        'ticket.desktop': (e, eventId) => e.ticketId === id && channel.send('connection', { state: e.state, reason: e.reason }, eventId),
        'session.ended': (e, eventId) => e.ticketId === id && channel.send('session', { reason: e.reason, endedBy: e.endedBy }, eventId),
        'ticket.message': (e, eventId) => e.ticketId === id && channel.send('message', e.message, eventId),
        'ticket.file': (e, eventId) => e.ticketId === id && channel.send('file', e.file, eventId),
      },
      snapshot: async (eventId) => {
        const ticket = await tickets.get(id);
        people = await tickets.helpView(ticket);
        sendTicket(ticket, eventId);
        // Where its desktop leg is now: a client that reconnects its stream (after a restart) learns it was paired meanwhile.
        channel.send('connection', { state: (await deps.desktopState(id)) ?? 'gone', reason: null }, eventId);
      },
    });
  });

  router.post('/:id/approve', approve, async (req, res) => {
    const { viewOnly, screen, recordingNoticeShown } = approve.input(req).body;
    res.json(await tickets.helpView(await tickets.approve(ticketOf(req).id, viewOnly, requesterOf(req), screen ?? null, recordingNoticeShown ?? false)));
  });

  router.post('/:id/decline', decline, async (req, res) => {
    const { dontAskAgain } = decline.input(req).body;
    res.json(await tickets.helpView(await tickets.decline(ticketOf(req).id, requesterOf(req), dontAskAgain ?? false)));
  });

  router.post('/:id/cancel', async (req, res) => {
    res.json(await tickets.helpView(await tickets.cancel(ticketOf(req).id, requesterOf(req))));
  });

  router.post('/:id/end', async (req, res) => {
    res.json(await tickets.helpView(await tickets.end(ticketOf(req).id, requesterOf(req))));
  });

  router.post('/:id/desktop-token', neverCached, async (req, res) => {
    const ticket = ticketOf(req);
    const minted = await tokens.mintFor(ticket, 'desktop', null);
    res.status(201).json({ url: await legUrl(req, deps.legUrls, ticket.id, 'desktop', minted.token), expiresAt: minted.expiresAt });
  });

  return router;
}
