// History by cursor and word search, on both engines (issue 30): pages that
// neither skip nor repeat a row while tickets are created between loads, and
// searches that find the same tickets on both engines through the word index
// (case, accents, prefix, two words, the conversation, "100%").
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { engines } from '../../test/databases.ts';
import { ADMIN_PASSWORD, startHarness, type Harness, type Tech } from '../../test/server-harness.ts';

describe.each(engines)('history on %s', (engine) => {
  let h: Harness;
  let admin: Tech;
  beforeAll(async () => {
    h = await startHarness(engine, { MAX_ACTIVE_TICKETS_PER_TECH: '20' });
    admin = await h.login('admin', ADMIN_PASSWORD);
  }, 120_000);
  afterAll(async () => {
    await h?.close();
  });

  type Page = { rows: { id: number }[]; next: string | null; prev: string | null; total: number; totalExact: boolean };
  const page = async (query: string): Promise<Page> => (await admin.get(`/api/v1/tickets?${query}`).expect(200)).body as Page;

  it('pages by cursor skip and repeat no row while tickets are created between loads, both ways and in both orders', async () => {
    const host = `keyset-${engine}`;
    const made: number[] = [];
    // Several tickets in the same millisecond (the harness's clock stands still): the id breaks the ties.
    for (let i = 0; i < 11; i++) {
      made.push((await h.helpRequest({ hostname: `${host}-${i % 3}` })).id);
      if (i % 4 === 0) h.clock.advance(1_000);
    }
    for (const order of ['desc', 'asc'] as const) {
      const seen: number[] = [];
      const newer: number[] = [];
      let cursor: string | null = null;
      const pages: Page[] = [];
      do {
        const p = await page(`hostname=${host}&order=${order}&pageSize=3${cursor ? `&after=${cursor}` : ''}`);
        pages.push(p);
        seen.push(...p.rows.map((r) => r.id));
        cursor = p.next;
        // A new matching ticket between two page loads.
        newer.push((await h.helpRequest({ hostname: `${host}-new` })).id);
      } while (cursor);
      const before = [...made].sort((a, b) => a - b);
      expect(new Set(seen).size).toBe(seen.length);
      if (order === 'desc') {
        // Newest first: the pages hold exactly the tickets there were at the first load, newest first.
        expect(seen).toEqual([...before].reverse());
      } else {
        // Oldest first: every earlier ticket in order, then those created meanwhile that the cursor had not passed yet.
        expect(seen.slice(0, before.length)).toEqual(before);
        expect(seen.slice(before.length).every((id) => newer.includes(id))).toBe(true);
      }
      // Back from the last page by `prev`: the same pages again, in reverse; newest first, the tickets made
      // meanwhile come before the first page.
      let back = pages.at(-1)!.prev;
      for (let i = pages.length - 2; i >= 0; i--) {
        const p = await page(`hostname=${host}&order=${order}&pageSize=3&before=${back}`);
        expect(p.rows.map((r) => r.id)).toEqual(pages[i]!.rows.map((r) => r.id));
        back = p.prev;
      }
      if (order === 'asc') expect(back).toBeNull();
      else expect((await page(`hostname=${host}&order=${order}&pageSize=50&before=${back}`)).rows.map((r) => r.id).sort((a, b) => a - b)).toEqual([...newer].sort((a, b) => a - b));
      made.push(...newer.splice(0));
    }
  });

  it('jumps to a date, counts exactly from the rollups (or under the cap), and refuses a foreign cursor', async () => {
    const host = `jump-${engine}`;
    const first = await h.helpRequest({ hostname: host });
    const later = await h.helpRequest({ hostname: host });
    // The first one three days older.
    await h.server.db('tickets').where({ id: first.id }).update({ created_at: h.clock.now() - 3 * 86_400_000 });
    const day = (daysAgo: number) => new Date(h.clock.now() - daysAgo * 86_400_000).toISOString().slice(0, 10);
    expect((await page(`hostname=${host}&at=${day(2)}`)).rows.map((r) => r.id)).toEqual([first.id]);
    expect((await page(`hostname=${host}&at=${day(0)}`)).rows.map((r) => r.id)).toEqual([later.id, first.id]);
    expect((await page(`hostname=${host}&order=asc&at=${day(2)}`)).rows.map((r) => r.id)).toEqual([later.id]);
    expect((await page(`hostname=${host}&order=asc&at=${day(-1)}`)).rows).toEqual([]);
    const all = await page('pageSize=1');
    expect(all.totalExact).toBe(true);
    expect(all.total).toBe(await h.rows('tickets'));
    expect((await page(`hostname=${host}`)).total).toBe(2);
    // The page: Next page and Previous page links carry the cursors, the filters stay.
    const html = async (path: string) => (await admin.get(path).expect(200)).text as string;
    const idsIn = (text: string) => [...text.matchAll(/data-ticket-id="(\d+)"/g)].map((m) => Number(m[1]));
    const linkIn = (text: string, rel: string) => [...text.matchAll(/href="([^"]+)" rel="([a-z]+)"/g)].find((m) => m[2] === rel)?.[1]?.replace(/&amp;/g, '&');
    const firstPage = await html(`/history?hostname=${host}&pageSize=1`);
    expect(idsIn(firstPage)).toEqual([later.id]);
    expect(linkIn(firstPage, 'prev')).toBeUndefined();
    const nextHref = linkIn(firstPage, 'next')!;
    expect(nextHref).toContain(`hostname=${host}`);
    const secondPage = await html(nextHref);
    expect(idsIn(secondPage)).toEqual([first.id]);
    expect(linkIn(secondPage, 'next')).toBeUndefined();
    const prevHref = linkIn(secondPage, 'prev')!;
    expect(idsIn(await html(prevHref))).toEqual([later.id]);
    const byName = await page('sort=hostname&pageSize=1');
    const refused = await admin.get(`/api/v1/tickets?sort=created_at&after=${byName.next}`).expect(400);
    expect(refused.body.error.code).toBe('VALIDATION_FAILED');
    await admin.get('/api/v1/tickets?after=not-a-cursor').expect(400);
  });

  it('finds the same tickets by words on the index: case, accents, prefix, two words, the conversation, "100%" literally', async () => {
    const tag = `words${engine === 'sqlite' ? 'a' : 'b'}`;
    const eva = await h.freshTechnician(admin, `eva-${engine}`);
    const secrets = new Map<number, string>();
    const make = async (description: string) => {
      const t = await h.helpRequest({ description: `${description} ${tag}`, hostname: `words-${engine}` });
      secrets.set(t.id, t.secret);
      return t.id;
    };
    const t1 = await make('Imprimante bloquée à l’étage');
    const t2 = await make('Printer jams on tray 2');
    const t3 = await make('printer prints blank pages');
    const t4 = await make('Disk 100% full');
    const t5 = await make('Copied 1000 files');
    const t6 = await make('Ärger mit dem Résumé');
    // A word only in the conversation, and one only in the resolution.
    await eva.post(`/api/v1/tickets/${t3}/accept`).expect(200);
    await eva.post(`/api/v1/tickets/${t3}/messages`).send({ text: 'The toner cartridge is empty' }).expect(201);
    await eva.post(`/api/v1/tickets/${t2}/accept`).expect(200);
    const user = { authorization: `Bearer ${secrets.get(t2)}` };
    await h.api.post(`/api/v1/help-requests/${t2}/approve`).set(user).send({ viewOnly: false }).expect(200);
    await h.api.post(`/api/v1/help-requests/${t2}/end`).set(user).expect(200);
    await eva.post(`/api/v1/tickets/${t2}/resolve`).send({ resolution: 'Replaced the roller' }).expect(200);
    const search = async (text: string) => (await page(`text=${encodeURIComponent(`${text} ${tag}`.trim())}&pageSize=50`)).rows.map((r) => r.id).sort((a, b) => a - b);
    // The tag is the last word (a prefix): put it first where the test is about the last word.
    const searchLast = async (text: string) => (await page(`text=${encodeURIComponent(`${tag} ${text}`)}&pageSize=50`)).rows.map((r) => r.id).sort((a, b) => a - b);
    expect(await search('IMPRIMANTE')).toEqual([t1]);
    expect(await search('bloquee etage')).toEqual([t1]);
    expect(await search('arger resume')).toEqual([t6]);
    expect(await searchLast('impri')).toEqual([t1]);
    expect(await searchLast('imprimantes')).toEqual([]);
    expect(await search('printer')).toEqual([t2, t3]);
    expect(await search('printer blank')).toEqual([t3]);
    expect(await search('jams on')).toEqual([t2]);
    expect(await search('toner')).toEqual([t3]);
    expect(await search('roller')).toEqual([t2]);
    expect(await searchLast('100%')).toEqual([t4]);
    expect(await searchLast('100')).toEqual([t4, t5]);
    expect(await searchLast('"100"*')).toEqual([t4]);
    expect(await search('-printer')).toEqual([t2, t3]);
    expect(await search('nowhere')).toEqual([]);
    // The page's count of a word search is exact under the cap.
    expect((await page(`text=printer+${tag}`)).total).toBe(2);
  });
});
