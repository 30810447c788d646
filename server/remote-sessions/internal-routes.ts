// /internal/v1/repeater: the link of repeater processes with this server (see
// protocol/repeater.ts). Mounted only when REPEATER_SECRET is set; every call
// carries it as a bearer token, compared in constant time, and names the node
// and its process (NODE_HEADER, INSTANCE_HEADER). Not for browsers: no
// cookies, no CSRF, its own body limit. Any server behind the internal door
// answers any call the same: what they share lives in the database.
import { parseChannel } from '../../protocol/participants.ts';
import { sameSecret } from '../../lib/crypto.ts';
import express, { Router, type ErrorRequestHandler, type Request, type RequestHandler, type Response } from 'express';
import { RefusalCode } from '../../protocol/close-codes.ts';
import { COMMAND_CURSOR_HEADER, INSTANCE_HEADER, NODE_HEADER, RECORDING_HEADERS, type CommandStreamEvents, type EventResult, type HelloAnswer, type WireEvent } from '../../protocol/repeater.ts';
import { type AuthorizeLeg } from '../../repeater/contract.ts';
import { AppError, parseOrThrow } from '../errors.ts';
import { validate } from '../http/validate.ts';
import { openSse } from '../events/sse.ts';
import type { RepeaterNodes } from './repeater-nodes.ts';
import type { RecordingHandover } from '../recordings/handover.ts';
import type { RemoteSessions } from './remote-sessions.ts';
import { eventSchema, eventsBodySchema, handoverHeaders, handoverParams, handoverQuery, heartbeatSchema, instanceId, legRequestSchema, nodeName } from './wire-schema.ts';

/** Events of different sessions in one batch are applied this many at a time (each session's in order). */
const SESSIONS_AT_ONCE = 4;

export function internalRepeaterRoutes(deps: {
  secret: string;
  authorizeLeg: AuthorizeLeg;
  remote: Pick<RemoteSessions, 'events' | 'claims' | 'commands' | 'log'>;
  nodes: RepeaterNodes;
  version: string;
  handover?: RecordingHandover | null;
}): Router {
  // Paths are matched in their exact case: nginx's `location /internal/` is, and another spelling must not reach this door (app.ts).
  const router = Router({ caseSensitive: true });
  router.use(requireSecret(deps.secret));
  const { events, claims, commands } = deps.remote;
  if (!claims || !commands) throw new Error('the repeater link needs node claims and command streams');

  const whoIs = (req: Request) => ({ node: parseOrThrow(nodeName, req.get(NODE_HEADER) ?? '', NODE_HEADER), instance: parseOrThrow(instanceId, req.get(INSTANCE_HEADER) ?? '', INSTANCE_HEADER) });
  const refuseName = (res: Response, message: string) => res.status(409).json({ error: { code: 'NODE_NAME_TAKEN', message } });

  // A node with its own RECORDINGS_DIR hands each recording over: the body is the file (never parsed).
  const { handover } = deps;
  if (handover) {
    router.put('/recordings/:recordingId', async (req, res) => {
      const params = parseOrThrow(handoverParams, req.params, 'recording id');
      const query = parseOrThrow(handoverQuery, req.query, 'query');
      const { node, instance } = whoIs(req);
      // Only the process holding the node's name hands its recordings over (refused before a byte is read).
      if (!(await claims.holds(node, instance))) {
        res.set('connection', 'close');
        return void refuseName(res, `This process (instance ${instance}) does not hold the repeater node name ${node}: its recordings are not taken`);
      }
      const headers = parseOrThrow(handoverHeaders, { ticket: req.get(RECORDING_HEADERS.ticket), file: req.get(RECORDING_HEADERS.file), sha256: req.get(RECORDING_HEADERS.sha256) }, 'recording headers');
      const length = req.get('content-length');
      const kept = await handover.receive(
        {
          node,
          recordingId: params.recordingId,
          // The node names the channel ("42" or "42.p7", issue 26).
          ticketId: parseChannel(headers.ticket)?.ticketId ?? 0,
          participantId: parseChannel(headers.ticket)?.participantId ?? null,
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

  // The secret checked, and the node's name claimed for this process (or refused in words: another holds it).
  router.get('/hello', async (req, res) => {
    const { node, instance } = whoIs(req);
    const claim = await claims.claim(node, instance);
    if (!claim.ok) return void refuseName(res, claim.message);
    const answer: HelloAnswer = { ok: true, version: deps.version, leaseMs: claims.leaseMs };
    res.json(answer);
  });

  // Only the process holding the node's name may have legs authorized there.
  const authorize = validate({ body: legRequestSchema.describe('leg request') });
  router.post('/authorize', authorize, async (req, res) => {
    const request = authorize.input(req).body;
    if (request.node !== null) {
      const { instance } = whoIs(req);
      if (!(await claims.holds(request.node, instance))) return void refuseName(res, `This process does not hold the repeater node name ${request.node}: its legs are refused`);
    }
    const authorization = await deps.authorizeLeg(request);
    if (!authorization.ok && !(authorization.code in RefusalCode)) throw new Error(`authorizer returned unknown code ${authorization.code}`);
    res.json(authorization);
  });

  // Each event is checked and applied on its own (each session's in order): one refused is said in its result, the others are applied.
  const batch = validate({ body: eventsBodySchema.describe('repeater events') });
  router.post('/events', batch, async (req, res) => {
    const { node, instance, events: raw } = batch.input(req).body;
    // Only the process holding the name speaks for the node (the link retries a 409 until its claim is back).
    if (!(await claims.holds(node, instance))) return void refuseName(res, `This process (instance ${instance}) does not hold the repeater node name ${node}: its events are not taken`);
    const source = { node, instance };
    const results: EventResult[] = new Array<EventResult>(raw.length);
    const bySession = new Map<string, { index: number; event: WireEvent }[]>();
    raw.forEach((item, index) => {
      const parsed = eventSchema.safeParse(item);
      if (!parsed.success) {
        const message = `Invalid event ${index}: ${parsed.error.issues.map((i) => `${i.path.join('.') || 'event'}: ${i.message}`).join('; ')}`;
        deps.remote.log.warn({ node, instance, index, message }, 'a repeater event was refused as invalid: skipped');
        results[index] = { ok: false, error: { code: 'VALIDATION_FAILED', message } };
        return;
      }
      const list = bySession.get(parsed.data.sessionId) ?? [];
      list.push({ index, event: parsed.data });
      bySession.set(parsed.data.sessionId, list);
    });
    const sessions = [...bySession.values()];
    const worker = async (): Promise<void> => {
      for (let list = sessions.shift(); list; list = sessions.shift()) {
        for (const { index, event } of list) {
          const received = await events.receive(source, event);
          results[index] = received.outcome === 'refused' ? { ok: false, error: { code: received.error.code, message: received.error.message } } : { ok: true };
        }
      }
    };
    await Promise.all(Array.from({ length: SESSIONS_AT_ONCE }, worker));
    res.json({ results });
  });

  // The claim renewed (and, with a public URL, the node offered tickets); `leaving` frees the name.
  const heartbeat = validate({ body: heartbeatSchema.describe('heartbeat') });
  router.post('/heartbeat', heartbeat, async (req, res) => {
    const beat = heartbeat.input(req).body;
    if (beat.leaving) {
      await claims.release(beat.node, beat.instance);
      return void res.status(204).end();
    }
    const claim = await claims.claim(beat.node, beat.instance);
    if (!claim.ok) return void refuseName(res, claim.message);
    if (beat.url) await deps.nodes.heartbeat({ node: beat.node, url: beat.url.replace(/\/+$/, ''), sessions: beat.sessions, legs: beat.legs });
    res.status(204).end();
  });

  // The stream commands for this process go to, wherever it opens; refused to a process that does not hold the name.
  router.get('/commands', async (req, res) => {
    const { node, instance } = whoIs(req);
    const after = Number(req.get(COMMAND_CURSOR_HEADER) ?? '0');
    const claim = await claims.claim(node, instance);
    if (!claim.ok) return void refuseName(res, claim.message);
    const channel = openSse<CommandStreamEvents>(req, res, { heartbeatMs: 15_000 });
    channel.send('ready', { node, instance }, null);
    await commands.open(node, instance, Number.isSafeInteger(after) && after > 0 ? after : 0, channel);
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
