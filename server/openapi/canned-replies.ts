// Canned replies (server/canned-replies/routes.ts, issue 29): administrators'
// management, and a ticket's replies filled in for the technician.
import { z } from 'zod';
import type { ErrorCode } from '../errors.ts';
import { empty, type RouteDoc } from './describe.ts';

const CannedReply = z
  .object({
    id: z.number().int(),
    teamId: z.number().int().nullable().describe('The team it belongs to; null: every team'),
    title: z.string(),
    body: z.string().describe('Its text; {user} and {technician} are filled in on a ticket'),
    updatedAt: z.number().int(),
  })
  .meta({ id: 'CannedReply' });
const one = z.object({ cannedReply: CannedReply });
const many = z.object({ cannedReplies: z.array(CannedReply) });
const changing: ErrorCode[] = ['VALIDATION_FAILED', 'CANNED_REPLY_NOT_FOUND', 'TOO_MANY_CANNED_REPLIES', 'FORBIDDEN'];

export const cannedReplyDocs: RouteDoc[] = [
  { method: 'get', path: '/canned-replies', id: 'listCannedReplies', summary: 'Every canned reply (administrators)', responses: { 200: many }, errors: ['FORBIDDEN'] },
  { method: 'post', path: '/canned-replies', id: 'createCannedReply', summary: 'Add a canned reply to a team, or to every team (administrators; audited)', responses: { 201: one }, errors: changing },
  { method: 'patch', path: '/canned-replies/{id}', id: 'updateCannedReply', summary: 'Change a canned reply (administrators; audited)', responses: { 200: one }, errors: changing },
  { method: 'delete', path: '/canned-replies/{id}', id: 'deleteCannedReply', summary: 'Delete a canned reply (administrators; audited)', responses: { 204: empty() }, errors: ['CANNED_REPLY_NOT_FOUND', 'FORBIDDEN'] },
  { method: 'get', path: '/tickets/{id}/canned-replies', id: 'listTicketCannedReplies', summary: 'The canned replies a technician may insert on this ticket (its team’s and every team’s), with {user} and {technician} filled in', responses: { 200: many }, errors: ['TICKET_NOT_FOUND', 'FORBIDDEN'] },
];
