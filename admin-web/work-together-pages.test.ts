// Issue 26's pages in English, Spanish and Chinese with axe-core finding
// nothing: the viewer's participants panel (holder, forms open), the ticket
// page with a participant, the queue showing an invitation, and the Live
// sessions page; and the same on a 390×844 phone, dark, without sideways scrolling.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdirSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { WebSocket } from 'ws';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { ADMIN_PASSWORD, startHarness, type Harness, type Tech } from '../test/server-harness.ts';
import { artifactsDir, launchChromium } from '../test/browser.ts';
import { catalogues, languages, type Language } from './messages/index.ts';

const axeSource = readFileSync(createRequire(import.meta.url).resolve('axe-core/axe.min.js'), 'utf8');
const shots = join(artifactsDir, 'work-together');
const bearer = (secret: string) => ({ Authorization: `Bearer ${secret}` });
const locales: Record<Language, string> = { en: 'en-US', es: 'es-ES', zh: 'zh-CN' };

let h: Harness;
let browser: Browser;
let admin: Tech;
let ana: Tech;
let luis: Tech;
const sockets: WebSocket[] = [];

beforeAll(async () => {
  mkdirSync(shots, { recursive: true });
  [h, browser] = await Promise.all([startHarness('sqlite', { MAX_ACTIVE_TICKETS_PER_TECH: '20' }), launchChromium()]);
  admin = await h.login('admin', ADMIN_PASSWORD);
  ana = await h.createTechnician(admin, 'ana', 'technician', 'Ana');
  luis = await h.createTechnician(admin, 'luis', 'technician', 'Luis');
}, 60_000);

afterAll(async () => {
  for (const ws of sockets) ws.terminate();
  await browser?.close();
  await h?.close();
});

async function logIn(context: BrowserContext, username: string, password: string, path: string): Promise<Page> {
  const page = await context.newPage();
  await page.goto(`${h.server.url}${path}`);
  await page.locator('#username').fill(username);
  await page.locator('#password').fill(password);
  await page.locator('form[action="/login"] button[type="submit"]').click();
  await page.waitForURL(`**${path}`);
  return page;
}

async function axeViolations(page: Page): Promise<string[]> {
  if (!(await page.evaluate(() => 'axe' in window))) await page.addScriptTag({ content: axeSource });
  const result = await page.evaluate(async () => {
    const axe = (window as unknown as { axe: { run: (ctx: Document, opts: object) => Promise<{ violations: { id: string; nodes: { target: string[] }[] }[] }> } }).axe;
    return axe.run(document, { resultTypes: ['violations'] });
  });
  return result.violations.map((v) => `${v.id}: ${v.nodes.map((n) => n.target.join(' ')).join(' | ')}`);
}

const noSidewaysScroll = (page: Page) => page.evaluate(() => document.documentElement.scrollWidth <= window.innerWidth + 1);

/** A ticket in session (Ana's), with Luis invited to watch and waiting to accept. */
async function sessionWithInvitation(): Promise<{ id: number; secret: string; invitationId: number }> {
  const t = await h.helpRequest({ requesterName: 'Pia Pages', hostname: 'pia-pc' });
  await ana.post(`/api/v1/tickets/${t.id}/accept`).expect(200);
  await h.api.post(`/api/v1/help-requests/${t.id}/approve`).set(bearer(t.secret)).send({ viewOnly: false }).expect(200);
  const open = (url: string) =>
    new Promise<WebSocket>((resolve, reject) => {
      const ws = new WebSocket(url, { origin: h.server.url });
      sockets.push(ws);
      ws.once('open', () => resolve(ws));
      ws.once('error', reject);
    });
  const desktop = await open((await h.api.post(`/api/v1/help-requests/${t.id}/desktop-token`).set(bearer(t.secret)).expect(201)).body.url);
  desktop.send(Buffer.from('RFB 003.008\n'));
  await open((await ana.post(`/api/v1/tickets/${t.id}/viewer-token`).expect(201)).body.url);
  await expect.poll(async () => (await ana.get(`/api/v1/tickets/${t.id}`)).body.ticket?.status, { timeout: 10_000 }).toBe('in_session');
  const invited = await ana.post(`/api/v1/tickets/${t.id}/invitations`, { technicianId: luis.id, mode: 'control' }).expect(201);
  return { ...t, invitationId: invited.body.id };
}

describe('issue 26 pages', () => {
  it('the participants panel, the invitation, the ticket page and Live sessions in English, Spanish and Chinese have no axe violations, light and dark, and fit a phone', async () => {
    for (const lang of languages) {
      const words = catalogues[lang];
      for (const viewport of [{ width: 1280, height: 900 }, { width: 390, height: 844 }]) {
        const phone = viewport.width < 500;
        // The phone round in dark mode, the desktop round in light.
        const context = () => browser.newContext({ locale: locales[lang], viewport, colorScheme: phone ? 'dark' : 'light', bypassCSP: true });
        const [anaContext, luisContext, adminContext] = await Promise.all([context(), context(), context()]);
        const t = await sessionWithInvitation();

        // Luis's queue, then the invitation arriving live (a second one, after the page is up).
        const queue = await logIn(luisContext, 'luis', 'luis-password-123', '/queue');
        await queue.waitForSelector('body[data-live="on"]');
        const second = await sessionWithInvitation();
        await expect.poll(() => queue.locator(`#invitations li[data-ticket-id="${second.id}"]`).count()).toBe(1);
        expect(await queue.locator('#invitations-title').textContent()).toBe(words['invitations.title']);
        expect(await queue.locator(`#invitations li[data-ticket-id="${second.id}"] .invitation-text`).textContent()).toBe(
          words['js.invite.received'].replace('{by}', 'Ana').replace('{id}', String(second.id)).replace('{mode}', words['js.invite.modeVerb.control']),
        );
        expect(await axeViolations(queue), `${lang} ${viewport.width} /queue with an invitation`).toEqual([]);
        if (phone) expect(await noSidewaysScroll(queue), `${lang} phone /queue`).toBe(true);
        await queue.screenshot({ path: join(shots, `${lang}-${viewport.width}-queue-invitation.png`), fullPage: true });

        // Ana's viewer, with the panel's forms open.
        const viewer = await logIn(anaContext, 'ana', 'ana-password-123', `/tech/${t.id}`);
        // On a phone the panel is in the viewer's drawer (issue 31).
        if (phone) await viewer.locator('#btn-drawer').click();
        await expect.poll(() => viewer.locator(`.participant-list li[data-technician-id="${luis.id}"]`).getAttribute('data-state')).toBe('invited');
        expect(await viewer.locator('#participants-title').textContent()).toBe(words['participants.title']);
        await viewer.locator('.participant-invite summary').click();
        await viewer.locator('.participant-handover summary').click();
        // Luis, invited already, is not offered again; the administrator is.
        await expect.poll(() => viewer.locator('#invite-colleague option').count()).toBeGreaterThan(0);
        expect(await viewer.locator('#invite-colleague option').allTextContents()).not.toContain('Luis');
        expect(await axeViolations(viewer), `${lang} ${viewport.width} /tech with the participants panel`).toEqual([]);
        await viewer.screenshot({ path: join(shots, `${lang}-${viewport.width}-viewer-panel.png`), fullPage: true });

        // The ticket page with its participants, as Ana.
        const ticketPage = await anaContext.newPage();
        await ticketPage.goto(`${h.server.url}/tickets/${t.id}`);
        await expect.poll(() => ticketPage.locator(`.participant-list li[data-technician-id="${luis.id}"]`).count()).toBe(1);
        expect(await axeViolations(ticketPage), `${lang} ${viewport.width} /tickets/:id with participants`).toEqual([]);
        if (phone) expect(await noSidewaysScroll(ticketPage), `${lang} phone /tickets/:id`).toBe(true);

        // Live sessions, as an administrator.
        const sessions = await logIn(adminContext, 'admin', ADMIN_PASSWORD, '/sessions');
        expect(await sessions.locator('h1').textContent()).toBe(words['sessions.title']);
        expect(await sessions.locator(`#sessions-table tr[data-ticket-id="${t.id}"]`).count()).toBe(1);
        expect(await axeViolations(sessions), `${lang} ${viewport.width} /sessions`).toEqual([]);
        if (phone) expect(await noSidewaysScroll(sessions), `${lang} phone /sessions`).toBe(true);
        await sessions.screenshot({ path: join(shots, `${lang}-${viewport.width}-sessions.png`), fullPage: true });

        // Each session ends here, so the next round starts clean.
        for (const x of [t, second]) await h.api.post(`/api/v1/help-requests/${x.id}/end`).set(bearer(x.secret)).expect(200);
        await Promise.all([anaContext.close(), luisContext.close(), adminContext.close()]);
      }
    }
  }, 240_000);

  it('a technician neither holding nor taking part is refused the viewer page; one invited is told to accept first', async () => {
    const t = await sessionWithInvitation();
    const marta = await h.createTechnician(admin, 'marta', 'technician', 'Marta');
    expect(marta.id).toBeGreaterThan(0);
    const page = await browser.newContext().then((c) => c.newPage());
    await page.goto(`${h.server.url}/tech/${t.id}`);
    await page.locator('#username').fill('marta');
    await page.locator('#password').fill('marta-password-123');
    const response = page.waitForResponse((r) => r.url().endsWith(`/tech/${t.id}`));
    await page.locator('form[action="/login"] button[type="submit"]').click();
    expect((await response).status()).toBe(403);
    // Luis, invited, may open it: it says he waits for the user.
    const luisPage = await browser.newContext().then((c) => logIn(c, 'luis', 'luis-password-123', `/tech/${t.id}`));
    await expect.poll(() => luisPage.locator('#state').textContent()).toBe('You are invited to this session: accept the invitation on your queue first.');
    await page.context().close();
    await luisPage.context().close();
  }, 60_000);
});
