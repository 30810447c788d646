// The Webhooks page (issue 28), in Chromium against the real server and a
// real receiver on loopback: an administrator registers an endpoint (its
// secret shown once), sends a test (delivered, in the log), sends it again,
// changes the endpoint, disables and deletes it after a confirmation. An
// endpoint that fails past the retry window is said on the page and resumed
// there, and every other page says it until then. axe finds nothing in English, Spanish and Chinese, light and dark,
// and on a phone's width nothing is wider than the screen.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { ADMIN_PASSWORD, startHarness, type Harness, type Tech } from '../test/server-harness.ts';
import { launchChromium } from '../test/browser.ts';
import { startWebhookReceiver, type WebhookReceiver } from '../test/webhook-receiver.ts';
import { catalogues, languages } from './messages/index.ts';

const axeSource = readFileSync(createRequire(import.meta.url).resolve('axe-core/axe.min.js'), 'utf8');

let h: Harness;
let browser: Browser;
let admin: Tech;
let receiver: WebhookReceiver;

beforeAll(async () => {
  [h, browser, receiver] = await Promise.all([
    startHarness('sqlite', { WEBHOOK_ALLOW_PRIVATE: 'on', WEBHOOK_POLL_MS: '50', WEBHOOK_RETRY_FIRST_MS: '50', WEBHOOK_RETRY_MAX_MS: '100', WEBHOOK_RETRY_FOR_MS: '400' }),
    launchChromium(),
    startWebhookReceiver(),
  ]);
  admin = await h.login('admin', ADMIN_PASSWORD);
}, 60_000);

afterAll(async () => {
  await browser?.close();
  await h?.close();
  await receiver?.close();
});

async function logIn(context: BrowserContext): Promise<Page> {
  const page = await context.newPage();
  await page.goto(`${h.server.url}/webhooks`);
  await page.locator('#username').fill('admin');
  await page.locator('#password').fill(ADMIN_PASSWORD);
  await page.locator('form[action="/login"] button[type="submit"]').click();
  await page.waitForURL('**/webhooks');
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

describe('the Webhooks page', () => {
  it('registers an endpoint (secret shown once), tests it, sends again, changes, disables and deletes it', async () => {
    const context = await browser.newContext({ locale: 'en-US' });
    const page = await logIn(context);
    await page.locator('#webhook-form').waitFor({ state: 'visible' });
    await expect.poll(() => page.locator('#webhook-none').isVisible()).toBe(true);
    await page.getByLabel('URL (http:// or https://)').fill(receiver.url);
    await page.getByLabel('Description (optional)').fill('Ticketing bridge');
    await page.locator('input[name="events"][value="ticket.created"]').check();
    await page.getByRole('button', { name: 'Register' }).click();
    await page.locator('#webhook-new').waitFor({ state: 'visible' });
    const secret = (await page.locator('#webhook-secret-once').textContent()) ?? '';
    expect(secret).toMatch(/^whsec_/);
    receiver.secret = secret;
    expect(await page.locator('#webhook-new-text').textContent()).toContain('shown only this once');
    const row = page.locator('#webhook-rows tr').first();
    await expect.poll(() => row.locator('th').textContent()).toBe(`${receiver.url} (Ticketing bridge)`);

    await row.getByRole('button', { name: `Test the endpoint ${receiver.url} (a test delivery)` }).click();
    await expect.poll(() => receiver.messages.filter((m) => m.type === 'webhook.test' && m.verified).length, { timeout: 10_000 }).toBe(1);
    await page.reload();
    expect(await page.content()).not.toContain(secret.slice(6));
    await row.getByRole('button', { name: `Show the deliveries to ${receiver.url}` }).click();
    const delivery = page.locator('#delivery-rows tr').first();
    await expect.poll(() => delivery.locator('.delivery-state').textContent()).toMatch(/^delivered /);
    expect(await delivery.locator('td[data-label="Answer"]').textContent()).toBe('200');
    await delivery.getByRole('button', { name: /^Send again: delivery \d+$/ }).click();
    await expect.poll(() => receiver.messages.find((m) => m.type === 'webhook.test')?.attempts, { timeout: 10_000 }).toBe(2);
    await expect.poll(() => page.locator('#delivery-rows tr').count()).toBe(2);

    await row.getByRole('button', { name: `Change the endpoint ${receiver.url}` }).click();
    await page.locator('input[name="events"][value="session.ended"]').check();
    await page.getByRole('button', { name: 'Save changes' }).click();
    await expect.poll(() => row.locator('td[data-label="Events"]').textContent()).toBe('ticket.created session.ended ');
    await row.getByRole('button', { name: `Disable the endpoint ${receiver.url}` }).click();
    await expect.poll(() => row.locator('.webhook-state').textContent()).toMatch(/^disabled · waiting: 0/);
    await row.getByRole('button', { name: `Delete the endpoint ${receiver.url}` }).click();
    await page.locator('dialog.confirm #confirm-ok').click();
    await expect.poll(() => page.locator('#webhook-status').textContent()).toBe(`The endpoint ${receiver.url} is deleted.`);
    await expect.poll(() => page.locator('#webhook-none').isVisible()).toBe(true);
    const actions = (await admin.get('/api/v1/audit?limit=50').expect(200)).body.events.map((e: { action: string }) => e.action);
    expect(actions).toEqual(expect.arrayContaining(['webhook.created', 'webhook.tested', 'webhook.resent', 'webhook.updated', 'webhook.disabled', 'webhook.deleted']));
    const audit = await context.newPage();
    await audit.goto(`${h.server.url}/audit?action=webhook.created`);
    expect(await audit.locator('main').textContent()).toContain(`registered the webhook endpoint ${receiver.url}.`);
    await context.close();
  }, 60_000);

  it('says an endpoint is failing, resumes it, and has no axe violations in every language, light and dark, and on a phone', async () => {
    const made = await admin.post('/api/v1/webhooks', { url: receiver.url, events: ['ticket.created'] }).expect(201);
    receiver.secret = made.body.secret as string;
    receiver.answer = () => 500;
    await h.helpRequest();
    await expect.poll(async () => (await admin.get(`/api/v1/webhooks/${made.body.endpoint.id}`).expect(200)).body.endpoint.health, { timeout: 10_000 }).toBe('failing');
    receiver.answer = () => 200;
    // Every other page an administrator opens says it too.
    const elsewhere = await browser.newContext({ locale: 'en-US', bypassCSP: true });
    const audit = await logIn(elsewhere);
    await audit.goto(`${h.server.url}/audit`);
    expect(await audit.locator('#webhooks-failing-notice').textContent()).toBe('Endpoints failing: 1. Their deliveries wait until you resume them. See the Webhooks page.');
    expect(await axeViolations(audit), 'audit page with the notice').toEqual([]);
    await elsewhere.close();
    for (const lang of languages) {
      for (const colorScheme of ['light', 'dark'] as const) {
        const context = await browser.newContext({ locale: lang === 'zh' ? 'zh-CN' : lang === 'es' ? 'es-ES' : 'en-US', colorScheme, bypassCSP: true });
        const page = await logIn(context);
        expect(await page.locator('h1').textContent()).toBe(catalogues[lang]['webhooks.title']);
        expect(await page.locator('#webhooks-failing').textContent()).toBe(catalogues[lang]['webhooks.failingNotice'].replace('{n}', '1'));
        await expect.poll(() => page.locator('#webhook-rows tr[data-failing="true"]').count()).toBe(1);
        await page.locator('#webhook-rows tr button').nth(1).click();
        await page.locator('#delivery-rows tr').first().waitFor();
        expect(await axeViolations(page), `${lang} ${colorScheme}`).toEqual([]);
        await context.close();
      }
    }
    const phone = await browser.newContext({ locale: 'es-ES', viewport: { width: 390, height: 844 }, isMobile: true, hasTouch: true, bypassCSP: true });
    const page = await logIn(phone);
    await expect.poll(() => page.locator('#webhook-rows tr').count()).toBe(1);
    expect(await axeViolations(page), 'phone').toEqual([]);
    expect(await page.evaluate(() => document.documentElement.scrollWidth <= window.innerWidth + 1)).toBe(true);
    await page.getByRole('button', { name: `Reanudar el destino ${receiver.url}` }).click();
    await expect.poll(() => page.locator('#webhook-rows tr[data-failing="true"]').count()).toBe(0);
    await page.goto(`${h.server.url}/audit`);
    expect(await page.locator('#webhooks-failing-notice').count()).toBe(0);
    await phone.close();
  }, 120_000);
});
