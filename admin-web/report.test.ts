// The session report (issue 29) on the real server in Chromium: the page holds
// the summary, the timeline in words, the conversation, the files with their
// SHA-256 and the survey; it prints (page.pdf(), the print stylesheet hides the
// page's chrome); its JSON (GET /api/v1/tickets/:id/report) says the same; it
// is refused to a technician who may not read the ticket; axe-clean in three
// languages, light and dark, at 390 px.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { ADMIN_PASSWORD, startHarness, type Harness, type Tech } from '../test/server-harness.ts';
import { artifactsDir, launchChromium } from '../test/browser.ts';

const axeSource = readFileSync(createRequire(import.meta.url).resolve('axe-core/axe.min.js'), 'utf8');
let h: Harness;
let browser: Browser;
let ana: Tech & { username: string; password: string };
let bo: Tech;

beforeAll(async () => {
  [h, browser] = await Promise.all([startHarness('sqlite'), launchChromium()]);
  const admin = await h.login('admin', ADMIN_PASSWORD);
  ana = await h.freshTechnician(admin, 'ana');
  bo = await h.freshTechnician(admin, 'bo');
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

describe('session report', () => {
  it('prints the conversation, files and survey, and its JSON matches the page', async () => {
    const t = await h.helpRequest({ description: 'VPN drops <every> hour' });
    const user = (path: string) => h.api.post(`/api/v1/help-requests/${t.id}${path}`).set('authorization', `Bearer ${t.secret}`);
    await ana.post(`/api/v1/tickets/${t.id}/accept`).expect(200);
    await user('/messages').send({ text: 'Hello, it drops at <b>10:00</b>' }).expect(201);
    await ana.post(`/api/v1/tickets/${t.id}/messages`, { text: 'Looking now' }).expect(201);
    const bytes = Buffer.from('vpn log line\n'.repeat(500));
    await user('/files?name=vpn.log').set('content-type', 'application/octet-stream').send(bytes).expect(201);
    const requester = { actor: { type: 'requester' as const, name: 'Bob User' }, remoteAddress: '127.0.0.1' };
    for (const action of ['approve', 'start_session', 'end'] as const) await h.server.tickets.transition(t.id, action, requester);
    await user('/survey').send({ rating: 2, comment: 'Took <i>long</i>' }).expect(201);
    await ana.post(`/api/v1/tickets/${t.id}/resolve`, { resolution: 'New VPN profile' }).expect(200);
    await ana.post(`/api/v1/tickets/${t.id}/exit-note`, { note: 'User needs a new laptop' }).expect(204);

    const json = (await ana.get(`/api/v1/tickets/${t.id}/report`).expect(200)).body;
    expect(json.messages.map((m: { text: string }) => m.text)).toEqual(['Hello, it drops at <b>10:00</b>', 'Looking now']);
    expect(json.files).toHaveLength(1);
    expect(json.files[0].sha256).toBe(createHash('sha256').update(bytes).digest('hex'));
    expect(json.survey).toMatchObject({ rating: 2, comment: 'Took <i>long</i>' });
    expect(json.exitNote).toBe('User needs a new laptop');
    // The same access as reading the ticket.
    expect((await bo.get(`/api/v1/tickets/${t.id}/report`).expect(403)).body.error.code).toBe('FORBIDDEN');

    for (const [locale, heading] of [['en-US', 'Session report: ticket #'], ['es-ES', 'Informe de la sesión: ticket #'], ['zh-CN', '会话报告：工单 #']] as const) {
      for (const colorScheme of ['light', 'dark'] as const) {
        const context = await browser.newContext({ locale, colorScheme, viewport: { width: 390, height: 844 }, bypassCSP: true });
        const page = await context.newPage();
        await page.goto(`${h.server.url}/tickets/${t.id}/report`);
        await page.locator('#username').fill(ana.username);
        await page.locator('#password').fill(ana.password);
        await page.locator('form[action="/login"] button[type="submit"]').click();
        await page.waitForURL(`**/tickets/${t.id}/report`);
        expect(await page.locator('h1').textContent()).toBe(`${heading}${t.id}`);
        // The page says what the JSON says.
        expect(await page.locator('#r-messages .text').allTextContents()).toEqual(json.messages.map((m: { text: string }) => m.text));
        expect(await page.locator('#r-messages b').count()).toBe(0);
        expect(await page.locator('#r-files .hash').allTextContents()).toEqual(json.files.map((f: { sha256: string }) => f.sha256));
        expect(await page.locator('#r-rating').textContent()).toContain('2');
        expect(await page.locator('#r-comment').textContent()).toBe(json.survey.comment);
        expect(await page.locator('#r-exit-note').textContent()).toBe(json.exitNote);
        expect(await page.locator('#r-timeline li').evaluateAll((lis) => lis.map((li) => li.getAttribute('data-action')))).toEqual(json.timeline.map((e: { action: string }) => e.action));
        expect(await page.locator('#r-timeline li').first().textContent()).not.toMatch(/audit\.do\./);
        expect(await axeViolations(page)).toEqual([]);
        if (locale === 'en-US' && colorScheme === 'light') {
          expect(await page.locator('#r-timeline').textContent()).toContain('said how the session went: 2 of 5.');
          // On paper: the report alone.
          await page.emulateMedia({ media: 'print' });
          expect(await page.locator('header.top').isVisible()).toBe(false);
          expect(await page.locator('#print').isVisible()).toBe(false);
          expect(await page.locator('#r-messages').isVisible()).toBe(true);
          const pdf = await page.pdf({ format: 'A4', path: join(artifactsDir, 'session-report.pdf') });
          expect(pdf.subarray(0, 5).toString()).toBe('%PDF-');
          expect(pdf.length).toBeGreaterThan(5_000);
          await page.emulateMedia({ media: 'screen' });
        }
        await context.close();
      }
    }
    // The ticket page links to it.
    const ticketPage = await ana.get(`/tickets/${t.id}`).expect(200);
    expect(ticketPage.text).toContain(`href="/tickets/${t.id}/report"`);
  }, 120_000);
});
