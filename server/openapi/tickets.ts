// The technicians' ticket routes (server/tickets/routes.ts).
import { z } from 'zod';
import type { ErrorCode } from '../errors.ts';
import { empty, file, type RouteDoc } from './describe.ts';
import { AuditEvent, ChatMessage, DesktopState, ParticipantMode, RecordingSummary, RemoteSession, Ticket, TicketFile } from './views.ts';

const ticket = z.object({ ticket: Ticket });
const reading: ErrorCode[] = ['TICKET_NOT_FOUND', 'FORBIDDEN'];
const moving: ErrorCode[] = ['TICKET_NOT_FOUND', 'FORBIDDEN', 'ILLEGAL_TRANSITION'];
const uploading: ErrorCode[] = ['TICKET_NOT_FOUND', 'FORBIDDEN', 'TICKET_CLOSED', 'RATE_LIMITED', 'FILE_TOO_LARGE', 'FILE_NAME_INVALID', 'FILE_QUOTA_TICKET', 'FILE_QUOTA_ADDRESS', 'FILE_STORAGE_FULL', 'DISK_LOW', 'UPLOAD_TIMEOUT', 'LENGTH_REQUIRED'];

export const ticketDocs: RouteDoc[] = [
  { method: 'get', path: '/tickets/queue', id: 'listQueue', summary: 'The queue: requests waiting for a technician (`team`: one team’s, `mine`: my teams’ and everyone’s, `all`: administrators’ every queue)', responses: { 200: z.object({ tickets: z.array(Ticket) }) } },
  { method: 'post', path: '/tickets/{id}/move', id: 'moveTicketToTeam', summary: 'Move a waiting request to another team’s queue, with a note (null: everyone’s)', responses: { 200: ticket }, errors: ['TICKET_NOT_FOUND', 'FORBIDDEN', 'TEAM_NOT_FOUND', 'TICKET_NOT_QUEUED'] },
  {
    method: 'get',
    path: '/tickets/mine',
    id: 'listMyTickets',
    summary: 'The tickets I hold, with their desktop’s connection',
    responses: { 200: z.object({ tickets: z.array(Ticket.extend({ desktop: DesktopState })) }) },
  },
  {
    method: 'get',
    path: '/tickets',
    id: 'searchHistory',
    summary: 'The history: tickets by filters and words, a page at a time (cursors)',
    responses: {
      200: z.object({
        rows: z.array(Ticket),
        total: z.number().int().nonnegative().describe('Exact when totalExact; an estimate when totalEstimated (words whose exact count would read more rows than it tells); else 1001: more than 1000 match'),
        totalExact: z.boolean(),
        totalEstimated: z.boolean(),
        partial: z.boolean().describe('A word search stopped after reading its share of the index before the page was full: the page in the direction read (`next`, or `prev` going back) goes on from there'),
        next: z.string().nullable().describe('The cursor of the next page (`after`), null at the end'),
        prev: z.string().nullable().describe('The cursor of the page before (`before`), null at the start'),
      }),
    },
  },
  {
    method: 'get',
    path: '/tickets/{id}',
    id: 'getTicket',
    summary: 'A ticket with its timeline, remote sessions and recordings',
    responses: { 200: z.object({ ticket: Ticket, timeline: z.array(AuditEvent), sessions: z.array(RemoteSession), recordings: z.array(RecordingSummary), desktop: DesktopState }) },
    errors: reading,
  },
  { method: 'get', path: '/tickets/{id}/messages', id: 'listTicketMessages', summary: 'The ticket’s conversation', responses: { 200: z.object({ messages: z.array(ChatMessage) }) }, errors: reading },
  {
    method: 'post',
    path: '/tickets/{id}/messages',
    id: 'sendTicketMessage',
    summary: 'Write to the user',
    body: { kind: 'json', schema: z.object({ text: z.string().max(4000) }) },
    responses: { 201: z.object({ message: ChatMessage }) },
    errors: [...reading, 'MESSAGE_EMPTY', 'MESSAGE_TOO_LONG', 'TICKET_CLOSED', 'RATE_LIMITED'],
  },
  { method: 'post', path: '/tickets/{id}/messages/read', id: 'markTicketMessagesRead', summary: 'Mark the conversation read up to a message', responses: { 204: empty() }, errors: reading },
  { method: 'get', path: '/tickets/{id}/files', id: 'listTicketFiles', summary: 'Files exchanged on the ticket', responses: { 200: z.object({ files: z.array(TicketFile) }) }, errors: reading },
  {
    method: 'post',
    path: '/tickets/{id}/files',
    id: 'offerTicketFile',
    summary: 'Offer the user a file (the raw body; its name in ?name=)',
    body: { kind: 'file', description: 'The file’s bytes (application/octet-stream)' },
    responses: { 201: z.object({ file: TicketFile }) },
    errors: uploading,
  },
  {
    method: 'get',
    path: '/tickets/{id}/files/{fileId}',
    id: 'downloadTicketFile',
    summary: 'A file the user sent (an attachment; its SHA-256 in X-File-SHA256)',
    responses: { 200: file('The file’s bytes') },
    errors: [...reading, 'FILE_NOT_FOUND', 'FILE_PURGED', 'FILE_NOT_ACCEPTED', 'FILE_NOT_OFFERED'],
  },
  { method: 'post', path: '/tickets/{id}/accept', id: 'acceptTicket', summary: 'Take a request from the queue', responses: { 200: ticket }, errors: [...moving, 'TICKET_TAKEN', 'TOO_MANY_ACTIVE_TICKETS', 'DECLINED_BY_USER'] },
  { method: 'post', path: '/tickets/{id}/release', id: 'releaseTicket', summary: 'Put an accepted request back in the queue', responses: { 200: ticket }, errors: moving },
  { method: 'post', path: '/tickets/{id}/end', id: 'endTicketSession', summary: 'End the remote session', responses: { 200: ticket }, errors: moving },
  { method: 'post', path: '/tickets/{id}/resolve', id: 'resolveTicket', summary: 'Write what was done and close the ticket', responses: { 200: ticket }, errors: moving },
  {
    method: 'post',
    path: '/tickets/{id}/viewer-token',
    id: 'mintViewerToken',
    summary: 'A single-use URL for the viewer’s leg at the repeater',
    responses: {
      201: z.object({
        url: z.string(),
        expiresAt: z.number().int(),
        viewOnly: z.boolean(),
        mode: ParticipantMode,
        channel: z.string().describe('The repeater key of the channel ("42" or "42.p7")'),
      }),
    },
    errors: [...moving, 'TICKET_CLOSED'],
  },
];
