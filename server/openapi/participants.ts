// Several technicians on one session (server/participants/routes.ts).
import { z } from 'zod';
import type { ErrorCode } from '../errors.ts';
import type { RouteDoc } from './describe.ts';
import { Participant, Ticket } from './views.ts';

const participant = z.object({ participant: Participant });
const errors: ErrorCode[] = ['TICKET_NOT_FOUND', 'FORBIDDEN', 'PARTICIPANT_NOT_FOUND', 'PARTICIPANT_STATE', 'TICKET_CLOSED', 'ILLEGAL_TRANSITION'];

export const participantDocs: RouteDoc[] = [
  {
    method: 'post',
    path: '/tickets/{id}/invitations',
    id: 'inviteParticipant',
    summary: 'Invite a colleague to watch or to take control',
    responses: { 201: Participant.extend({ participant: Participant }) },
    errors: [...errors, 'TECHNICIAN_NOT_FOUND', 'ALREADY_PARTICIPANT', 'TOO_MANY_PARTICIPANTS'],
  },
  {
    method: 'get',
    path: '/tickets/{id}/participants',
    id: 'listParticipants',
    summary: 'Who takes part in the ticket’s session (the holder first)',
    responses: { 200: z.object({ participants: z.array(Participant), handoverNote: z.string().nullable() }) },
    errors,
  },
  {
    method: 'post',
    path: '/tickets/{id}/transfer',
    id: 'transferTicket',
    summary: 'Hand the ticket over to a colleague (the user allows), or back to the queue',
    responses: { 200: z.object({ participant: Participant.nullable(), ticket: Ticket }) },
    errors: [...errors, 'TECHNICIAN_NOT_FOUND', 'ALREADY_PARTICIPANT', 'TOO_MANY_PARTICIPANTS', 'TOO_MANY_ACTIVE_TICKETS'],
  },
  { method: 'post', path: '/tickets/{id}/leave', id: 'leaveSession', summary: 'Leave a session I take part in', responses: { 200: participant }, errors },
  { method: 'post', path: '/tickets/{id}/participants/me/request-control', id: 'requestControl', summary: 'Ask the user for control (a watcher)', responses: { 200: participant }, errors },
  { method: 'post', path: '/tickets/{id}/watch', id: 'superviseSession', summary: 'Watch a session (administrators)', responses: { 201: participant }, errors: [...errors, 'ALREADY_PARTICIPANT', 'TOO_MANY_PARTICIPANTS'] },
  {
    method: 'get',
    path: '/sessions/live',
    id: 'listLiveSessions',
    summary: 'Sessions going on now with their participants (administrators: all)',
    responses: { 200: z.object({ sessions: z.array(z.object({ ticket: Ticket, participants: z.array(Participant) })) }) },
    errors: ['FORBIDDEN'],
  },
  { method: 'post', path: '/invitations/{id}/accept', id: 'acceptInvitation', summary: 'Accept an invitation (then the user decides)', responses: { 200: participant }, errors },
  { method: 'post', path: '/invitations/{id}/decline', id: 'declineInvitation', summary: 'Decline an invitation', responses: { 200: participant }, errors },
  { method: 'post', path: '/invitations/{id}/cancel', id: 'cancelInvitation', summary: 'Withdraw an invitation I made', responses: { 200: participant }, errors },
  { method: 'delete', path: '/invitations/{id}', id: 'deleteInvitation', summary: 'Withdraw an invitation I made (as cancel)', responses: { 200: participant }, errors },
];
