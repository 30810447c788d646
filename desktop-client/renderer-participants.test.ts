// The window's part of issue 26 in Chromium, its preload API wired to the real
// core (window.test-helpers.ts), against the real server (SUPERVISOR_WATCH=notify)
// with x11vnc on Xvfb: the user is asked by name and mode in a dialog, allows
// or refuses, sees everyone connected with their mode and a Stop button each,
// is told who watches without asking, and stops one person or everyone else.
// axe-core finds nothing at each step.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtempSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { createServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import express from 'express';
import type { Browser, Page } from 'playwright-core';
import { ADMIN_PASSWORD, startHarness, type Harness, type Tech } from '../test/server-harness.ts';
import { startXDisplay, type XDisplay } from '../test/x-display.ts';
import { artifactsDir, launchChromium } from '../test/browser.ts';
import { HelpDesk } from './core/help-desk.ts';
import { createTransport } from './core/transport.ts';
import { wireWindow } from './window.test-helpers.ts';

const axeSource = readFileSync(createRequire(import.meta.url).resolve('axe-core/axe.min.js'), 'utf8');
const shots = join(artifactsDir, 'desktop-client');
let h: Harness;
let x: XDisplay;
let browser: Browser;
let admin: Tech;
let ana: Tech;
let luis: Tech;
let marta: Tech;
let rendererServer: Server;
let rendererUrl: string;

beforeAll(async () => {
  [h, x, browser] = await Promise.all([startHarness('sqlite', { MAX_ACTIVE_TICKETS_PER_TECH: '20', SUPERVISOR_WATCH: 'notify' }), startXDisplay(), launchChromium()]);
  admin = await h.login('admin', ADMIN_PASSWORD);
  ana = await h.createTechnician(admin, 'ana');
  luis = await h.createTechnician(admin, 'luis');
  marta = await h.createTechnician(admin, 'marta');
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

async function invite(ticketId: number, who: Tech, mode: 'view' | 'control'): Promise<void> {
  const { body } = await ana.post(`/api/v1/tickets/${ticketId}/invitations`, { technicianId: who.id, mode }).expect(201);
  await who.post(`/api/v1/invitations/${body.id}/accept`).expect(200);
}

describe('desktop client window: the other people in the session', () => {
  it('asks by name and mode, lists everyone with their mode and a Stop button, names a supervisor who watches, and stops one or everyone else', async () => {
    const session = new HelpDesk(
      { serverUrl: h.server.url, clientKey: null, display: x.display, x11vncPath: 'x11vnc', requester: { requesterName: 'Wendy Window', username: 'wendy', hostname: 'wendy-pc', os: 'Linux' } },
      createTransport({ ca: null, proxy: { httpProxy: null, httpsProxy: null, noProxy: '' } }),
    );
    const dir = mkdtempSync(join(tmpdir(), 'window-people-'));
    const page = await wireWindow(browser, rendererUrl, session, { saveDir: dir, sendPath: join(dir, 'none'), bypassCSP: true });
    await page.getByLabel('What is the problem?').fill('Several people');
    await page.getByRole('button', { name: 'Request help' }).click();
    await page.waitForSelector('body[data-state="waiting_for_technician"]');
    const id = session.snapshot.ticketId!;
    await ana.post(`/api/v1/tickets/${id}/accept`).expect(200);
    await page.getByRole('button', { name: 'Allow control' }).click();
    await page.waitForSelector('body[data-state="waiting_for_viewer"]');

    // Ana invites Luis to watch: the user is asked by name and mode.
    await invite(id, luis, 'view');
    const asks = page.getByRole('alertdialog', { name: 'Someone asks to join' });
    await asks.waitFor({ timeout: 10_000 });
    expect(await asks.locator('li p').textContent()).toBe('Ana invites Luis to watch your screen.');
    expect(await axeViolations(page)).toEqual([]);
    await page.screenshot({ path: join(shots, '10-participant-asks.png') });
    await asks.getByRole('button', { name: 'Allow Luis' }).click();
    const people = page.getByRole('region', { name: 'People on your screen' });
    await expect.poll(() => people.locator('li').allTextContents(), { timeout: 10_000 }).toEqual(['Ana: in control', 'Luis: watching Stop Luis']);
    expect(await asks.isVisible()).toBe(false);
    await expect.poll(() => session.current!.legs.map((l) => [l.channel.includes('.p'), l.viewOnly]), { timeout: 10_000 }).toEqual([[false, false], [true, true]]);

    // Marta, invited to take control, is refused: nothing else changes.
    await invite(id, marta, 'control');
    await expect.poll(() => asks.locator('li p').allTextContents(), { timeout: 10_000 }).toEqual(['Ana invites Marta to take control of your screen.']);
    await asks.getByRole('button', { name: 'Refuse Marta' }).click();
    await asks.waitFor({ state: 'hidden', timeout: 10_000 });
    expect(await people.locator('li').allTextContents()).toEqual(['Ana: in control', 'Luis: watching Stop Luis']);

    // An administrator watches (SUPERVISOR_WATCH=notify): not asked, named in the window.
    await admin.post(`/api/v1/tickets/${id}/watch`).expect(201);
    await expect.poll(() => page.locator('#watching').textContent(), { timeout: 10_000 }).toBe('Administrator is watching.');
    expect(await axeViolations(page)).toEqual([]);
    await page.screenshot({ path: join(shots, '11-participants.png') });

    // The user stops Luis only, then everyone else; Ana's session goes on.
    await people.getByRole('button', { name: 'Stop Luis' }).click();
    await expect.poll(() => people.locator('li').allTextContents(), { timeout: 10_000 }).toEqual(['Ana: in control', 'Administrator: watching Stop Administrator']);
    await people.getByRole('button', { name: 'Stop everyone else' }).click();
    await people.waitFor({ state: 'hidden', timeout: 10_000 });
    await expect.poll(() => session.current!.legs.map((l) => l.channel), { timeout: 10_000 }).toEqual([String(id)]);
    expect(await page.locator('body').getAttribute('data-state')).toBe('waiting_for_viewer');
    await session.stop();
    await page.context().close();
  }, 90_000);
});
