// The history benchmark's data: technicians and tickets written straight
// into a database whose schema stops before the history migrations (022–024),
// so the benchmark can then time those migrations on the rows. Text is drawn
// from a vocabulary of a few thousand words by a Zipf law (a few words are
// common, most are rare), as people write problems and resolutions; a tenth
// of the tickets have a conversation of a few messages.
import type { Knex } from 'knex';
import { ticketStatuses } from '../server/tickets/state-machine.ts';

export const TECHNICIANS = 20;
const VOCABULARY = 3_000;
/** One ticket every 30 s: a million tickets span about a year. */
export const TICKET_SPACING_MS = 30_000;

let seed = 42;
/** MINSTD: the products stay exact in a double. */
export const rand = (n: number): number => ((seed = (seed * 48271) % 2147483647), seed % n);

const SYLLABLES = ['ka', 'lo', 'mi', 'ne', 'ru', 'ta', 'vo', 'zi', 'pe', 'sa', 'do', 'fu', 'gi', 'ha', 'ju', 'be', 'co', 'dy', 'el', 'ar'];
const COMMON = ['printer', 'vpn', 'password', 'outlook', 'screen', 'drive', 'network', 'blank', 'slow', 'update', 'error', 'login', 'laptop', 'wifi', 'mail', 'crash', 'sound', 'camera', 'excel', 'teams'];

/** The vocabulary, most frequent first: some everyday words, then made-up ones (two or three syllables, some accented). */
export const words: string[] = (() => {
  const out = [...COMMON];
  for (let i = 0; out.length < VOCABULARY; i++) {
    const a = SYLLABLES[i % 20]!;
    const b = SYLLABLES[Math.floor(i / 20) % 20]!;
    const c = i >= 400 ? SYLLABLES[Math.floor(i / 400) % 20]! : '';
    const w = `${a}${b}${c}`;
    out.push(i % 17 === 0 ? w.replace('e', 'é') : w);
  }
  return out;
})();

// Zipf (s = 1): the cumulative weights, searched by bisection.
const cumulative = (() => {
  const c: number[] = [];
  let sum = 0;
  for (let r = 1; r <= VOCABULARY; r++) c.push((sum += 1 / r));
  return c.map((x) => x / sum);
})();

export function word(): string {
  const u = rand(1_000_000) / 1_000_000;
  let lo = 0;
  let hi = cumulative.length - 1;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (cumulative[mid]! < u) lo = mid + 1;
    else hi = mid;
  }
  return words[lo]!;
}

const sentence = (min: number, max: number): string => {
  const n = min + rand(max - min + 1);
  const out: string[] = [];
  for (let i = 0; i < n; i++) out.push(word());
  const s = out.join(' ');
  return `${s[0]!.toUpperCase()}${s.slice(1)}.`;
};

/** Seeds `tickets` tickets ending at `now`; returns the technicians' ids. */
export async function seedTickets(db: Knex, tickets: number, now: number, onProgress: (done: number) => void): Promise<number[]> {
  const techIds: number[] = [];
  for (let i = 0; i < TECHNICIANS; i++) {
    const [id] = await db('technicians').insert({
      username: `tech${i}`, display_name: `Tech ${i}`, email: '', role: 'technician', active: true, password_hash: 'x',
      failed_logins: 0, locked_until: null, last_login_at: null, password_changed_at: now, created_at: now, updated_at: now,
    });
    techIds.push(Number(id));
  }
  const names = ['Ana', 'Bob', 'Carla', 'Dan', 'Eve', 'Femi', 'Gus', 'Hana', 'Ivo', 'Jun'];
  const BATCH = 2_000;
  let firstId = 0;
  for (let start = 0; start < tickets; start += BATCH) {
    const rows: Record<string, unknown>[] = [];
    const conversations: { index: number; texts: string[]; at: number }[] = [];
    for (let i = start; i < Math.min(tickets, start + BATCH); i++) {
      const created = now - (tickets - i) * TICKET_SPACING_MS;
      const status = ticketStatuses[rand(ticketStatuses.length)]!;
      const held = status !== 'requested' && status !== 'expired' && status !== 'cancelled';
      rows.push({
        status, requester_name: `${names[rand(names.length)]} ${rand(5000)}`, username: `u${rand(5000)}`, hostname: `host-${rand(20000)}`,
        os: 'Linux', description: sentence(6, 14), client_secret_hash: 'x'.repeat(64), requester_address: '10.0.0.1',
        technician_id: held ? techIds[rand(TECHNICIANS)] : null, view_only: false,
        resolution: status === 'resolved' ? sentence(5, 15) : null, end_reason: null,
        created_at: created, updated_at: created + 60_000, accepted_at: held ? created + rand(30 * 60_000) : null,
        approved_at: null, started_at: null, ended_at: null,
        resolved_at: status === 'resolved' ? created + 60_000 * (5 + rand(240)) + rand(60_000) : null,
      });
      if (rand(10) === 0) conversations.push({ index: i - start, at: created, texts: Array.from({ length: 1 + rand(4) }, () => sentence(5, 12)) });
    }
    await db.transaction(async (trx) => {
      await trx.batchInsert('tickets', rows, 500);
      if (firstId === 0) firstId = Number(((await trx('tickets').min({ id: 'id' }).first()) as { id: number }).id);
      const messages = conversations.flatMap((c) => c.texts.map((text, k) => ({ ticket_id: firstId + start + c.index, author: k % 2 ? 'technician' : 'user', technician_id: null, author_name: 'Someone', text, created_at: c.at + k * 60_000 })));
      if (messages.length) await trx.batchInsert('ticket_messages', messages, 500);
    });
    onProgress(Math.min(tickets, start + BATCH));
  }
  return techIds;
}
