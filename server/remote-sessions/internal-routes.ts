// /internal/v1/repeater: the link of repeater processes with this server (see
// repeater/contract.ts). Mounted only when REPEATER_SECRET is set; every call
// carries it as a bearer token, compared in constant time. Not for browsers:
// no cookies, no CSRF, its own body limit.
import { sameSecret } from '../../lib/crypto.ts';
import express, { Router, type ErrorRequestHandler, type RequestHandler } from 'express';
import { z } from 'zod';
import { CloseCode, RefusalCode } from '../../protocol/close-codes.ts';
import { NODE_HEADER, RECORDING_HEADERS, type CommandStreamEvents, type WireEvent } from '../../protocol/repeater.ts';
import { type AuthorizeLeg } from '../../repeater/contract.ts';
import { AppError, parseOrThrow } from '../errors.ts';
import { validate } from '../http/validate.ts';
import { openSse } from '../events/sse.ts';
import type { RemoteRepeaters } from './remote-repeaters.ts';
import type { RepeaterNodes } from './repeater-nodes.ts';
import type { RecordingHandover } from '../recordings/handover.ts';

const side = z.enum(['desktop', 'viewer']);
const ticketId = z.string().min(1).max(32);
const closeReason = z.enum(Object.keys(CloseCode) as [keyof typeof CloseCode, ...(keyof typeof CloseCode)[]]);
const nodeName = z.string().regex(/^[A-Za-z0-9._:-]{1,64}$/, 'letters, digits, ".", "_", ":" and "-", at most 64');
const ms = z.number().int().nonnegative();
const bytes = z.number().int().nonnegative();

const legRequestSchema = z.object({
  path: z.string().max(2048),
  token: z.string().max(512).nullable(),
  origin: z.string().max(2048).nullable(),
  host: z.string().max(1024).nullable(),
  scheme: z.enum(['http', 'https']),
  forwardedProto: z.string().max(64).nullable(),
  remoteAddress: z.string().max(64),
  side,
  node: nodeName.nullable(),
});

const heartbeatSchema = z.object({
  node: nodeName,
  url: z.url().refine((u) => /^wss?:$/.test(new URL(u).protocol), 'must be a ws:// or wss:// URL'),
  sessions: z.number().int().nonnegative(),
  legs: z.number().int().nonnegative(),
});

const uuid = z.uuid();
/** A recording's path under the recordings directory, as the repeater names it (never absolute, never `..`). */
const recordingFile = z.string().regex(/^\d{4}-\d{2}\/\d{1,20}-[0-9a-f-]{36}\.hcrec$/, 'must be yyyy-mm/<ticket>-<uuid>.hcrec');

const wireEventSchema: z.ZodType<WireEvent> = z.discriminatedUnion('type', [
  z.object({ type: z.literal('legWaiting'), ticketId, side, remoteAddress: z.string().max(64), at: ms }),
  z.object({
    type: z.literal('paired'),
    ticketId,
    desktopAddress: z.string().max(64),
    viewerAddress: z.string().max(64),
    at: ms,
    sessionId: uuid,
    recording: z.object({ id: uuid, file: recordingFile }).nullable(),
  }),
  z.object({
    type: z.literal('recordingClosed'),
    recordingId: uuid,
    ticketId,
    file: recordingFile,
    state: z.enum(['complete', 'dropped', 'failed']),
    problem: z.string().max(1000).nullable(),
    bytes,
    sha256: z.string().regex(/^[0-9a-f]{64}$/).nullable(),
    startedAt: ms,
    endedAt: ms,
    durationMs: ms,
  }),
  z.object({
    type: z.literal('ended'),
    ticketId,
    reason: closeReason,
    endedBy: side.nullable(),
    bytesDesktopToViewer: bytes,
    bytesViewerToDesktop: bytes,
    startedAt: ms,
    endedAt: ms,
    durationMs: ms,
  }),
  z.object({ type: z.literal('legClosed'), ticketId, side, reason: closeReason, waitedMs: ms }),
  z.object({
    type: z.literal('progress'),
    sessions: z.array(z.object({ ticketId, bytesDesktopToViewer: bytes, bytesViewerToDesktop: bytes })).max(100_000),
  }),
  z.object({
    type: z.literal('sync'),
    sessions: z.array(z.object({ ticketId, startedAt: ms })).max(100_000),
    waiting: z.array(z.object({ ticketId, side })).max(200_000),
  }),
]);

const eventsBodySchema = z.object({ node: nodeName, events: z.array(wireEventSchema).max(10_000) });

/** A recording handed over (protocol/repeater.ts RECORDING_HEADERS): its id, how it ended, whose it is, what the node hashed. */
const handoverParams = z.object({ recordingId: uuid }).describe('recording id');
const handoverQuery = z
  .object({
    state: z.enum(['complete', 'dropped', 'failed', 'incomplete']),
    problem: z.string().max(1000).optional(),
    endedAt: z.coerce.number().int().nonnegative(),
    durationMs: z.coerce.number().int().nonnegative(),
  })
  .describe('how the recording ended');
const handoverHeaders = z
  .object({ ticket: z.string().regex(/^\d{1,20}$/, 'must be a ticket id'), file: recordingFile, sha256: z.string().regex(/^[0-9a-f]{64}$/, 'must be 64 hex digits') })
  .describe('recording headers');

export function internalRepeaterRoutes(deps: { secret: string; authorizeLeg: AuthorizeLeg; hub: RemoteRepeaters; nodes: RepeaterNodes; version: string; handover?: RecordingHandover | null }): Router {
  const router = Router();
  router.use(requireSecret(deps.secret));

  // A node with its own RECORDINGS_DIR hands each recording over: the body is the file (never parsed).
  const { handover } = deps;
  if (handover) {
    router.put('/recordings/:recordingId', async (req, res) => {
      const params = parseOrThrow(handoverParams, req.params, 'recording id');
      const query = parseOrThrow(handoverQuery, req.query, 'query');
      const node = parseOrThrow(nodeName, req.get(NODE_HEADER) ?? '', NODE_HEADER);
      const headers = parseOrThrow(handoverHeaders, { ticket: req.get(RECORDING_HEADERS.ticket), file: req.get(RECORDING_HEADERS.file), sha256: req.get(RECORDING_HEADERS.sha256) }, 'recording headers');
      const length = req.get('content-length');
      const kept = await handover.receive(
        {
          node,
          recordingId: params.recordingId,
          ticketId: Number(headers.ticket),
          file: headers.file,
          sha256: headers.sha256,
          declaredLength: length !== undefined && /^\d+$/.test(length) ? Number(length) : null,
          end: { state: query.state, problem: query.problem ?? null, endedAt: query.endedAt, durationMs: query.durationMs },
        },
        req,
      );
      res.json({ recording: kept });
    });
  }

  router.use(express.json({ limit: '8mb' }));

  router.get('/hello', (_req, res) => {
    res.json({ ok: true, version: deps.version });
  });

  const authorize = validate({ body: legRequestSchema.describe('leg request') });
  router.post('/authorize', authorize, async (req, res) => {
    const request = authorize.input(req).body;
    const authorization = await deps.authorizeLeg(request);
    if (!authorization.ok && !(authorization.code in RefusalCode)) throw new Error(`authorizer returned unknown code ${authorization.code}`);
    res.json(authorization);
  });

  const events = validate({ body: eventsBodySchema.describe('repeater events') });
  router.post('/events', events, (req, res) => {
    const { body } = events.input(req);
    deps.hub.receive(body.node, body.events);
    res.status(204).end();
  });

  // A node with a public URL can be given tickets (least-loaded among those heard from lately).
  const heartbeat = validate({ body: heartbeatSchema.describe('heartbeat') });
  router.post('/heartbeat', heartbeat, async (req, res) => {
    const beat = heartbeat.input(req).body;
    await deps.nodes.heartbeat({ ...beat, url: beat.url.replace(/\/+$/, '') });
    res.status(204).end();
  });

  router.get('/commands', (req, res) => {
    const node = parseOrThrow(nodeName, req.get(NODE_HEADER) ?? '', NODE_HEADER);
    const channel = openSse<CommandStreamEvents>(req, res, { heartbeatMs: 15_000 });
    channel.onClose(deps.hub.attach(node, channel));
    channel.send('ready', { node });
  });

  router.use((req, _res, next) => next(new AppError('NOT_FOUND', `Nothing at ${req.method} /internal/v1/repeater${req.path}`)));
  // Refused before its body was read (a recording handed over, a wrong secret): the rest is never read, the connection closes.
  router.use(((err, req, res, next) => {
    if (!req.complete) res.set('connection', 'close');
    next(err);
  }) as ErrorRequestHandler);
  return router;
}

function requireSecret(secret: string): RequestHandler {
  return (req, _res, next) => {
    const header = req.get('authorization') ?? '';
    const given = header.startsWith('Bearer ') ? header.slice(7) : '';
    if (!sameSecret(given, secret)) {
      return next(new AppError('REPEATER_SECRET_INVALID', 'Missing or wrong repeater secret (Authorization: Bearer <REPEATER_SECRET>)'));
    }
    next();
  };
}
