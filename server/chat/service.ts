// Chat on a ticket, from the request to its resolution: the user (desktop
// client, bearer secret) and the technicians (web session) write plain text,
// stored with the ticket, published live on both streams, part of the
// timeline. Any technician may write to a request waiting in the queue
// ("seen, coming"); once accepted, only its holder and administrators. No new
// messages once the ticket is closed (resolved, cancelled, expired).
import { addTicketWords } from '../history/word-index.ts';
import type { Knex } from 'knex';
import type { Clock } from '../clock.ts';
import { AppError } from '../errors.ts';
import type { EventBus } from '../events/event-bus.ts';
import type { ChatMessage, TicketView } from '../../protocol/events.ts';
import { z } from 'zod';
import type { ActorContext } from '../audit/actor.ts';
import { insertAuditEvent } from '../audit/store.ts';
import { closedStatuses } from '../tickets/state-machine.ts';
import { participantStore } from '../participants/store.ts';

export const MESSAGE_MAX_CHARS = 2000;

interface Row {
  id: number;
  ticket_id: number;
  author: 'user' | 'technician';
  technician_id: number | null;
  author_name: string;
  text: string;
  created_at: number;
}

const toMessage = (r: Row): ChatMessage => ({ id: Number(r.id), from: r.author, authorName: r.author_name, text: r.text, at: Number(r.created_at) });

export type ChatService = ReturnType<typeof createChatService>;

type Writer = { id: number; role: 'admin' | 'technician' };

/** Anyone while the ticket waits in the queue, then its holder and administrators. */
const isWriter = (ticket: TicketView, technician: Writer): boolean =>
  ticket.status === 'requested' || technician.role === 'admin' || ticket.technician?.id === technician.id;

/** Who may write to a ticket's user now: a writer of it, and nobody once it is closed. */
export function mayWriteTo(ticket: TicketView, technician: Writer): boolean {
  return !closedStatuses.includes(ticket.status) && isWriter(ticket, technician);
}

/** A message's body ({"text": "…"}) as its checked text: validated at the edge (MESSAGE_EMPTY, MESSAGE_TOO_LONG in words). */
export const messageBodySchema = z.unknown().transform((input) => messageText(input)).describe('message');

/** The text of a message, or a refusal in words. */
function messageText(input: unknown): string {
  const text = typeof (input as { text?: unknown } | null)?.text === 'string' ? (input as { text: string }).text : null;
  if (text === null) throw new AppError('VALIDATION_FAILED', 'A message needs its text: {"text": "…"}');
  const trimmed = text.replace(/\r\n?/g, '\n').trim();
  if (!trimmed) throw new AppError('MESSAGE_EMPTY', 'The message is empty');
  const characters = [...trimmed].length;
  if (characters > MESSAGE_MAX_CHARS) throw new AppError('MESSAGE_TOO_LONG', `A message may have at most ${MESSAGE_MAX_CHARS} characters (this one has ${characters})`);
  return trimmed;
}

export function createChatService({ db, clock, bus }: { db: Knex; clock: Clock; bus: EventBus }) {
  async function post(ticket: TicketView, from: ChatMessage['from'], author: { technicianId: number | null; name: string }, text: string, context: ActorContext): Promise<ChatMessage> {
    if (closedStatuses.includes(ticket.status)) {
      throw new AppError('TICKET_CLOSED', `Ticket ${ticket.id} is ${ticket.status}: its conversation is kept but takes no new messages`);
    }
    const now = clock.now();
    return db.transaction(async (trx) => {
      // The ticket's holder, state and team as this message is written, under its row's lock: a move to another
      // team's queue or an accept committed since it was read is what the live streams decide by (events/routes.ts).
      const current = (await trx('tickets').where({ id: ticket.id }).forUpdate().first('status', 'technician_id', 'team_id')) as { status: string; technician_id: number | null; team_id: number | null } | undefined;
      const holderId = current ? (current.technician_id === null ? null : Number(current.technician_id)) : (ticket.technician?.id ?? null);
      const teamId = current ? (current.team_id === null ? null : Number(current.team_id)) : (ticket.routing?.team?.id ?? null);
      const [newId] = await trx('ticket_messages').insert({ ticket_id: ticket.id, author: from, technician_id: author.technicianId, author_name: author.name.slice(0, 120), text, created_at: now });
      await addTicketWords(trx, ticket.id, ticket.createdAt, [text]);
      await insertAuditEvent(trx, now, context, 'message.sent', { ticketId: ticket.id, technicianId: ticket.technician?.id ?? null }, { messageId: Number(newId), from, characters: [...text].length });
      const message: ChatMessage = { id: Number(newId), from, authorName: author.name, text, at: now };
      // Written with the message: every server's streams see it once this commits.
      await bus.record(trx, 'ticket.message', { ticketId: ticket.id, technicianId: holderId, queued: (current?.status ?? ticket.status) === 'requested', message, teamId });
      return message;
    });
  }

  return {
    async list(ticketId: number): Promise<ChatMessage[]> {
      return ((await db('ticket_messages').where({ ticket_id: ticketId }).orderBy('id', 'asc')) as Row[]).map(toMessage);
    },

    /** The user writes (the desktop client). */
    fromUser(ticket: TicketView, text: string, context: ActorContext): Promise<ChatMessage> {
      return post(ticket, 'user', { technicianId: null, name: ticket.requesterName }, text, context);
    },

    /** A technician writes: to a queued request any technician may, to a held one its holder and administrators. */
    async fromTechnician(ticket: TicketView, technician: { id: number; displayName: string; role: 'admin' | 'technician' }, text: string, context: ActorContext): Promise<ChatMessage> {
      // A participant the user allowed writes too (issue 26); the message names its author.
      const participant = isWriter(ticket, technician) ? null : await participantStore.openFor(db, ticket.id, technician.id);
      if (!isWriter(ticket, technician) && participant?.state !== 'connected') throw new AppError('FORBIDDEN', `Ticket ${ticket.id} is held by ${ticket.technician?.displayName ?? 'another technician'}: only they and administrators may write to its user`);
      return post(ticket, 'technician', { technicianId: technician.id, name: technician.displayName }, text, context);
    },

    /** Marks a ticket's conversation read up to a message, for one technician. */
    async markRead(ticketId: number, technicianId: number, lastReadId: number): Promise<void> {
      await db('message_reads')
        .insert({ technician_id: technicianId, ticket_id: ticketId, last_read_id: lastReadId })
        .onConflict(['technician_id', 'ticket_id'])
        .merge({ last_read_id: db.raw('CASE WHEN ? > last_read_id THEN ? ELSE last_read_id END', [lastReadId, lastReadId]) });
    },

    /** Unread messages from users, per ticket, for one technician. */
    async unread(technicianId: number, ticketIds: readonly number[]): Promise<Map<number, number>> {
      if (ticketIds.length === 0) return new Map();
      const rows = (await db('ticket_messages as m')
        .leftJoin('message_reads as r', function () {
          this.on('r.ticket_id', '=', 'm.ticket_id').andOn('r.technician_id', '=', db.raw('?', [technicianId]));
        })
        .whereIn('m.ticket_id', ticketIds)
        .andWhere('m.author', 'user')
        .andWhere((q) => {
          void q.whereNull('r.last_read_id').orWhereRaw('m.id > r.last_read_id');
        })
        .groupBy('m.ticket_id')
        .select('m.ticket_id')
        .count({ n: '*' })) as { ticket_id: number; n: number | string }[];
      return new Map(rows.map((r) => [Number(r.ticket_id), Number(r.n)]));
    },
  };
}
