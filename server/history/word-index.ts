// The word index (migrations/031_word_postings.ts): a row (word, created_at,
// ticket_id) for each distinct word of a ticket's problem, resolution and
// conversation (server/history/words.ts). Its key is the word then the
// ticket's creation time and id — the history's order — so the newest
// tickets with a word are the first rows of that word's range, read without
// a sort. Written by the writes that change those texts, in their
// transaction: a ticket created (its problem), a message posted (its
// words), a resolution written (the ticket's words computed again, so words
// of an earlier resolution that no text holds any more go).
import type { Knex } from 'knex';
import { insertPostings } from '../../migrations/031_word_postings.ts';
import { wordSetOf } from '../../migrations/words.ts';

/**
 * Adds a ticket's words from texts just written (a new ticket's problem, a message): only those it has not yet,
 * in key order. Writers of one ticket hold its row (the message's, the move's transaction), so no other writes
 * these rows meanwhile; inserting none that exist takes no shared lock on an existing row of another ticket's
 * neighbourhood, which INSERT IGNORE did for every repeated word (two messages on two tickets could deadlock on MariaDB).
 */
export async function addTicketWords(db: Knex, ticketId: number, createdAt: number, texts: readonly (string | null | undefined)[]): Promise<void> {
  const words = [...wordSetOf(texts)];
  if (!words.length) return;
  const have = new Set<string>();
  for (let i = 0; i < words.length; i += 500) {
    for (const r of (await db('ticket_words').where({ ticket_id: ticketId }).whereIn('word', words.slice(i, i + 500)).select('word')) as { word: string }[]) have.add(r.word);
  }
  await insertNew(db, ticketId, createdAt, words, have);
}

/** Inserts the ticket's rows for `words` it does not `have`, in key order. */
function insertNew(db: Knex, ticketId: number, createdAt: number, words: Iterable<string>, have: ReadonlySet<string>): Promise<void> {
  return insertPostings(db, [...words].filter((w) => !have.has(w)).sort().map((word) => ({ word, created_at: createdAt, ticket_id: ticketId })));
}

/** Makes a ticket's postings those of its texts now (after a text was replaced, as a resolution is). */
export async function reindexTicket(db: Knex, ticketId: number): Promise<void> {
  const ticket = (await db('tickets').where({ id: ticketId }).first('description', 'resolution', 'created_at')) as { description: string; resolution: string | null; created_at: number | string } | undefined;
  if (!ticket) return;
  const messages = (await db('ticket_messages').where({ ticket_id: ticketId }).select('text')) as { text: string }[];
  const wanted = wordSetOf([ticket.description, ticket.resolution, ...messages.map((m) => m.text)]);
  const have = ((await db('ticket_words').where({ ticket_id: ticketId }).select('word')) as { word: string }[]).map((r) => r.word);
  const gone = have.filter((w) => !wanted.has(w));
  for (let i = 0; i < gone.length; i += 500) await db('ticket_words').where({ ticket_id: ticketId }).whereIn('word', gone.slice(i, i + 500)).delete();
  await insertNew(db, ticketId, Number(ticket.created_at), wanted, new Set(have));
}
