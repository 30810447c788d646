import { z } from 'zod';
import { ticketStatuses } from './state-machine.ts';
import { decodeCursor, numericSorts } from '../history/keyset.ts';

const text = () => z.string({ error: (issue) => (issue.input === undefined ? 'is required' : 'must be text') });
const line = (max: number) => text().trim().min(1, 'is required').max(max, `must be at most ${max} characters`);

export const createHelpRequestSchema = z.object({
  requesterName: line(120),
  username: line(120),
  hostname: line(255),
  os: line(120),
  // The technician's first words about the problem: never blank.
  description: z
    .string({ error: 'describe the problem (it is required)' })
    .trim()
    .min(1, 'describe the problem (it is required)')
    .max(4000, 'must be at most 4000 characters'),
  /** What the request is about (GET /api/v1/topics, issue 29): routes it to its topic's team; none: everyone's queue. */
  topicId: z.number({ error: 'must be the id of a topic' }).int('must be the id of a topic').positive('must be the id of a topic').max(2 ** 31 - 1).optional(),
});
export type HelpRequestInput = z.output<typeof createHelpRequestSchema>;

export const approveSchema = z.object({
  viewOnly: z.boolean(),
  /** One monitor the user chose to share, in words; absent or null for all screens. */
  screen: z.string().trim().min(1).max(80).nullable().optional(),
  /** The client showed "This session will be recorded" before the user allowed. */
  recordingNoticeShown: z.boolean().optional(),
});

export const declineSchema = z.object({
  /** The user does not want this technician offered again on this request. */
  dontAskAgain: z.boolean().optional(),
});

export const resolveSchema = z.object({
  resolution: z.string().trim().min(1, 'describe what was done').max(8000),
});

export const ticketIdSchema = z.coerce.number().int().positive().max(2 ** 31 - 1);
/** A ticket's id in a path (/tickets/:id). */
export const ticketParams = z.object({ id: ticketIdSchema }).describe('ticket id');
/** A help request's id in a path (/help-requests/:id). */
export const helpRequestParams = z.object({ id: ticketIdSchema }).describe('help request id');

const DAY_MS = 86_400_000;
/** A date field (YYYY-MM-DD, UTC) or a time in ms; `endOfDay` makes a date inclusive (its next midnight). */
const dateOrMs = (endOfDay: boolean) =>
  z.preprocess(
    (v) => (typeof v === 'string' && /^\d{4}-\d{2}-\d{2}$/.test(v) ? Date.parse(`${v}T00:00:00Z`) + (endOfDay ? DAY_MS : 0) : v),
    z.coerce.number({ error: 'must be a date (YYYY-MM-DD)' }).int('must be a date (YYYY-MM-DD)').nonnegative('must be a date (YYYY-MM-DD)'),
  );

const cursorText = z
  .string()
  .max(400)
  .transform((text, ctx) => decodeCursor(text) ?? (ctx.addIssue({ code: 'custom', message: 'is not a cursor of this history' }), z.NEVER));

export const historyQuerySchema = z.object({
  /** Words that must all appear in the problem, the resolution or the conversation (server/history/word-search.ts). */
  text: z.string().trim().max(200).optional(),
  requester: z.string().trim().max(120).optional(),
  hostname: z.string().trim().max(255).optional(),
  technicianId: z.coerce.number().int().positive().optional(),
  status: z.enum(ticketStatuses).optional(),
  from: dateOrMs(false).optional(),
  to: dateOrMs(true).optional(),
  sort: z.enum(['created_at', 'updated_at', 'requester_name', 'hostname', 'status']).default('created_at'),
  order: z.enum(['asc', 'desc']).default('desc'),
  /** The page after this cursor (the `next` of the page before), or before it (`prev`); none: the first page. */
  after: cursorText.optional(),
  before: cursorText.optional(),
  /** Jump to a date (YYYY-MM-DD, UTC), for the sorts by a time: newest first, the tickets of that day and older; oldest first, that day and newer. */
  at: dateOrMs(false).optional(),
  pageSize: z.coerce.number().int().min(1).max(200).default(50),
}).superRefine((q, ctx) => {
  for (const key of ['after', 'before'] as const) {
    const cursor = q[key];
    if (cursor && typeof cursor.value !== (numericSorts.has(q.sort) ? 'number' : 'string')) ctx.addIssue({ code: 'custom', path: [key], message: 'is a cursor of another sort' });
  }
  if (q.after && q.before) ctx.addIssue({ code: 'custom', path: ['before'], message: 'give after or before, not both' });
  if (q.at !== undefined && !numericSorts.has(q.sort)) ctx.addIssue({ code: 'custom', path: ['at'], message: 'jumps only in a sort by a time' });
});
export type HistoryQuery = z.infer<typeof historyQuerySchema>;

export const statsQuerySchema = z.object({
  days: z.coerce.number().int().min(1).max(366).default(30),
});

/** Which queue to read (issue 29): a team's id, `mine` (my teams' and everyone's), `all` (administrators: every queue). */
export const queueQuerySchema = z.object({
  team: z.union([z.enum(['mine', 'all']), z.coerce.number().int().positive().max(2 ** 31 - 1)]).optional(),
});
