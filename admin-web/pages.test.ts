// Issue 16's whole day, in Chromium against the real server: every page in
// English, Spanish and Chinese with axe-core finding nothing (light and dark),
// the technician's main path on a 390×844 phone (screenshots kept), the
// statistics page's figures, history search over the problem text with date
// fields and CSV export, locked accounts shown to administrators, and the
// catalogues complete and consistent.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdirSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import request from 'supertest';
import { ADMIN_PASSWORD, startHarness, type Harness, type Tech } from '../test/server-harness.ts';
import { artifactsDir, launchChromium } from '../test/browser.ts';
import { catalogues, languages } from './messages/index.ts';
import { errorWords } from '../server/messages/errors.ts';
import { errorStatus } from '../server/errors.ts';
import { catalogues as desktopCatalogues, languageFromEnv } from '../desktop-client/core/messages.ts';
import { percentile } from '../server/tickets/stats.ts';

const axeSource = readFileSync(createRequire(import.meta.url).resolve('axe-core/axe.min.js'), 'utf8');
const shots = join(artifactsDir, 'pages');
const bearer = (secret: string) => ({ Authorization: `Bearer ${secret}` });
const placeholders = (s: string) => [...s.matchAll(/\{(\w+)\}/g)].map((m) => m[1]).sort().join(',');

let h: Harness;
let browser: Browser;
let admin: Tech;
let ana: Tech;

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

async function logIn(context: BrowserContext, username: string, password: string, path = '/queue', base = h.server.url): Promise<Page> {
  const page = await context.newPage();
  await page.goto(`${base}${path}`);
  await page.locator('#username').fill(username);
  await page.locator('#password').fill(password);
  await page.locator('form[action="/login"] button[type="submit"]').click();
  await page.waitForURL(`**${path}`);
  return page;
}

/** A login through the JSON API, with its CSRF token, in the given language; returns the answer. */
async function tryLogin(username: string, password: string, language = 'en') {
  const agent = request.agent(h.server.url);
  const probe = await agent.get('/auth/session').expect(200);
  return agent.post('/auth/login').set('x-csrf-token', probe.body.csrfToken).set('accept-language', language).send({ username, password });
}

async function axeViolations(page: Page): Promise<string[]> {
  if (!(await page.evaluate(() => 'axe' in window))) await page.addScriptTag({ content: axeSource });
  const result = await page.evaluate(async () => {
    const axe = (window as unknown as { axe: { run: (ctx: Document, opts: object) => Promise<{ violations: { id: string; nodes: { target: string[] }[] }[] }> } }).axe;
    return axe.run(document, { resultTypes: ['violations'] });
  });
  return result.violations.map((v) => `${v.id}: ${v.nodes.map((n) => n.target.join(' ')).join(' | ')}`);
}

describe('catalogues', () => {
  it('every language has every key of the web, the desktop client and the server errors, with the same placeholders', () => {
    for (const lang of languages) {
      for (const [key, english] of Object.entries(catalogues.en)) {
        const words = catalogues[lang][key as keyof typeof catalogues.en];
        expect(words, `${lang} ${key}`).toBeTruthy();
        expect(placeholders(words), `${lang} ${key}`).toBe(placeholders(english));
      }
      const desktop = desktopCatalogues[lang];
      expect(Object.keys(desktop).sort()).toEqual(Object.keys(desktopCatalogues.en).sort());
      for (const [key, english] of Object.entries(desktopCatalogues.en)) expect(placeholders(desktop[key]!), `desktop ${lang} ${key}`).toBe(placeholders(english));
      for (const code of Object.keys(errorStatus)) {
        expect(errorWords[lang][code], `error ${lang} ${code}`).toBeTruthy();
        expect(placeholders(errorWords[lang][code]!)).toBe(placeholders(errorWords.en[code]!));
      }
      // Close codes' words in every catalogue: protocol/protocol.test.ts.
    }
    expect(languageFromEnv({ LANG: 'es_ES.UTF-8' })).toBe('es');
    expect(languageFromEnv({ LC_ALL: 'zh_CN.UTF-8', LANG: 'en_US.UTF-8' })).toBe('zh');
    expect(languageFromEnv({ HELPDESK_LANG: 'fr', LANG: 'es_ES' })).toBe('en');
    expect(percentile([1, 2, 3, 4, 5, 6, 7, 8, 9, 10], 90)).toBe(9);
    expect(percentile([], 50)).toBeNull();
  });

  it('the server words its errors in the reader\'s language', async () => {
    const refused = await tryLogin('nobody-here', 'wrong-password-1', 'es-ES,es;q=0.9');
    expect(refused.body.error).toEqual({ code: 'LOGIN_FAILED', message: 'Usuario o contraseña incorrectos.' });
    const zh = await h.api.post('/api/v1/help-requests').set('accept-language', 'zh-CN').send({ requesterName: 'x' });
    expect(zh.body.error.code).toBe('VALIDATION_FAILED');
    expect(zh.body.error.message).toMatch(/^部分字段无效：.*description/);
  });
});

describe('pages', () => {
  it('every page in English, Spanish and Chinese, light and dark, has no axe violations', async () => {
    const t = await h.helpRequest({ requesterName: 'Lia Lang', hostname: 'lia-pc', description: 'Correo <b>lento</b>' });
    await ana.post(`/api/v1/tickets/${t.id}/accept`).expect(200);
    const ended = await h.helpRequest({ requesterName: 'Omar Over', hostname: 'omar-pc' });
    await ana.post(`/api/v1/tickets/${ended.id}/accept`).expect(200);
    await h.api.post(`/api/v1/help-requests/${ended.id}/approve`).set(bearer(ended.secret)).send({ viewOnly: false }).expect(200);
    await h.api.post(`/api/v1/help-requests/${ended.id}/end`).set(bearer(ended.secret)).expect(200);
    await h.helpRequest({ requesterName: 'Queue Person', hostname: 'q-pc' });
    const anaId = (await admin.get('/api/v1/technicians')).body.technicians.find((x: { username: string }) => x.username === 'ana').id as number;

    const adminPages = ['/queue', '/mine', `/tickets/${t.id}`, `/tickets/${ended.id}`, '/history', '/stats', '/technicians', `/technicians/${anaId}`, '/audit', '/profile', '/nowhere'];
    for (const lang of languages) {
      for (const colorScheme of ['light', 'dark'] as const) {
        const context = await browser.newContext({ locale: lang === 'zh' ? 'zh-CN' : lang === 'es' ? 'es-ES' : 'en-US', colorScheme, viewport: { width: 1280, height: 900 }, bypassCSP: true });
        // The login page follows the browser's language.
        const login = await context.newPage();
        await login.goto(`${h.server.url}/login`);
        expect(await login.locator('html').getAttribute('lang')).toBe(lang === 'zh' ? 'zh-CN' : lang);
        expect(await login.locator('h1').textContent()).toBe(catalogues[lang]['login.title']);
        expect(await axeViolations(login), `${lang} ${colorScheme} /login`).toEqual([]);
        await login.close();
        const page = await logIn(context, 'admin', ADMIN_PASSWORD);
        for (const path of adminPages) {
          await page.goto(`${h.server.url}${path}`);
          expect(await page.locator('html').getAttribute('lang'), path).toBe(lang === 'zh' ? 'zh-CN' : lang);
          expect(await page.locator('nav[aria-label] a[href="/queue"]').textContent(), path).toContain(catalogues[lang]['nav.queue']);
          if (path === '/stats') await page.waitForSelector('body[data-charts="drawn"]');
          expect(await axeViolations(page), `${lang} ${colorScheme} ${path}`).toEqual([]);
          if (colorScheme === 'light' && (path === '/queue' || path === `/tickets/${ended.id}` || path === '/stats')) {
            await page.screenshot({ path: join(shots, `${lang}-${path.replace(/\W+/g, '-').replace(/^-|-$/g, '')}.png`), fullPage: true });
          }
        }
        // The viewer page of a ticket waiting for the user's approval, as its technician.
        const viewer = await logIn(await browser.newContext({ locale: lang === 'zh' ? 'zh-CN' : lang, colorScheme, bypassCSP: true }), 'ana', 'ana-password-123', `/tech/${t.id}`);
        await viewer.waitForSelector('#state[data-state="awaitingApproval"]');
        expect(await viewer.locator('#state').textContent()).toBe(catalogues[lang]['js.viewer.awaitingApproval']);
        expect(await axeViolations(viewer), `${lang} ${colorScheme} /tech`).toEqual([]);
        await viewer.context().close();
        await context.close();
      }
    }
    // Dark mode follows the system setting.
    const dark = await logIn(await browser.newContext({ colorScheme: 'dark' }), 'admin', ADMIN_PASSWORD);
    expect(await dark.evaluate(() => getComputedStyle(document.body).backgroundColor)).toBe('rgb(18, 24, 32)');
    await dark.screenshot({ path: join(shots, 'dark-queue.png') });
    await dark.context().close();
  }, 240_000);

  it('a technician switches their language in the profile, and it sticks whatever the browser says', async () => {
    const page = await logIn(await browser.newContext({ locale: 'en-US' }), 'ana', 'ana-password-123', '/profile');
    await page.getByLabel('Language', { exact: true }).selectOption('zh');
    await page.getByRole('button', { name: 'Use this language' }).click();
    await expect.poll(() => page.getByRole('status').first().textContent()).toBe(catalogues.zh['profile.languageSaved']);
    await page.goto(`${h.server.url}/mine`);
    expect(await page.locator('h1').textContent()).toBe(catalogues.zh['mine.title']);
    // An error page and an API error speak it too.
    await page.goto(`${h.server.url}/tickets/999999`);
    expect(await page.getByRole('alert').textContent()).toBe(errorWords.zh.TICKET_NOT_FOUND);
    await page.goto(`${h.server.url}/profile`);
    await page.locator('#language').selectOption('');
    await page.locator('form[action="/profile/language"] button').click();
    await expect.poll(() => page.locator('h1').textContent()).toBe('Your profile');
    await page.context().close();
  });

  it('on a 390×844 phone: queue, accept, my tickets, ticket detail and resolve fit the screen', async () => {
    const context = await browser.newContext({ viewport: { width: 390, height: 844 }, deviceScaleFactor: 2, isMobile: true, hasTouch: true });
    const page = await logIn(context, 'ana', 'ana-password-123');
    // Free Ana's hands: release what she holds from the earlier tests.
    for (const held of (await ana.get('/api/v1/tickets/mine')).body.tickets as { id: number }[]) await ana.post(`/api/v1/tickets/${held.id}/release`);
    const t = await h.helpRequest({ requesterName: 'Pia Phone', hostname: 'pia-laptop', description: 'The printer on the second floor prints blank pages since this morning.' });
    await page.goto(`${h.server.url}/queue`);
    const fits = async (what: string) => {
      const { scroll, header, nav } = await page.evaluate(() => {
        const head = document.querySelector('header.top')!.getBoundingClientRect();
        const links = [...document.querySelectorAll('header.top nav a')].map((a) => a.getBoundingClientRect());
        return { scroll: document.documentElement.scrollWidth, header: { top: head.top, bottom: head.bottom }, nav: links.map((l) => ({ right: l.right, top: l.top, bottom: l.bottom })) };
      });
      expect(scroll, `${what}: page wider than the phone`).toBeLessThanOrEqual(390);
      for (const link of nav) {
        expect(link.right, `${what}: a link runs off the header`).toBeLessThanOrEqual(390);
        expect(link.bottom, `${what}: a link falls out of the header`).toBeLessThanOrEqual(header.bottom);
      }
    };
    await page.locator(`tr[data-ticket-id="${t.id}"]`).waitFor();
    await fits('queue');
    await page.screenshot({ path: join(shots, 'phone-1-queue.png'), fullPage: true });
    await page.getByRole('button', { name: `Accept #${t.id} (Pia Phone)` }).click();
    await page.waitForURL('**/mine');
    await fits('my tickets');
    await page.screenshot({ path: join(shots, 'phone-2-mine.png'), fullPage: true });
    await h.api.post(`/api/v1/help-requests/${t.id}/approve`).set(bearer(t.secret)).send({ viewOnly: false }).expect(200);
    await page.getByRole('link', { name: `#${t.id}` }).first().click();
    await page.waitForURL(`**/tickets/${t.id}`);
    await fits('ticket');
    await page.screenshot({ path: join(shots, 'phone-3-ticket.png'), fullPage: true });
    await page.getByRole('button', { name: 'End session' }).click();
    await page.getByRole('dialog').getByRole('button', { name: 'End session' }).click();
    await page.waitForSelector('#resolution-text');
    await page.locator('#resolution-text').fill('Cleaned the drum.');
    await page.getByRole('button', { name: 'Resolve', exact: true }).click();
    await expect.poll(() => page.locator('.status-pill').textContent()).toBe('Resolved');
    await fits('resolved ticket');
    await page.screenshot({ path: join(shots, 'phone-4-resolved.png'), fullPage: true });
    await context.close();
  }, 60_000);

  it('a browser notification for a new request once the technician turns them on, and live refreshes keep focus', async () => {
    const context = await browser.newContext();
    await context.grantPermissions(['notifications'], { origin: h.server.url });
    // Notifications are recorded as the page makes them (headless Chromium shows none).
    await context.addInitScript(() => {
      const shown: { title: string; body: string }[] = [];
      (window as unknown as { shownNotifications: typeof shown }).shownNotifications = shown;
      const Real = window.Notification;
      class Recorded extends Real {
        constructor(title: string, options?: NotificationOptions) {
          super(title, options);
          shown.push({ title, body: options?.body ?? '' });
        }
      }
      Object.defineProperty(window, 'Notification', { value: Recorded });
    });
    const page = await logIn(context, 'ana', 'ana-password-123');
    await page.waitForSelector('body[data-live="on"]');
    const shown = () => page.evaluate(() => (window as unknown as { shownNotifications: { title: string; body: string }[] }).shownNotifications);
    const first = await h.helpRequest({ requesterName: 'Nora Notify', hostname: 'nora-pc', description: 'Off by default' });
    await page.locator(`tr[data-ticket-id="${first.id}"]`).waitFor();
    expect(await shown()).toEqual([]);
    await page.getByLabel('Show a notification on new requests').check();
    const second = await h.helpRequest({ requesterName: 'Nora Notify', hostname: 'nora-pc', description: 'Now it tells me' });
    await expect.poll(shown).toEqual([{ title: `New help request #${second.id}`, body: 'Nora Notify · nora-pc\nNow it tells me' }]);
    // My tickets refreshes live without losing the technician's place.
    await ana.post(`/api/v1/tickets/${first.id}/accept`).expect(200);
    await page.goto(`${h.server.url}/mine`);
    await page.waitForSelector('body[data-live="on"]');
    const release = page.locator(`tr[data-ticket-id="${first.id}"] button`, { hasText: 'Release' });
    await release.focus();
    await h.api.post(`/api/v1/help-requests/${first.id}/approve`).set(bearer(first.secret)).send({ viewOnly: false }).expect(200);
    await expect.poll(() => page.locator(`tr[data-ticket-id="${first.id}"]`).getAttribute('data-status')).toBe('approved');
    expect(await page.evaluate(() => document.activeElement?.textContent)).toBe('Release');
    expect(await page.evaluate(() => document.activeElement?.closest('tr')?.getAttribute('data-ticket-id'))).toBe(String(first.id));
    await ana.post(`/api/v1/tickets/${first.id}/release`).expect(200);
    await h.api.post(`/api/v1/help-requests/${first.id}/cancel`).set(bearer(first.secret)).expect(200);
    await h.api.post(`/api/v1/help-requests/${second.id}/cancel`).set(bearer(second.secret)).expect(200);
    await context.close();
  }, 60_000);

  it('administrators see that an account is locked, and unlock it from the list', async () => {
    const bob = await h.createTechnician(admin, 'bob');
    void bob;
    for (let i = 0; i < 5; i++) await tryLogin('bob', 'wrong-password-1');
    const locked = await tryLogin('bob', 'bob-password-123');
    expect(locked.body.error.code).toBe('ACCOUNT_LOCKED');
    expect(locked.body.error.message).toMatch(/try again in \d+ minutes?$/);
    const page = await logIn(await browser.newContext(), 'admin', ADMIN_PASSWORD, '/technicians');
    const row = page.locator('tr[data-username="bob"]');
    expect(await row.getAttribute('data-locked')).toBe('true');
    expect(await row.locator('.locked').textContent()).toMatch(/^Locked: locked from 1 address\(es\), locked for \d+ more min$/);
    await row.getByRole('button', { name: 'Unlock bob' }).click();
    await expect.poll(() => page.getByRole('status').first().textContent()).toBe('Failed logins of bob cleared; every address may try again.');
    expect(await page.locator('tr[data-username="bob"] .locked').count()).toBe(0);
    await h.login('bob', 'bob-password-123');
    await page.goto(`${h.server.url}/audit?action=login.failed`);
    const said = await page.locator('#audit-table tbody tr td.what').allTextContents();
    expect(said).toContain('failed to log in (wrong password).');
    expect(said).toContain('failed to log in (locked).');
    await page.context().close();
  });
});

describe('statistics and history', () => {
  it('figures per day and per technician are right; history finds words in the problem between dates, and exports CSV', async () => {
    // A server of its own, so the figures count only these tickets.
    const s = await startHarness('sqlite', { MAX_ACTIVE_TICKETS_PER_TECH: '10' });
    try {
      const sAdmin = await s.login('admin', ADMIN_PASSWORD);
      const eva = await s.createTechnician(sAdmin, 'eva');
      // Waits until accepted: 2, 4 and 10 minutes; resolved 20 and 40 minutes after the request.
      const made: { id: number; secret: string }[] = [];
      for (const [wait, words] of [[2, 'Printer jams on tray 2'], [4, 'VPN drops every hour'], [10, 'printer prints blank pages']] as const) {
        const t = await s.helpRequest({ description: words, requesterName: `User ${wait}` });
        s.clock.advance(wait * 60_000);
        await eva.post(`/api/v1/tickets/${t.id}/accept`).expect(200);
        await s.api.post(`/api/v1/help-requests/${t.id}/approve`).set(bearer(t.secret)).send({ viewOnly: false }).expect(200);
        await s.api.post(`/api/v1/help-requests/${t.id}/end`).set(bearer(t.secret)).expect(200);
        made.push(t);
      }
      const [first, second] = made;
      await eva.post(`/api/v1/tickets/${first!.id}/resolve`).send({ resolution: 'Cleared the paper path, =SUM(A1)' }).expect(200);
      s.clock.advance(4 * 60_000);
      await eva.post(`/api/v1/tickets/${second!.id}/resolve`).send({ resolution: 'New VPN profile' }).expect(200);
      const detail = async (id: number) => (await eva.get(`/api/v1/tickets/${id}`)).body.ticket as { createdAt: number; resolvedAt: number };
      const minutes = (a: number, b: number) => Math.round(((b - a) / 60_000) * 10) / 10;
      const r1 = await detail(first!.id);
      const r2 = await detail(second!.id);
      const resolveTimes = [minutes(r1.createdAt, r1.resolvedAt), minutes(r2.createdAt, r2.resolvedAt)].sort((a, b) => a - b);

      const page = await logIn(await browser.newContext(), 'admin', ADMIN_PASSWORD, '/stats?days=7', s.server.url);
      await page.waitForSelector('body[data-charts="drawn"]');
      // Requests, wait and resolve (the satisfaction chart is drawn below them, in its own section).
      expect(await page.locator('.charts .chart canvas').count()).toBe(3);
      const cells = (row: import('playwright-core').Locator) => row.locator('td').allTextContents();
      const created = await Promise.all(made.map((t) => detail(t.id)));
      const days = new Set(created.map((c) => new Date(c.createdAt).toISOString().slice(0, 10)));
      const perDay = page.locator('#per-day tbody tr');
      expect(await perDay.count()).toBe(7);
      const rows = await Promise.all([...Array(7).keys()].map((i) => cells(perDay.nth(i))));
      expect(rows.reduce((sum, r) => sum + Number(r[1]), 0)).toBe(3);
      if (days.size === 1) {
        // All made the same UTC day: that day's row (not always the last: the clock may pass midnight meanwhile) has the median and 90th percentile by nearest rank.
        const dayText = new Intl.DateTimeFormat('en', { year: 'numeric', month: 'short', day: 'numeric', timeZone: 'UTC' }).format(Date.parse(`${[...days][0]}T00:00:00Z`));
        expect(rows.find((r) => r[0] === dayText)).toEqual([dayText, '3', '4', '10', String(resolveTimes[0]), String(resolveTimes[1])]);
      }
      expect(await cells(page.locator('#by-technician tbody tr').first())).toEqual(['Eva', '3', '4', '10', String(resolveTimes[0]), String(resolveTimes[1])]);
      await page.screenshot({ path: join(shots, 'stats.png'), fullPage: true });

      // History: words anywhere in the problem or the resolution, case-insensitive, all of them.
      const search = async (query: string) => {
        await page.goto(`${s.server.url}/history?${query}`);
        return (await page.locator('#history-table tbody tr').evaluateAll((trs) => trs.map((tr) => Number((tr as HTMLElement).dataset.ticketId)))).sort((a, b) => a - b);
      };
      expect(await search('text=PRINTER')).toEqual([made[0]!.id, made[2]!.id]);
      expect(await search('text=printer+blank')).toEqual([made[2]!.id]);
      expect(await search('text=profile')).toEqual([made[1]!.id]);
      expect(await search('text=100%25')).toEqual([]);
      // Date fields (UTC days, both ends included).
      const today = [...days][0]!;
      const dayOffset = (d: string, n: number) => new Date(Date.parse(`${d}T00:00:00Z`) + n * 86_400_000).toISOString().slice(0, 10);
      if (days.size === 1) {
        expect(await search(`from=${today}&to=${today}`)).toEqual(made.map((t) => t.id));
        expect(await search(`from=${dayOffset(today, 1)}`)).toEqual([]);
        expect(await search(`to=${dayOffset(today, -1)}`)).toEqual([]);
      }
      await page.goto(`${s.server.url}/history`);
      await page.getByLabel('Words in the problem or resolution').fill('printer');
      await page.getByLabel('Created from').fill(dayOffset(today, -1));
      await page.getByRole('button', { name: 'Search' }).click();
      await page.waitForURL('**/history?**');
      expect(await page.locator('#history-total').textContent()).toMatch(/^Tickets found: 2 /);
      expect(await page.getByLabel('Created from').inputValue()).toBe(dayOffset(today, -1));
      // CSV of the same search: a header and one line per ticket; a formula is defused.
      const csv = await page.request.get(`${s.server.url}${await page.locator('#history-csv').getAttribute('href')}`);
      expect(csv.headers()['content-type']).toBe('text/csv; charset=utf-8');
      const lines = (await csv.text()).replace(/^\uFEFF/, '').trimEnd().split('\r\n');
      expect(lines[0]).toBe('ticket,created,status,requester,username,computer,system,technician,accepted,ended,resolved,end_reason,problem,resolution');
      expect(lines).toHaveLength(3);
      expect(lines.find((l) => l.startsWith(`${made[0]!.id},`))).toMatch(/,Printer jams on tray 2,"'=SUM\(A1\)"$|,Printer jams on tray 2,"Cleared the paper path, =SUM\(A1\)"$/);
      const bad = await page.request.get(`${s.server.url}/history?from=yesterday`);
      expect(bad.status()).toBe(400);
      await page.context().close();
    } finally {
      await s.close();
    }
  }, 60_000);
});
