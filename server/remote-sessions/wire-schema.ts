// What the internal link of repeater processes accepts (protocol/repeater.ts),
// checked at the edge: a leg request, a heartbeat, the events body — whose
// events are checked one by one (eventSchema), so one a server cannot take is
// refused alone — and the pieces of a recording handed over.
import { z } from 'zod';
import type { WireEvent } from '../../protocol/repeater.ts';

const side = z.enum(['desktop', 'viewer']);
const ticketId = z.string().min(1).max(32);
/** A close code: a newer repeater's that this server does not know is stored as it is. */
const closeReason = z.string().regex(/^[A-Z][A-Z0-9_]{0,39}$/, 'must be a close code (capitals, digits and "_", at most 40)');
export const nodeName = z.string().regex(/^[A-Za-z0-9._:-]{1,64}$/, 'letters, digits, ".", "_", ":" and "-", at most 64');
export const instanceId = z.uuid();
const ms = z.number().int().nonnegative();
const bytes = z.number().int().nonnegative();
export const uuid = z.uuid();
/** A recording's path under the recordings directory, as the repeater names it (never absolute, never `..`). */
export const recordingFile = z.string().regex(/^\d{4}-\d{2}\/\d{1,20}(?:\.p\d{1,20})?-[0-9a-f-]{36}\.hcrec$/, 'must be yyyy-mm/<channel>-<uuid>.hcrec');

export const legRequestSchema = z.object({
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

export const heartbeatSchema = z.object({
  node: nodeName,
  instance: instanceId,
  url: z
    .url()
    .refine((u) => /^wss?:$/.test(new URL(u).protocol), 'must be a ws:// or wss:// URL')
    .nullable()
    .default(null),
  sessions: z.number().int().nonnegative(),
  legs: z.number().int().nonnegative(),
  leaving: z.boolean().optional(),
});

const session = { sessionId: uuid, seq: z.number().int().positive(), ticketId };

export const eventSchema = z.discriminatedUnion('type', [
  z.object({ type: z.literal('legWaiting'), ...session, side, remoteAddress: z.string().max(64), at: ms }),
  z.object({
    type: z.literal('paired'),
    ...session,
    desktopAddress: z.string().max(64),
    viewerAddress: z.string().max(64),
    at: ms,
    recording: z.object({ id: uuid, file: recordingFile }).nullable(),
  }),
  z.object({
    type: z.literal('recordingClosed'),
    ...session,
    recordingId: uuid,
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
    ...session,
    reason: closeReason,
    endedBy: side.nullable(),
    bytesDesktopToViewer: bytes,
    bytesViewerToDesktop: bytes,
    startedAt: ms,
    endedAt: ms,
    durationMs: ms,
  }),
  z.object({ type: z.literal('legClosed'), ...session, side, reason: closeReason, waitedMs: ms }),
  z.object({ type: z.literal('progress'), ...session, bytesDesktopToViewer: bytes, bytesViewerToDesktop: bytes }),
]) as unknown as z.ZodType<WireEvent>;

/** The body as a whole (each event is checked on its own). */
export const eventsBodySchema = z.object({ node: nodeName, instance: instanceId, events: z.array(z.unknown()).max(10_000) });

/** A recording handed over (protocol/repeater.ts RECORDING_HEADERS): its id, how it ended, whose it is, what the node hashed. */
export const handoverParams = z.object({ recordingId: uuid }).describe('recording id');
export const handoverQuery = z
  .object({
    state: z.enum(['complete', 'dropped', 'failed', 'incomplete']),
    problem: z.string().max(1000).optional(),
    endedAt: z.coerce.number().int().nonnegative(),
    durationMs: z.coerce.number().int().nonnegative(),
  })
  .describe('how the recording ended');
export const handoverHeaders = z
  .object({ ticket: z.string().regex(/^\d{1,20}(?:\.p\d{1,20})?$/, 'must be a ticket id or channel'), file: recordingFile, sha256: z.string().regex(/^[0-9a-f]{64}$/, 'must be 64 hex digits') })
  .describe('recording headers');
