// The desktop API (server/tickets/desktop-routes.ts and the user's consent,
// server/participants/desktop-routes.ts): the end user's own help request,
// reached with its client secret.
import { z } from 'zod';
import type { ErrorCode } from '../errors.ts';
import { events, file, type RouteDoc } from './describe.ts';
import { ChatMessage, HelpRequest, LegUrl, Participant, TicketFile, TicketStatus } from './views.ts';

const moving: ErrorCode[] = ['ILLEGAL_TRANSITION'];
const fileErrors: ErrorCode[] = ['FILE_NOT_FOUND', 'FILE_PURGED', 'FILE_NOT_OFFERED', 'FILE_NOT_ACCEPTED'];
const consent: ErrorCode[] = ['PARTICIPANT_NOT_FOUND', 'PARTICIPANT_STATE', 'TICKET_CLOSED', 'ILLEGAL_TRANSITION'];
// The consent routes answer the staff API's participant view (not HelpRequest's DesktopParticipant).
const participant = z.object({ participant: Participant });

export const desktopDocs: RouteDoc[] = [
  {
    method: 'post',
    path: '/help-requests',
    id: 'createHelpRequest',
    summary: 'Ask for help (the end user)',
    description: 'Answers the client secret once: every other call on this request sends it as `Authorization: Bearer <clientSecret>`.',
    responses: { 201: z.object({ id: z.number().int().positive(), clientSecret: z.string(), status: TicketStatus, helpRequest: HelpRequest }) },
    errors: ['TOO_MANY_ACTIVE_TICKETS', 'TOPIC_UNKNOWN'],
  },
  { method: 'get', path: '/help-requests/{id}', id: 'getHelpRequest', summary: 'My help request now', responses: { 200: HelpRequest } },
  { method: 'get', path: '/help-requests/{id}/messages', id: 'listHelpRequestMessages', summary: 'The conversation', responses: { 200: z.object({ messages: z.array(ChatMessage) }) } },
  {
    method: 'post',
    path: '/help-requests/{id}/messages',
    id: 'sendHelpRequestMessage',
    summary: 'Write to the technician',
    body: { kind: 'json', schema: z.object({ text: z.string().max(4000) }) },
    responses: { 201: z.object({ message: ChatMessage }) },
    errors: ['MESSAGE_EMPTY', 'MESSAGE_TOO_LONG', 'TICKET_CLOSED', 'RATE_LIMITED'],
  },
  { method: 'get', path: '/help-requests/{id}/files', id: 'listHelpRequestFiles', summary: 'Files exchanged', responses: { 200: z.object({ files: z.array(TicketFile) }) } },
  {
    method: 'post',
    path: '/help-requests/{id}/files',
    id: 'sendHelpRequestFile',
    summary: 'Send the technician a file (the raw body; its name in ?name=), once a technician has accepted',
    body: { kind: 'file', description: 'The file’s bytes (application/octet-stream)' },
    responses: { 201: z.object({ file: TicketFile }) },
    errors: ['TICKET_CLOSED', 'RATE_LIMITED', 'UPLOAD_BEFORE_ACCEPT', 'FILE_TOO_LARGE', 'FILE_NAME_INVALID', 'FILE_QUOTA_TICKET', 'FILE_QUOTA_ADDRESS', 'FILE_STORAGE_FULL', 'DISK_LOW', 'UPLOAD_TIMEOUT', 'LENGTH_REQUIRED'],
  },
  { method: 'get', path: '/help-requests/{id}/files/{fileId}', id: 'downloadHelpRequestFile', summary: 'A file the technician offered and I accepted', responses: { 200: file('The file’s bytes') }, errors: fileErrors },
  { method: 'post', path: '/help-requests/{id}/files/{fileId}/accept', id: 'acceptHelpRequestFile', summary: 'Accept a file the technician offers', responses: { 200: z.object({ file: TicketFile }) }, errors: [...fileErrors, 'TICKET_CLOSED'] },
  { method: 'post', path: '/help-requests/{id}/files/{fileId}/refuse', id: 'refuseHelpRequestFile', summary: 'Refuse a file the technician offers', responses: { 200: z.object({ file: TicketFile }) }, errors: [...fileErrors, 'TICKET_CLOSED'] },
  {
    method: 'get',
    path: '/help-requests/{id}/events',
    id: 'helpRequestEvents',
    summary: 'The help request’s live stream (Server-Sent Events)',
    description: 'Events `ticket` (a HelpRequest), `connection`, `session`, `message`, `file`; resumes after `Last-Event-ID`.',
    headers: { 'last-event-id': z.string().optional() },
    responses: { 200: events('The stream (text/event-stream)') },
    errors: ['TOO_MANY_STREAMS'],
  },
  {
    method: 'post',
    path: '/help-requests/{id}/approve',
    id: 'approveHelpRequest',
    summary: 'Allow the technician who accepted (view only or with control)',
    responses: { 200: HelpRequest },
    errors: [...moving, 'RECORDING_NOTICE_REQUIRED'],
  },
  { method: 'post', path: '/help-requests/{id}/decline', id: 'declineHelpRequest', summary: 'Decline the technician who accepted (back to the queue)', responses: { 200: HelpRequest }, errors: moving },
  { method: 'post', path: '/help-requests/{id}/cancel', id: 'cancelHelpRequest', summary: 'Withdraw the request', responses: { 200: HelpRequest }, errors: moving },
  { method: 'post', path: '/help-requests/{id}/end', id: 'endHelpRequestSession', summary: 'Stop the remote session', responses: { 200: HelpRequest }, errors: moving },
  { method: 'post', path: '/help-requests/{id}/desktop-token', id: 'mintDesktopToken', summary: 'A single-use URL for the desktop’s leg at the repeater', responses: { 201: LegUrl }, errors: [...moving, 'TICKET_CLOSED'] },
  {
    method: 'post',
    path: '/help-requests/{id}/participants/stop-all',
    id: 'stopAllParticipants',
    summary: 'Stop everyone besides the holder',
    responses: { 200: z.object({ participants: z.array(Participant) }) },
    errors: consent,
  },
  { method: 'post', path: '/help-requests/{id}/participants/{technicianId}/approve', id: 'approveParticipant', summary: 'Allow a participant', responses: { 200: participant }, errors: consent },
  { method: 'post', path: '/help-requests/{id}/participants/{technicianId}/decline', id: 'declineParticipant', summary: 'Refuse a participant', responses: { 200: participant }, errors: consent },
  { method: 'post', path: '/help-requests/{id}/participants/{technicianId}/stop', id: 'stopParticipant', summary: 'Stop a participant', responses: { 200: participant }, errors: consent },
  {
    method: 'post',
    path: '/help-requests/{id}/participants/{technicianId}/desktop-token',
    id: 'mintParticipantDesktopToken',
    summary: 'A single-use URL for the desktop’s leg of a participant’s channel',
    responses: { 201: LegUrl.extend({ channel: z.string() }) },
    errors: consent,
  },
];
