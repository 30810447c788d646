// Satisfaction (issue 29) end to end in Chromium: the window (its preload API
// wired to the real core, window.test-helpers.ts) asks how the session went
// once it ended, takes 1–5 and a comment, and thanks; the answer is then on
// the ticket page and in the statistics (equal to a recount), both pages
// axe-clean in three languages, light and dark, at 390 px.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtempSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { createServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import express from 'express';
import { WebSocket } from 'ws';
import type { Browser, Page } from 'playwright-core';
import { ADMIN_PASSWORD, startHarness, type Harness, type Tech } from '../test/server-harness.ts';
import { startXDisplay, type XDisplay } from '../test/x-display.ts';
import { artifactsDir, launchChromium } from '../test/browser.ts';
import { compareRollupsWithRecount } from '../server/stats/recount.ts';
import { HelpDesk } from './core/help-desk.ts';
import { createTransport } from './core/transport.ts';
import { setLanguage } from './core/messages.ts';
import { wireWindow } from './window.test-helpers.ts';

const axeSource = readFileSync(createRequire(import.meta.url).resolve('axe-core/axe.min.js'), 'utf8');
const shots = join(artifactsDir, 'desktop-client');
let h: Harness;
let x: XDisplay;
let browser: Browser;
let ana: Tech;
let rendererServer: Server;
let rendererUrl: string;

beforeAll(async () => {
  [h, x, browser] = await Promise.all([startHarness('sqlite', { MAX_ACTIVE_TICKETS_PER_TECH: '20' }), startXDisplay(), launchChromium()]);
  ana = await h.createTechnician(await h.login('admin', ADMIN_PASSWORD), 'ana');
  const app = express();
  app.use(express.static(join(import.meta.dirname, 'renderer')));
  rendererServer = createServer(app);
  await new Promise<void>((resolve) => rendererServer.listen(0, '127.0.0.1', resolve));
  rendererUrl = `http://127.0.0.1:${(rendererServer.address() as { port: number }).port}/index.html`;
}, 60_000);

afterAll(async () => {
  await browser?.close();
  rendererServer?.close();
  await h?.close();
  await x?.stop();
});

async function axeViolations(page: Page): Promise<string[]> {
  if (!(await page.evaluate(() => 'axe' in window))) await page.addScriptTag({ content: axeSource });
  const result = await page.evaluate(async () => {
    const axe = (window as unknown as { axe: { run: (ctx: Document, opts: object) => Promise<{ violations: { id: string; nodes: { target: string[] }[] }[] }> } }).axe;
    return axe.run(document, { resultTypes: ['violations'] });
  });
  return result.violations.map((v) => `${v.id}: ${v.nodes.map((n) => n.target.join(' ')).join(' | ')}`);
}

describe('satisfaction after a session', () => {
  it('the window asks how it went; the answer is on the ticket page and in the statistics', async () => {
    const session = new HelpDesk(
      { serverUrl: h.server.url, clientKey: null, display: x.display, x11vncPath: 'x11vnc', requester: { requesterName: 'Wendy Window', username: 'wendy', hostname: 'wendy-pc', os: 'Linux' } },
      createTransport({ ca: null, proxy: { httpProxy: null, httpsProxy: null, noProxy: '' } }),
    );
    const dir = mkdtempSync(join(tmpdir(), 'window-survey-'));
    const page = await wireWindow(browser, rendererUrl, session, { saveDir: dir, sendPath: join(dir, 'none'), bypassCSP: true });
    await page.getByLabel('What is the problem?').fill('Slow laptop');
    await page.getByRole('button', { name: 'Request help' }).click();
    await page.waitForSelector('body[data-state="waiting_for_technician"]');
    const id = session.snapshot.ticketId!;
    await ana.post(`/api/v1/tickets/${id}/accept`).expect(200);
    await page.getByRole('button', { name: 'Allow control' }).click();
    await page.waitForSelector('body[data-state="waiting_for_viewer"]');
    const { body } = await ana.post(`/api/v1/tickets/${id}/viewer-token`).expect(201);
    const viewer = new WebSocket(body.url, { origin: h.server.url });
    await new Promise((resolve) => viewer.once('message', resolve));
    await page.waitForSelector('body[data-state="in_session"]', { timeout: 20_000 });
    expect(await page.locator('#survey').isVisible()).toBe(false);
    await ana.post(`/api/v1/tickets/${id}/end`).expect(200);

    // The question, once the session ended.
    const survey = page.getByRole('form', { name: 'How did it go?' });
    await survey.waitFor({ timeout: 10_000 });
    expect(await page.locator('#ended-title').textContent()).toMatch(/^The session has ended/);
    expect(await axeViolations(page)).toEqual([]);
    await page.screenshot({ path: join(shots, '12-survey.png') });
    await survey.getByRole('button', { name: 'Send my answer' }).click();
    expect(await page.locator('#status').textContent()).toBe('Choose a rating from 1 to 5, or skip.');
    await survey.getByLabel('5 – Very good').check();
    await survey.getByLabel('Anything to add? (optional)').fill('Thank you, <b>Ana</b>');
    await survey.getByRole('button', { name: 'Send my answer' }).click();
    await expect.poll(() => page.locator('#survey-thanks').isVisible(), { timeout: 10_000 }).toBe(true);
    expect(await page.locator('#survey-thanks').textContent()).toBe('Thank you for your answer.');
    expect(await survey.isVisible()).toBe(false);
    expect(await h.server.db('tickets').where({ id }).first('survey_rating', 'survey_comment')).toEqual({ survey_rating: 5, survey_comment: 'Thank you, <b>Ana</b>' });
    // Answered once: the core asks no more.
    await expect(session.answerSurvey(1, null)).rejects.toThrow(/no question to answer/);
    viewer.terminate();
    await page.context().close();

    // The ticket page and the statistics, for an administrator, in three languages, light and dark, on a phone.
    expect((await compareRollupsWithRecount(h.server.db)).differences).toEqual([]);
    for (const [locale, rated, everyone] of [['en-US', '5 of 5', 'Everyone'], ['es-ES', '5 de 5', 'Todos'], ['zh-CN', '5 分（满分 5 分）', '全部']] as const) {
      for (const colorScheme of ['light', 'dark'] as const) {
        const context = await browser.newContext({ locale, colorScheme, viewport: { width: 390, height: 844 }, bypassCSP: true });
        const admin = await context.newPage();
        await admin.goto(`${h.server.url}/tickets/${id}`);
        await admin.locator('#username').fill('admin');
        await admin.locator('#password').fill(ADMIN_PASSWORD);
        await admin.locator('form[action="/login"] button[type="submit"]').click();
        await admin.waitForURL(`**/tickets/${id}`);
        expect(await admin.locator('#survey-rating').textContent()).toContain(rated);
        expect(await admin.locator('#survey-comment').textContent()).toBe('Thank you, <b>Ana</b>');
        expect(await admin.locator('#survey b').count()).toBe(0);
        expect(await axeViolations(admin)).toEqual([]);
        await admin.goto(`${h.server.url}/stats?days=7`);
        await admin.waitForSelector('body[data-satisfaction="drawn"]');
        const everyoneRow = admin.locator('#satisfaction-table tr[data-group="all"]');
        expect(await everyoneRow.locator('th').textContent()).toBe(everyone);
        expect((await everyoneRow.locator('td').allTextContents()).map((s) => s.trim())).toEqual(['1', '5', '0', '0', '0', '0', '1']);
        const anaRow = admin.locator(`#satisfaction-table tr[data-group="technician"][data-id="${ana.id}"]`);
        expect((await anaRow.locator('td').allTextContents())[0]!.trim()).toBe('1');
        expect(await axeViolations(admin)).toEqual([]);
        if (locale === 'en-US') await admin.screenshot({ path: join(shots, `13-stats-satisfaction-${colorScheme}.png`), fullPage: true });
        await context.close();
      }
    }
  }, 120_000);

  it('asks in the user\'s language (Spanish), and skipping sends nothing', async () => {
    setLanguage('es');
    try {
      const session = new HelpDesk(
        { serverUrl: h.server.url, clientKey: null, display: x.display, x11vncPath: 'x11vnc', requester: { requesterName: 'Sara Saltar', username: 'sara', hostname: 'sara-pc', os: 'Linux' } },
        createTransport({ ca: null, proxy: { httpProxy: null, httpsProxy: null, noProxy: '' } }),
      );
      const dir = mkdtempSync(join(tmpdir(), 'window-survey-es-'));
      const page = await wireWindow(browser, rendererUrl, session, { saveDir: dir, sendPath: join(dir, 'none'), bypassCSP: true });
      await page.getByLabel('¿Cuál es el problema?').fill('No hay red');
      await page.getByRole('button', { name: 'Pedir ayuda' }).click();
      await page.waitForSelector('body[data-state="waiting_for_technician"]');
      const id = session.snapshot.ticketId!;
      await ana.post(`/api/v1/tickets/${id}/accept`).expect(200);
      await page.getByRole('button', { name: 'Permitir el control' }).click();
      await page.waitForSelector('body[data-state="waiting_for_viewer"]');
      const { body } = await ana.post(`/api/v1/tickets/${id}/viewer-token`).expect(201);
      const viewer = new WebSocket(body.url, { origin: h.server.url });
      await new Promise((resolve) => viewer.once('message', resolve));
      await page.waitForSelector('body[data-state="in_session"]', { timeout: 20_000 });
      await page.getByRole('button', { name: 'Parar', exact: true }).click();
      const survey = page.getByRole('form', { name: '¿Qué tal fue?' });
      await survey.waitFor({ timeout: 10_000 });
      expect(await survey.getByLabel('4 – Buena').isVisible()).toBe(true);
      expect(await axeViolations(page)).toEqual([]);
      await survey.getByRole('button', { name: 'Omitir' }).click();
      await survey.waitFor({ state: 'hidden', timeout: 5_000 });
      expect(await page.locator('#survey-thanks').isVisible()).toBe(false);
      expect(session.snapshot.survey).toBe('skipped');
      expect(await h.server.db('tickets').where({ id }).first('survey_rating')).toEqual({ survey_rating: null });
      viewer.terminate();
      await page.context().close();
    } finally {
      setLanguage('en');
    }
  }, 60_000);
});
