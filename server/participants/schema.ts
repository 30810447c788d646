// The participants API's input (issue 26), validated at the edge.
import { z } from 'zod';
import { ticketIdSchema } from '../tickets/schema.ts';

const id = z.coerce.number().int().positive().max(2 ** 31 - 1);

export const ticketParams = z.object({ id: ticketIdSchema }).describe('ticket id');
export const invitationParams = z.object({ id }).describe('invitation id');
export const consentParams = z.object({ id: ticketIdSchema, technicianId: id }).describe('help request and technician ids');

export const inviteSchema = z.object({ technicianId: id, mode: z.enum(['view', 'control']) }).describe('invitation');
export const transferSchema = z.object({ technicianId: id.nullable(), note: z.string().trim().max(2000).default('') }).describe('hand-over');
