// Canned replies (issue 29) on the real server: administrators manage them
// (validated, bounded per team, audited in words, refused to technicians); a
// technician's chat offers the ticket's (every team's, not another team's)
// with {user} and {technician} filled in, inserted with "/" and Enter or a
// click, and sent (Chromium); pages axe-clean in three languages, light and
// dark, at 390 px.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import type { Browser, Page } from 'playwright-core';
import { ADMIN_PASSWORD, startHarness, type Harness, type Tech } from '../test/server-harness.ts';
import { launchChromium } from '../test/browser.ts';
import { CANNED_REPLIES_PER_TEAM } from '../server/canned-replies/schema.ts';

const axeSource = readFileSync(createRequire(import.meta.url).resolve('axe-core/axe.min.js'), 'utf8');
let h: Harness;
let browser: Browser;
let admin: Tech;
let ana: Tech & { username: string; password: string };

beforeAll(async () => {
  [h, browser] = await Promise.all([startHarness('sqlite'), launchChromium()]);
  admin = await h.login('admin', ADMIN_PASSWORD);
  ana = await h.freshTechnician(admin, 'ana');
}, 60_000);

afterAll(async () => {
  await browser?.close();
  await h?.close();
});

async function axeViolations(page: Page): Promise<string[]> {
  if (!(await page.evaluate(() => 'axe' in window))) await page.addScriptTag({ content: axeSource });
  const result = await page.evaluate(async () => {
    const axe = (window as unknown as { axe: { run: (ctx: Document, opts: object) => Promise<{ violations: { id: string; nodes: { target: string[] }[] }[] }> } }).axe;
    return axe.run(document, { resultTypes: ['violations'] });
  });
  return result.violations.map((v) => `${v.id}: ${v.nodes.map((n) => n.target.join(' ')).join(' | ')}`);
}

async function logIn(username: string, password: string, path: string, options: { locale?: string; colorScheme?: 'light' | 'dark' } = {}): Promise<Page> {
  const context = await browser.newContext({ locale: options.locale ?? 'en-US', colorScheme: options.colorScheme ?? 'light', viewport: { width: 390, height: 844 }, bypassCSP: true });
  const page = await context.newPage();
  await page.goto(`${h.server.url}${path}`);
  await page.locator('#username').fill(username);
  await page.locator('#password').fill(password);
  await page.locator('form[action="/login"] button[type="submit"]').click();
  await page.waitForURL(`**${path}`);
  return page;
}

describe('canned replies', () => {
  it('are managed by administrators: validated, bounded per team, audited, refused to technicians', async () => {
    const teamB = (await admin.post('/api/v1/teams', { name: 'Printers', members: [] }).expect(201)).body.team.id as number;
    const greeting = await admin.post('/api/v1/canned-replies', { title: 'Greeting', body: 'Hello {user}, this is {technician}. I am <b>on it</b>.', teamId: null }).expect(201);
    expect(greeting.body.cannedReply).toMatchObject({ title: 'Greeting', teamId: null });
    await admin.post('/api/v1/canned-replies', { title: 'Toner', body: 'Printers only', teamId: teamB }).expect(201);
    const long = await admin.post('/api/v1/canned-replies', { title: 'x'.repeat(81), body: 'b', teamId: null }).expect(400);
    expect(long.body.error.message).toMatch(/title: must be at most 80 characters/);
    expect((await admin.post('/api/v1/canned-replies', { title: 'No team', body: 'b', teamId: 999_999 }).expect(400)).body.error.message).toMatch(/no team 999999/);
    expect((await ana.post('/api/v1/canned-replies', { title: 'Mine', body: 'b', teamId: null }).expect(403)).body.error.code).toBe('FORBIDDEN');
    // Past the bound: one team holds at most CANNED_REPLIES_PER_TEAM.
    for (let i = 1; i < CANNED_REPLIES_PER_TEAM; i++) await admin.post('/api/v1/canned-replies', { title: `Printers ${i}`, body: 'b', teamId: teamB }).expect(201);
    const over = await admin.post('/api/v1/canned-replies', { title: 'One more', body: 'b', teamId: teamB }).set('accept-language', 'es').expect(409);
    expect(over.body.error).toMatchObject({ code: 'TOO_MANY_CANNED_REPLIES', message: `Este equipo ya tiene ${CANNED_REPLIES_PER_TEAM} respuestas predefinidas: elimine una primero.` });
    const audit = (await admin.get('/api/v1/audit?action=canned_reply.created').expect(200)).body;
    expect(audit.events.some((e: { detail: { title?: string } }) => e.detail.title === 'Toner')).toBe(true);
    // A request in the Printers team's queue offers that team's replies too (and every team's).
    const queued = await h.helpRequest({ requesterName: 'Pat Printer' });
    await admin.post(`/api/v1/tickets/${queued.id}/move`, { teamId: teamB, note: 'printer' }).expect(200);
    const titles = (await admin.get(`/api/v1/tickets/${queued.id}/canned-replies`).expect(200)).body.cannedReplies.map((r: { title: string }) => r.title);
    expect(titles).toContain('Toner');
    expect(titles).toContain('Greeting');
    expect((await admin.get(`/api/v1/tickets/${queued.id}/canned-replies`).expect(200)).body.cannedReplies.find((r: { title: string }) => r.title === 'Greeting').body).toBe('Hello Pat Printer, this is Administrator. I am <b>on it</b>.');
    // In words on the audit page.
    expect((await admin.get('/audit').expect(200)).text).toMatch(/added the canned reply (&#34;|")Printers 99(&#34;|")\./);
  });

  it('a reply with {user} is inserted in the technician\'s chat with the user\'s name, with "/" or a click, and sent', async () => {
    const t = await h.helpRequest({ requesterName: 'Bob User' });
    await ana.post(`/api/v1/tickets/${t.id}/accept`).expect(200);
    // The ticket is in everyone's queue: every team's replies, not the Printers team's.
    const offered = (await ana.get(`/api/v1/tickets/${t.id}/canned-replies`).expect(200)).body.cannedReplies;
    expect(offered.map((r: { title: string }) => r.title)).toEqual(['Greeting']);
    const page = await logIn(ana.username, ana.password, `/tickets/${t.id}`);
    await page.waitForSelector('[data-chat][data-canned="1"]');
    const box = page.getByLabel('Message to the user');
    await box.fill('');
    await box.pressSequentially('/gre');
    await expect.poll(() => page.locator('#canned').getAttribute('open')).not.toBeNull();
    expect(await page.locator('#canned .canned-list button').allTextContents()).toEqual(['Greeting']);
    await box.press('Enter');
    expect(await box.inputValue()).toBe('Hello Bob User, this is Ana. I am <b>on it</b>.');
    await page.getByRole('button', { name: 'Send', exact: true }).click();
    await expect.poll(async () => (await ana.get(`/api/v1/tickets/${t.id}/messages`).expect(200)).body.messages.map((m: { text: string }) => m.text)).toEqual(['Hello Bob User, this is Ana. I am <b>on it</b>.']);
    // By a click, where the cursor is.
    await box.fill('Hi. ');
    await page.getByRole('button', { name: 'Insert "Greeting"' }).click();
    expect(await box.inputValue()).toBe('Hi. Hello Bob User, this is Ana. I am <b>on it</b>.');
    expect(await axeViolations(page)).toEqual([]);
    await page.context().close();
  }, 60_000);

  it('the administrators\' page lists them and adds one, axe-clean in three languages, light and dark, at 390 px', async () => {
    for (const [locale, heading] of [['en-US', 'Canned replies'], ['es-ES', 'Respuestas predefinidas'], ['zh-CN', '预设回复']] as const) {
      for (const colorScheme of ['light', 'dark'] as const) {
        const page = await logIn('admin', ADMIN_PASSWORD, '/canned-replies', { locale, colorScheme });
        expect(await page.locator('h1').textContent()).toBe(heading);
        expect(await page.locator('#canned-replies tr[data-canned]').count()).toBeGreaterThan(2);
        expect(await axeViolations(page)).toEqual([]);
        await page.context().close();
      }
    }
    const page = await logIn('admin', ADMIN_PASSWORD, '/canned-replies');
    await page.getByLabel('Title').fill('Bye');
    await page.getByLabel('Text').fill('Goodbye {user}');
    await page.getByRole('button', { name: 'Add the reply' }).click();
    await expect.poll(() => page.locator('.flash').textContent()).toBe('Canned reply "Bye" added.');
    const row = page.locator('#canned-replies tr', { hasText: 'Bye' });
    await row.getByRole('button', { name: 'Delete Bye' }).click();
    await expect.poll(() => page.locator('.flash').textContent()).toBe('Canned reply deleted.');
    await page.context().close();
  }, 90_000);
});
