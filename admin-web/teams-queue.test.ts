// Teams, topics and waiting targets in Chromium against the real server
// (issue 29): two teams, three topics. A request on topic A appears live in
// team A's queue page and an administrator's, never in team B's; moved to B
// by A's member, it leaves A's page and appears in B's, live. A request past
// its topic's target (1 s) is marked in the queue in words and colour, and an
// opted-in team member gets the browser notification (B's member does not).
// The Teams, Topics and queue pages have no axe violations in three
// languages, light and dark, on a phone.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { ADMIN_PASSWORD, startHarness, type Harness, type Tech } from '../test/server-harness.ts';
import { launchChromium } from '../test/browser.ts';
import { catalogues, languages } from './messages/index.ts';

const axeSource = readFileSync(createRequire(import.meta.url).resolve('axe-core/axe.min.js'), 'utf8');

let h: Harness;
let browser: Browser;
let admin: Tech;
let ana: Tech;
let luis: Tech;
let teamA: number;
let teamB: number;
const topic = { a: 0, b: 0, quick: 0 };

beforeAll(async () => {
  [h, browser] = await Promise.all([startHarness('sqlite', { WAIT_CHECK_MS: '300', MAX_ACTIVE_TICKETS_PER_TECH: '10' }), launchChromium()]);
  admin = await h.login('admin', ADMIN_PASSWORD);
  ana = await h.createTechnician(admin, 'ana');
  luis = await h.createTechnician(admin, 'luis');
  teamA = (await admin.post('/api/v1/teams', { name: 'Printers', members: [ana.id], primary: [ana.id] }).expect(201)).body.team.id;
  teamB = (await admin.post('/api/v1/teams', { name: 'Mail', members: [luis.id], primary: [luis.id] }).expect(201)).body.team.id;
  const make = async (name: string, teamId: number, targetWaitSeconds: number) =>
    (await admin.post('/api/v1/topics', { nameEn: name, nameEs: `${name} (es)`, nameZh: `${name}（中）`, teamId, targetWaitSeconds }).expect(201)).body.topic.id as number;
  topic.a = await make('Printing', teamA, 600);
  topic.b = await make('E-mail', teamB, 600);
  topic.quick = await make('Urgent printing', teamA, 1);
}, 60_000);

afterAll(async () => {
  await browser?.close();
  await h?.close();
});

async function logIn(context: BrowserContext, username: string, password: string, path = '/queue'): Promise<Page> {
  const page = await context.newPage();
  await page.goto(`${h.server.url}${path}`);
  await page.locator('#username').fill(username);
  await page.locator('#password').fill(password);
  await page.locator('form[action="/login"] button[type="submit"]').click();
  await page.waitForURL(`**${path}`);
  return page;
}

/** A technician's live queue, notifications allowed and turned on; every notification shown is kept in window.shown. */
async function queuePage(username: string, password: string): Promise<Page> {
  const context = await browser.newContext({ locale: 'en-US', permissions: ['notifications'] });
  await context.addInitScript(() => {
    localStorage.setItem('hd.notify', 'on');
    const Real = window.Notification;
    const shown: string[] = [];
    (window as unknown as { shown: string[] }).shown = shown;
    window.Notification = class extends Real {
      constructor(title: string, options?: NotificationOptions) {
        super(title, options);
        shown.push(`${title} | ${options?.body ?? ''}`);
      }
    } as typeof Notification;
  });
  const page = await logIn(context, username, password);
  await page.waitForSelector('body[data-live="on"]');
  return page;
}

const helpRequest = async (topicId: number, description: string) =>
  (await h.api.post('/api/v1/help-requests').send({ requesterName: 'Bob User', username: 'bob', hostname: 'pc-42', os: 'Debian 12', description, topicId }).expect(201)).body.id as number;

async function axeViolations(page: Page): Promise<string[]> {
  if (!(await page.evaluate(() => 'axe' in window))) await page.addScriptTag({ content: axeSource });
  const result = await page.evaluate(async () => {
    const axe = (window as unknown as { axe: { run: (ctx: Document, opts: object) => Promise<{ violations: { id: string; nodes: { target: string[] }[] }[] }> } }).axe;
    return axe.run(document, { resultTypes: ['violations'] });
  });
  return result.violations.map((v) => `${v.id}: ${v.nodes.map((n) => n.target.join(' ')).join(' | ')}`);
}

describe('queues by team, live', () => {
  it('a request on topic A shows only in team A\'s queue and the administrator\'s; moved to B, it moves live', async () => {
    const [anaPage, luisPage, adminPage] = [await queuePage('ana', 'ana-password-123'), await queuePage('luis', 'luis-password-123'), await queuePage('admin', ADMIN_PASSWORD)];
    const id = await helpRequest(topic.a, 'The printer on floor 2 jams');
    const row = `tr[data-ticket-id="${id}"]`;
    await Promise.all([anaPage.waitForSelector(row), adminPage.waitForSelector(row)]);
    expect(await anaPage.locator(`${row} .routing`).textContent()).toBe('Printing · Printers');
    expect(await anaPage.locator(`${row} .sla`).textContent()).toMatch(/^\d+ s of 10 min$/);
    // A request for everyone's attention on Mail's side reaches Luis, so his page is live and saw the first one go by.
    const mail = await helpRequest(topic.b, 'Mail does not arrive');
    await luisPage.waitForSelector(`tr[data-ticket-id="${mail}"]`);
    expect(await luisPage.locator(row).count()).toBe(0);
    expect(await anaPage.locator(`tr[data-ticket-id="${mail}"]`).count()).toBe(0);

    await ana.post(`/api/v1/tickets/${id}/move`, { teamId: teamB, note: 'About mail, not printing' }).expect(200);
    await luisPage.waitForSelector(row);
    await anaPage.waitForSelector(row, { state: 'detached' });
    expect(await luisPage.locator(`${row} .routing`).textContent()).toBe('Printing · Mail');
    expect(await adminPage.locator(row).count()).toBe(1);
    // The administrator's filter shows one team's queue.
    await adminPage.goto(`${h.server.url}/queue?team=${teamA}`);
    expect(await adminPage.locator(row).count()).toBe(0);
    await adminPage.selectOption('#queue-team', String(teamB));
    await adminPage.locator('.queue-filter button').click();
    await adminPage.waitForSelector(row);
    for (const p of [anaPage, luisPage, adminPage]) await p.context().close();
  }, 60_000);

  it('a request past its target is marked in the queue, and opted-in team members are notified', async () => {
    const [anaPage, luisPage] = [await queuePage('ana', 'ana-password-123'), await queuePage('luis', 'luis-password-123')];
    const id = await helpRequest(topic.quick, 'Urgent: the label printer stopped');
    const clock = anaPage.locator(`tr[data-ticket-id="${id}"] .sla`);
    await clock.waitFor();
    await expect.poll(() => clock.getAttribute('data-late'), { timeout: 10_000 }).toBe('true');
    expect(await clock.textContent()).toMatch(/^Waiting too long: \d+ s of 1 s$/);
    const colour = await clock.evaluate((el) => getComputedStyle(el).color);
    expect(colour).toBe('rgb(179, 38, 30)');
    // The server's check found it (once): the team member who turned notifications on is told.
    await expect.poll(() => anaPage.evaluate(() => (window as unknown as { shown: string[] }).shown.filter((s) => s.startsWith('Waiting too long'))), { timeout: 10_000 }).toEqual([
      `Waiting too long: request #${id} | Request #${id} from Bob User is waiting too long (Urgent printing)`,
    ]);
    expect(await h.server.db('audit_events').where({ action: 'ticket.waiting_too_long', ticket_id: id }).count({ n: '*' }).first()).toMatchObject({ n: 1 });
    expect(await luisPage.evaluate(() => (window as unknown as { shown: string[] }).shown.filter((s) => s.startsWith('Waiting too long')))).toEqual([]);
    // Drawn again by the server, the row stays marked.
    await anaPage.reload();
    expect(await anaPage.locator(`tr[data-ticket-id="${id}"] .sla`).getAttribute('data-late')).toBe('true');
    for (const p of [anaPage, luisPage]) await p.context().close();
  }, 60_000);

  it('the Teams, Topics, queue and ticket pages have no axe violations in three languages, light and dark, on a phone', async () => {
    const id = await helpRequest(topic.quick, 'Checked by axe');
    for (const lang of languages) {
      for (const colorScheme of ['light', 'dark'] as const) {
        const context = await browser.newContext({ locale: lang === 'zh' ? 'zh-CN' : lang === 'es' ? 'es-ES' : 'en-US', colorScheme, bypassCSP: true, viewport: { width: 390, height: 844 } });
        const page = await logIn(context, 'admin', ADMIN_PASSWORD, '/teams');
        expect(await page.locator('h1').textContent()).toBe(catalogues[lang]['teams.title']);
        expect(await axeViolations(page), `${lang} ${colorScheme} teams`).toEqual([]);
        for (const path of ['/topics', '/queue', `/tickets/${id}`]) {
          await page.goto(`${h.server.url}${path}`);
          expect(await axeViolations(page), `${lang} ${colorScheme} ${path}`).toEqual([]);
        }
        expect(await page.locator('#move h2').textContent()).toBe(catalogues[lang]['move.title']);
        await context.close();
      }
    }
  }, 120_000);
});
