// Times and figures for people (issue 31): every page's dates and numbers go
// through Intl in the page's language and the reader's time zone — the one on
// their profile, else their browser's (the cookie ui.js sets), else UTC — while
// the CSV and the API stay UTC ISO. Migration 029 on both engines.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ADMIN_PASSWORD, startHarness, type Harness, type Tech } from '../test/server-harness.ts';
import { formatter, isTimeZone } from './public/format.js';

describe('format.js: one formatter for pages and scripts', () => {
  it('writes decimals, sizes and times the way each language does', () => {
    const [en, es, zh] = [formatter('en', 'UTC'), formatter('es', 'Europe/Madrid'), formatter('zh-CN', 'Asia/Shanghai')];
    expect([en.number(0.75, 2), es.number(0.75, 2), es.number(0.2), zh.number(0.2)]).toEqual(['0.75', '0,75', '0,2', '0.2']);
    // The same size reads the same from a page and from a live update: 57 bytes are 57 B, never "0.1 KiB".
    expect([en.bytes(57), es.bytes(57), es.bytes(1536), zh.bytes(5 * 1024 * 1024)]).toEqual(['57 B', '57 B', '1,5 KiB', '5 MiB']);
    const at = Date.UTC(2026, 10, 22, 8, 14, 33);
    expect(en.time(at)).toBe('11/22/2026, 08:14:33 UTC');
    expect(es.time(at)).toBe('22/11/2026, 09:14:33 CET');
    expect(zh.time(at)).toMatch(/^2026\/11\/22 .*16:14:33$/);
    // A statistics day is a calendar day: Spanish puts the day first.
    expect([es.day('2026-11-02', true), en.day('2026-11-02', true)]).toEqual(['2 nov', 'Nov 2']);
    expect([isTimeZone('Europe/Madrid'), isTimeZone('UTC'), isTimeZone('Mars/Olympus'), isTimeZone('')]).toEqual([true, true, false, false]);
    expect(formatter('en', 'Mars/Olympus').timeZone).toBe('UTC');
  });
});

for (const engine of ['sqlite', 'mysql'] as const) {
  describe(`the time-zone setting (${engine})`, () => {
    let h: Harness;
    let ana: Tech;
    beforeAll(async () => {
      h = await startHarness(engine);
      ana = await h.createTechnician(await h.login('admin', ADMIN_PASSWORD), 'ana');
    }, 120_000);
    afterAll(async () => h?.close());

    it('changes the times shown, not the CSV nor the API', async () => {
      const { id } = await h.acceptedRequest(ana);
      const createdAt = (await ana.get(`/api/v1/tickets/${id}`).expect(200)).body.ticket.createdAt as number;
      const csv = async () => (await ana.get('/history.csv').expect(200)).text;
      const csvBefore = await csv();
      const iso = new Date(createdAt).toISOString().replace('T', ' ').slice(0, 19);
      expect(csvBefore).toContain(`${id},${iso} UTC,`);

      // No choice and no browser zone said yet: UTC, in English.
      const page = async (headers: Record<string, string> = {}) => {
        let req = ana.get(`/tickets/${id}`);
        for (const [k, v] of Object.entries(headers)) req = req.set(k, v);
        return (await req.expect(200)).text;
      };
      expect(await page()).toContain(formatter('en', 'UTC').time(createdAt));
      // The browser's zone (its script's cookie) when the profile names none.
      expect(await page({ cookie: 'hd.tz=America%2FNew_York' })).toContain(formatter('en', 'America/New_York').time(createdAt));

      // The profile's choice wins over the browser's; an unknown zone is refused and changes nothing.
      await ana.post('/profile/time-zone', { timeZone: 'Mars/Olympus' }).expect(303);
      expect(await page()).toContain(formatter('en', 'UTC').time(createdAt));
      await ana.post('/profile/time-zone', { timeZone: 'Asia/Shanghai' }).expect(303);
      const shanghai = await page({ cookie: 'hd.tz=America%2FNew_York' });
      expect(shanghai).toContain(formatter('en', 'Asia/Shanghai').time(createdAt));
      expect(shanghai).not.toContain(formatter('en', 'America/New_York').time(createdAt));
      expect(shanghai).toContain('data-time-zone="Asia/Shanghai"');
      // In the page's language too.
      await ana.post('/profile/language', { language: 'es' }).expect(303);
      expect(await page()).toContain(formatter('es', 'Asia/Shanghai').time(createdAt));
      await ana.post('/profile/time-zone', { timeZone: 'Europe/Atlantis' }).expect(303);
      expect((await ana.get('/profile').expect(200)).text).toContain('Esa zona horaria no se conoce: elija una de la lista.');
      const profile = (await ana.get('/profile').expect(200)).text;
      expect(profile).toContain('<option value="Asia/Shanghai" selected>');

      // The CSV and the API are for programs: UTC ISO whatever the reader's zone.
      expect(await csv()).toBe(csvBefore);
      expect((await ana.get(`/api/v1/tickets/${id}`).expect(200)).body.ticket.createdAt).toBe(createdAt);

      // Back to the browser's zone.
      await ana.post('/profile/time-zone', { timeZone: '' }).expect(303);
      expect(await page({ cookie: 'hd.tz=Europe%2FMadrid' })).toContain(formatter('es', 'Europe/Madrid').time(createdAt));
    });
  });
}
