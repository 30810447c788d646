// The word index's reads give what a plain reading of the texts gives, on
// both engines and by every plan (server/history/word-search.ts): a rare word
// read whole and sorted, a common word read in order up to the page, a
// common prefix read word by word and merged, a prefix covering many words
// checked ticket by ticket — forced here by small limits — with cursors in
// both orders, date ranges and other filters. The index follows the writes
// (a new problem, a message, a resolution written and written again) and the
// migration builds the same rows from the tickets.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Knex } from 'knex';
import { engines, freshDatabase } from '../../test/databases.ts';
import { openDatabase } from '../db/database.ts';
import { ticketStore, type TicketRow } from '../tickets/store.ts';
import { up as buildPostings } from '../../migrations/031_word_postings.ts';
import { addTicketWords } from './word-index.ts';
import { wordMatches } from './word-search.ts';
import { historyAll, historyRows } from './history-store.ts';
import { Writable } from 'node:stream';
import { writeHistoryCsv } from '../../admin-web/history-csv.ts';
import { historyQuerySchema } from '../tickets/schema.ts';
import { wordCount } from './word-count.ts';
import { wordQueryOf, wordSetOf, wordsOf } from './words.ts';

const VOCABULARY = ['print', 'printer', 'Printing', 'prin', 'écran', 'Ecrans', 'ÉCRAN', '100', '1000', '打印机', 'vpn', 'VPN-client', 'mail', 'mails', 'mailbox', 'maître', 'naïve', 'zèbre', 'x', 'wifi'];

let seed = 7;
const rand = (n: number) => ((seed = (seed * 48271) % 2147483647), seed % n);
const sentence = () => Array.from({ length: 1 + rand(5) }, () => VOCABULARY[rand(VOCABULARY.length)]).join(rand(3) ? ' ' : ', ');

function row(i: number, createdAt: number, description: string): Omit<TicketRow, 'id'> {
  return {
    status: i % 3 === 0 ? 'resolved' : 'requested', requester_name: `R ${i}`, username: 'u', hostname: `h-${i % 4}`, os: 'Linux', description,
    client_secret_hash: 'x'.repeat(64), requester_address: '127.0.0.1', technician_id: null, view_only: false, recorded: false, resolution: null, end_reason: null,
    created_at: createdAt, updated_at: createdAt, accepted_at: null, approved_at: null, started_at: null, ended_at: null, resolved_at: null,
    topic_id: null, team_id: null, wait_target_ms: null, wait_due_at: null,
  } as Omit<TicketRow, 'id'>;
}

describe('words', () => {
  it('are runs of letters and digits, lower-cased, without accents, cut at 32 characters', () => {
    expect(wordsOf('Écran NOIR, naïve—maître; 100% ok')).toEqual(['ecran', 'noir', 'naive', 'maitre', '100', 'ok']);
    expect(wordsOf('ﬁle Ⅻ ＡＢＣ')).toEqual(['file', 'xii', 'abc']);
    expect(wordsOf('a'.repeat(40))).toEqual(['a'.repeat(32)]);
    expect(wordQueryOf('100%')).toEqual({ words: ['100'], prefixLast: false });
    expect(wordQueryOf('print Print prin')).toEqual({ words: ['print', 'prin'], prefixLast: true });
    expect(wordQueryOf('print printer print')).toEqual({ words: ['printer', 'print'], prefixLast: false });
    expect(wordQueryOf(' %% ')).toBeNull();
  });
});

describe.each(engines)('word index on %s', (engine) => {
  let db: Knex;
  const texts = new Map<number, string[]>();
  const created = new Map<number, number>();
  const status = new Map<number, string>();
  const resolutions = new Map<number, string>();
  beforeAll(async () => {
    db = await openDatabase(await freshDatabase(engine));
    for (let i = 0; i < 80; i++) {
      const at = 1_700_000_000_000 + Math.floor(i / 3) * 1000; // three tickets a second: the id breaks ties
      const description = sentence();
      const id = await db.transaction((trx) => ticketStore.insert(trx, row(i, at, description)));
      texts.set(id, [description]);
      created.set(id, at);
      status.set(id, i % 3 === 0 ? 'resolved' : 'requested');
      if (rand(4) === 0) {
        const text = sentence();
        await db.transaction(async (trx) => {
          await trx('ticket_messages').insert({ ticket_id: id, author: 'user', technician_id: null, author_name: 'u', text, created_at: at });
          await addTicketWords(trx, id, at, [text]);
        });
        texts.get(id)!.push(text);
      }
      if (i % 3 === 0) {
        // Resolved twice: the first resolution's words go unless another text holds them.
        for (const resolution of [sentence(), sentence()]) {
          expect(await db.transaction((trx) => ticketStore.moveStatus(trx, id, 'resolved', { resolution }))).toBe(1);
          resolutions.set(id, resolution);
        }
      }
    }
  }, 120_000);
  afterAll(async () => {
    await db?.destroy();
  });

  /** The tickets a plain reading of the texts finds, in the history's order. */
  function expected(text: string, order: 'asc' | 'desc', keep: (id: number) => boolean = () => true): number[] {
    const q = wordQueryOf(text)!;
    const ids = [...texts.keys()].filter((id) => {
      const words = wordSetOf([...texts.get(id)!, resolutions.get(id)]);
      return keep(id) && q.words.every((w, i) => (q.prefixLast && i === q.words.length - 1 ? [...words].some((x) => x.startsWith(w)) : words.has(w)));
    });
    const sign = order === 'asc' ? 1 : -1;
    return ids.sort((a, b) => sign * (created.get(a)! - created.get(b)! || a - b));
  }

  // Each plan, and pages cut short by a budget of a few rows read (then continued from where they stopped).
  const plans = [
    { dense: 2000, maxExpansion: 16, budget: 20_000, sortedUpTo: 20_000 },
    { dense: 1, maxExpansion: 16, budget: 3, sortedUpTo: 1 },
    { dense: 1, maxExpansion: 16, budget: 20_000, sortedUpTo: 1 },
    { dense: 1, maxExpansion: 0, budget: 20_000, sortedUpTo: 1 },
    { dense: 1, maxExpansion: 0, budget: 5, sortedUpTo: 1 },
    { dense: 3, maxExpansion: 1, budget: 100, sortedUpTo: 3 },
    { dense: 1, maxExpansion: 16, budget: 4, sortedUpTo: 20_000 },
  ];

  it('finds by every plan what the texts hold, page by page in both orders', async () => {
    const queries = ['print', 'print ', 'prin', 'PRINTER', 'ecran', 'écrans', 'e', '100', '100%', '1000', '打印', 'vpn client', 'vpn-cl', 'mail x', 'x mail', 'maitre naive', 'zebre wifi pr', 'nothing', 'p', 'm'];
    for (const limits of plans) {
      for (const text of queries) {
        for (const order of ['desc', 'asc'] as const) {
          const all = expected(text, order);
          const seen: number[] = [];
          let cursor: { value: number; id: number } | undefined;
          for (let pageNo = 0; pageNo < 400; pageNo++) {
            const page = await wordMatches(db, wordQueryOf(text)!, { order, cursor, limit: 7, filter: null }, limits);
            seen.push(...page.rows.map((r) => r.id));
            if (page.rows.length === 7) cursor = { value: page.rows.at(-1)!.createdAt, id: page.rows.at(-1)!.id };
            else if (page.stoppedAt) cursor = { value: Number(page.stoppedAt.value), id: page.stoppedAt.id };
            else break;
          }
          expect(seen, `${text} ${order} ${JSON.stringify(limits)}`).toEqual(all);
          for (const cap of [3, 1000]) {
            // The whole index read: exact up to the cap. A budget of 5 rows: exact, "more than", or an estimate that found what the 5 rows held.
            expect(await wordCount(db, wordQueryOf(text)!, { filter: null }, cap)).toEqual(all.length < cap ? { total: all.length, exact: true, estimated: false } : { total: cap, exact: false, estimated: false });
            const small = await wordCount(db, wordQueryOf(text)!, { filter: null }, cap, 5);
            if (small.exact) expect(small.total).toBe(all.length);
            else if (!small.estimated) expect([small.total, all.length >= cap]).toEqual([cap, true]);
            else expect(wordQueryOf(text)!.words.length).toBeGreaterThan(1);
          }
        }
      }
    }
  });

  it('applies dates and the other filters with the words, and restricts a query in any order alike', async () => {
    const from = 1_700_000_000_000 + 5_000;
    const to = from + 12_000;
    for (const limits of plans) {
      for (const text of ['print', 'mail', 'e', 'vpn p']) {
        const inRange = (id: number) => created.get(id)! >= from && created.get(id)! < to;
        const resolved = (id: number) => status.get(id) === 'resolved';
        const all = { ...limits, budget: 20_000 };
        const byDate = await wordMatches(db, wordQueryOf(text)!, { order: 'desc', limit: 100, filter: null, from, to }, all);
        expect(byDate).toEqual({ rows: expect.anything(), stoppedAt: null });
        expect(byDate.rows.map((r) => r.id)).toEqual(expected(text, 'desc', inRange));
        const byStatus = await wordMatches(db, wordQueryOf(text)!, { order: 'asc', limit: 100, filter: (q) => void q.where('tickets.status', 'resolved') }, all);
        expect(byStatus.rows.map((r) => r.id)).toEqual(expected(text, 'asc', resolved));
        // Cut short by the budget: what it found is the start of the answer, and it says where it stopped.
        const short = await wordMatches(db, wordQueryOf(text)!, { order: 'asc', limit: 100, filter: (q) => void q.where('tickets.status', 'resolved') }, { ...limits, budget: 4 });
        expect(short.rows.map((r) => r.id)).toEqual(expected(text, 'asc', resolved).slice(0, short.rows.length));
        if (short.stoppedAt === null) expect(short.rows.length).toBe(expected(text, 'asc', resolved).length);
        const onlyResolved = (q: Knex.QueryBuilder) => void q.where('tickets.status', 'resolved');
        expect(await wordCount(db, wordQueryOf(text)!, { filter: onlyResolved }, 1000)).toEqual({ total: expected(text, 'asc', resolved).length, exact: true, estimated: false });
        expect(await wordCount(db, wordQueryOf(text)!, { filter: null, from, to }, 1000)).toEqual({ total: expected(text, 'asc', inRange).length, exact: true, estimated: false });
        // A common driving word (here: any) samples the period's newest tickets: all of them, so exact.
        expect(await wordCount(db, wordQueryOf(text)!, { filter: onlyResolved, from, to }, 1000, 1000, 1)).toEqual({ total: expected(text, 'asc', (id) => inRange(id) && resolved(id)).length, exact: true, estimated: false });
        const sampled = await wordCount(db, wordQueryOf(text)!, { filter: onlyResolved }, 1000, 10, 1);
        expect(sampled.exact).toBe(false);
        expect(sampled.estimated).toBe(true);
      }
    }
    // Another order (the hostname, then the id): every page walked by its cursor, each ticket once, the same set.
    for (const text of ['print', 'ecran 100', 'mail x', 'p']) {
      const seen: number[] = [];
      let after: string | null = null;
      for (let n = 0; n < 100; n++) {
        const page = await historyRows(db, historyQuerySchema.parse({ text, sort: 'hostname', order: 'asc', pageSize: 4, ...(after ? { after } : {}) }));
        seen.push(...page.rows.map((r) => r.id));
        if (!(after = page.next)) break;
      }
      expect(new Set(seen).size).toBe(seen.length);
      expect([...seen].sort((a, b) => a - b)).toEqual(expected(text, 'asc').sort((a, b) => a - b));
    }
  });

  it('ends an export that words rarely meeting would make read the whole index, saying so', async () => {
    const text = 'zebre 1000';
    const all = async (budget: number) => {
      const pages = historyAll(db, historyQuerySchema.parse({ text, order: 'asc' }), undefined, 2, 1000, budget);
      const ids: number[] = [];
      for (;;) {
        const next = await pages.next();
        if (next.done) return { ids, stopped: next.value.stopped };
        ids.push(...next.value.map((r) => r.id));
      }
    };
    expect(await all(20_000)).toEqual({ ids: expected(text, 'asc'), stopped: false });
    const cut = await all(1);
    expect(cut.stopped).toBe(true);
    expect(cut.ids).toEqual(expected(text, 'asc').slice(0, cut.ids.length));
    // Through the CSV writer: its last line says where and why it stopped.
    let csv = '';
    const sink = new Writable({ write(chunk: Buffer, _e, done) { csv += chunk.toString(); done(); } });
    await writeHistoryCsv(sink, historyAll(db, historyQuerySchema.parse({ text, order: 'asc' }), undefined, 2, 1000, 1));
    expect(csv.trimEnd().split('\r\n').at(-1)).toContain('Export stopped here');
  });

  it('indexes a text of many distinct words in one write (more than one statement of rows on either engine)', async () => {
    const at = 1_600_000_000_000;
    const id = await db.transaction((trx) => ticketStore.insert(trx, row(999, at, 'many words')));
    const many = Array.from({ length: 2_600 }, (_, i) => `w${i.toString(36)}x`).join(' ');
    await db.transaction((trx) => addTicketWords(trx, id, at, [many]));
    expect(Number(((await db('ticket_words').where({ ticket_id: id }).count({ n: '*' }).first()) as { n: number | string }).n)).toBe(2_602);
    await db('ticket_words').where({ ticket_id: id }).delete();
    await db('tickets').where({ id }).delete();
  });

  it('is built by the migration with the same rows the writes made', async () => {
    const rows = async () => JSON.stringify(await db('ticket_words').select('word', 'created_at', 'ticket_id').orderBy(['word', 'created_at', 'ticket_id']));
    const written = await rows();
    expect(written).not.toBe('[]');
    await db('ticket_words').where('ticket_id', '<=', 40).delete();
    await buildPostings(db);
    expect(await rows()).toBe(written);
  });
});
