// No English in a Spanish or Chinese page (issue 31). Every page the app
// serves (read from its router, so a page added later is covered without
// touching this test) is opened in Chromium in Spanish and in Chinese, as an
// administrator, and so are the states the browser scripts reach: the queue's
// live row, the Files list updated live, a confirmation dialog, empty lists.
// What a person reads there (the visible text, aria labels, titles,
// placeholders, phone-card labels) must hold no piece of the English
// catalogue (test/english-leaks.ts). Chinese screenshots are kept in
// artifacts/english-leaks (fonts-noto-cjk draws them).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { Application } from 'express';
import type { Browser, Page } from 'playwright-core';
import { ADMIN_PASSWORD, startHarness, type Harness, type Tech } from '../test/server-harness.ts';
import { artifactsDir, launchChromium } from '../test/browser.ts';
import { englishPieces, leaksIn, type Leak } from '../test/english-leaks.ts';
import { en } from './messages/en.ts';
import { es } from './messages/es.ts';
import { zh } from './messages/zh.ts';

let h: Harness;
let browser: Browser;
let admin: Tech;
let ana: Tech;
const shots = join(artifactsDir, 'english-leaks');

// Brand names and codes that stay as they are in every language.
const allow = ['Helpdesk API', 'OpenAPI', 'Bearer'];
const pieces = englishPieces(en, [es, zh], allow);

/** Every GET path of the app's routers (Express 5 router stack), parameters as ":name". */
function pagePaths(app: Application): string[] {
  interface Layer { rawPath?: unknown; route?: { path: unknown; methods: Record<string, boolean> }; handle: { stack?: Layer[] } }
  const found = new Set<string>();
  const walk = (stack: Layer[], base: string) => {
    for (const layer of stack) {
      const raw = typeof layer.rawPath === 'string' ? layer.rawPath : '';
      if (layer.route && typeof layer.route.path === 'string' && layer.route.methods.get) found.add(`${base}${layer.route.path}`);
      else if (layer.handle.stack) walk(layer.handle.stack, raw === '/' ? base : `${base}${raw}`);
    }
  };
  walk((app as unknown as { router: { stack: Layer[] } }).router.stack, '');
  // People's pages: not the APIs, the assets, the login redirects or files for download.
  return [...found].filter((p) => !/^\/(api|auth|internal|assets|tech-assets|vendor|metrics|health|wsServer|wsClient|logout)\b/.test(p) && !/\.(csv|json|js|css|ya?ml|png|ico|txt)$/.test(p)).sort();
}

async function readable(page: Page): Promise<string> {
  return page.evaluate(() => {
    const parts = [document.title, document.body.innerText];
    for (const el of document.querySelectorAll('[aria-label],[title],[placeholder],[alt],[data-label],option,dialog')) {
      for (const name of ['aria-label', 'title', 'placeholder', 'alt', 'data-label']) {
        const value = el.getAttribute(name);
        if (value) parts.push(value);
      }
      if (el.tagName === 'OPTION' || el.tagName === 'DIALOG') parts.push(el.textContent ?? '');
    }
    // Codes shown as codes (<code>: an event name beside its words, a scope) are not words.
    const codes = [...document.querySelectorAll('code')].map((c) => c.textContent ?? '').filter((c) => c.length > 0);
    return codes.reduce((text, code) => text.split(code).join(' '), parts.join('\n'));
  });
}

beforeAll(async () => {
  mkdirSync(shots, { recursive: true });
  [h, browser] = await Promise.all([startHarness('sqlite', { MAX_ACTIVE_TICKETS_PER_TECH: '20' }), launchChromium()]);
  admin = await h.login('admin', ADMIN_PASSWORD);
  ana = await h.createTechnician(admin, 'ana');
}, 60_000);

afterAll(async () => {
  await browser?.close();
  await h?.close();
});

/** An administrator's page in `lang` (the browser's language), the login form checked by `atLogin` on the way. */
async function adminPage(lang: 'es' | 'zh', atLogin: (page: Page) => Promise<void> = async () => {}): Promise<Page> {
  const context = await browser.newContext({ locale: lang === 'zh' ? 'zh-CN' : 'es-ES', viewport: { width: 1280, height: 900 } });
  const page = await context.newPage();
  await page.goto(`${h.server.url}/login`);
  await atLogin(page);
  await page.locator('#username').fill('admin');
  await page.locator('#password').fill(ADMIN_PASSWORD);
  await page.locator('form[action="/login"] button[type=submit]').click();
  await page.waitForURL((u) => !u.pathname.startsWith('/login'));
  return page;
}

describe('no English in Spanish and Chinese pages (issue 31)', () => {
  it('every page of the router and every script state, in es and zh', async () => {
    const seen: { lang: string; where: string; leaks: Leak[] }[] = [];
    const check = async (page: Page, lang: string, where: string) => {
      const text = await readable(page);
      const leaks = leaksIn(text, pieces);
      if (process.env.LEAKS_DEBUG && leaks.length) console.log(where, text);
      if (leaks.length) seen.push({ lang, where, leaks });
    };

    // Something on every page: a ticket in the queue, one accepted with a chat line and a 57-byte file, a resolved one.
    // (People's names are data, not words: none that reads as English.)
    const ask = (description: string) => h.helpRequest({ requesterName: 'Beto Ruiz', description });
    const accepted = async (description: string) => {
      const r = await ask(description);
      await ana.post(`/api/v1/tickets/${r.id}/accept`).expect(200);
      return r;
    };
    await ask('La impresora no imprime');
    const held = await accepted('El correo no llega');
    await ana.post(`/api/v1/tickets/${held.id}/messages`, { text: 'Hola' }).expect(201);
    const file = (await ana.agent.post(`/api/v1/tickets/${held.id}/files?name=nota.txt`).set('x-csrf-token', ana.csrf).set('content-type', 'application/octet-stream').send(Buffer.alloc(57, 65))).body.file as { id: string };
    const done = await accepted('Sin sonido');
    await ana.post(`/api/v1/tickets/${done.id}/end`).expect((r) => expect(r.status).toBeLessThan(500));
    await ana.post(`/api/v1/tickets/${done.id}/resolve`, { resolution: 'Reiniciado' }).expect((r) => expect(r.status).toBeLessThan(500));
    // A page's parameter, by the page's first segment.
    const ids: Record<string, number | string> = { tickets: held.id, tech: held.id, technicians: ana.id };

    const paths = pagePaths(h.server.app);
    expect(paths).toEqual(expect.arrayContaining(['/queue', '/mine', '/history', '/stats', '/audit', '/profile', '/technicians', '/tickets/:id']));
    const skipped: string[] = [];

    for (const lang of ['es', 'zh'] as const) {
      const page = await adminPage(lang, (p) => check(p, lang, '/login'));
      const context = page.context();

      for (const route of paths) {
        const id = ids[route.split('/')[1] ?? ''];
        const path = id === undefined ? route : route.replace(/:\w+/, String(id));
        if (path.includes(':')) {
          skipped.push(route);
          continue;
        }
        const res = await page.goto(`${h.server.url}${path}`);
        if (!res || !(res.headers()['content-type'] ?? '').includes('text/html')) continue;
        await page.waitForLoadState('load');
        await page.waitForTimeout(150);
        await check(page, lang, path);
        if (lang === 'zh' && ['/queue', '/stats', '/profile', `/tickets/${held.id}`, '/audit'].includes(path)) {
          await page.screenshot({ path: join(shots, `zh-${path.replace(/\//g, '_')}.png`), fullPage: true });
        }
      }

      // Script states: a request arriving in an open queue.
      await page.goto(`${h.server.url}/queue`);
      await page.waitForSelector('body[data-live="on"]');
      const arrived = await ask('Sin red');
      await page.locator(`tr[data-ticket-id="${arrived.id}"]`).waitFor();
      await check(page, lang, '/queue (live row)');
      // The Files list updated live when the user accepts the file; on a phone, each cell with its label.
      await page.setViewportSize({ width: 390, height: 844 });
      await page.goto(`${h.server.url}/tickets/${held.id}`);
      await page.waitForSelector('body[data-live="on"]');
      if (lang === 'es') await h.api.post(`/api/v1/help-requests/${held.id}/files/${file.id}/accept`).set('authorization', `Bearer ${held.secret}`).expect(200);
      await page.locator('.file-list tr[data-state="accepted"]').waitFor();
      await check(page, lang, `/tickets/${held.id} (file accepted, live)`);
      if (lang === 'es') {
        // The live row's cells carry their labels on a phone card.
        expect(await page.locator('.file-list tbody td[data-label]').count()).toBe(5);
        expect(await page.locator('.file-list tbody').textContent()).toContain('57 B');
        expect(await page.locator('.file-list tbody').textContent()).toContain('aceptado por el usuario');
      }
      // A confirmation dialog.
      await page.goto(`${h.server.url}/technicians/${ana.id}`);
      await page.locator('form[data-confirm] button[type=submit]').first().click();
      await page.locator('dialog.confirm[open]').waitFor();
      await check(page, lang, `/technicians/${ana.id} (confirmation)`);
      await page.locator('dialog.confirm #confirm-cancel').click();
      // Empty lists.
      for (const path of ['/history?text=zzzz', '/audit?action=token.revoked', '/sessions']) {
        await page.goto(`${h.server.url}${path}`);
        await check(page, lang, `${path} (empty)`);
      }
      await context.close();
    }
    expect(seen.map((s) => `${s.lang} ${s.where}: ${s.leaks.map((l) => `${l.key} "${l.text}"`).join(', ')}`)).toEqual([]);
    expect(skipped.filter((p) => !p.startsWith('/recordings/'))).toEqual([]);
  }, 240_000);

  it('charts whose figures all fall on one day show them, with the days and the legend in Spanish', async () => {
    // Requests accepted today: one day of waiting times in the last 7.
    const r = await h.helpRequest({ requesterName: 'Beto Ruiz', description: 'Pantalla negra' });
    await ana.post(`/api/v1/tickets/${r.id}/accept`).expect(200);
    const page = await adminPage('es');
    await page.goto(`${h.server.url}/stats?days=7`);
    await page.waitForSelector('body[data-charts="drawn"]');
    const painted = await page.evaluate(() => {
      const canvas = document.querySelector<HTMLCanvasElement>('[data-chart="wait"] canvas')!;
      const { data } = canvas.getContext('2d')!.getImageData(0, 0, canvas.width, canvas.height);
      // The median's blue (#0b6bcb) or the 90th percentile's red (#b3261e), drawn over it when they are equal.
      const near = (i: number, [r, g, b]: number[]) => Math.abs(data[i]! - r!) < 40 && Math.abs(data[i + 1]! - g!) < 40 && Math.abs(data[i + 2]! - b!) < 40 && data[i + 3]! > 150;
      let series = 0;
      for (let i = 0; i < data.length; i += 4) if (near(i, [11, 107, 203]) || near(i, [179, 38, 30])) series += 1;
      return series;
    });
    expect(painted).toBeGreaterThan(10);
    expect(await page.locator('[data-chart="wait"] .u-legend').innerText()).toMatch(/^Día\b/);
    const today = new Date().toISOString().slice(0, 10);
    const lastDay = await page.locator('#per-day tbody tr').last().locator('td').first().textContent();
    expect(lastDay).toBe(new Intl.DateTimeFormat('es', { year: 'numeric', month: 'short', day: 'numeric', timeZone: 'UTC' }).format(Date.parse(`${today}T00:00:00Z`)));
    await page.screenshot({ path: join(shots, 'es-stats-one-day.png'), fullPage: true });
    await page.context().close();
  }, 60_000);
});
