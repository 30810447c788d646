// The profile page's API tokens (issue 27), in Chromium against the real
// server: a technician makes a token, sees its secret this once, the token
// works on the API, a reload shows it listed (last use) but never the secret
// again; revoked after the confirmation, it is refused at once. A technician
// is offered only the scopes their role allows. axe finds nothing on the
// section in English, Spanish and Chinese, light and dark.
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

async function logIn(context: BrowserContext, username: string, password: string, path = '/profile'): Promise<Page> {
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

const bearer = (token: string) => ({ authorization: `Bearer ${token}` });

describe('API tokens on the profile page', () => {
  it('makes a token shown once, lists it with its last use, and revokes it after a confirmation', async () => {
    const context = await browser.newContext({ locale: 'en-US' });
    const page = await logIn(context, ana.username, ana.password);
    const section = page.locator('#api-tokens');
    await section.locator('#token-form').waitFor({ state: 'visible' });
    await expect.poll(() => section.locator('#token-none').isVisible()).toBe(true);
    // A technician is offered the scopes of their role only.
    expect(await section.locator('input[name="scopes"]').evaluateAll((boxes) => boxes.map((b) => (b as HTMLInputElement).value))).toEqual(['tickets:read', 'tickets:write']);

    await section.getByLabel('Token name').fill('CI bridge');
    await section.getByLabel('Expires after (days)').fill('7');
    await section.locator('input[value="tickets:read"]').check();
    await section.getByRole('button', { name: 'Create token' }).click();
    await section.locator('#token-new').waitFor({ state: 'visible' });
    const secret = (await section.locator('#token-secret').textContent()) ?? '';
    expect(secret).toMatch(/^hd_[A-Za-z0-9_-]{43}$/);
    expect(await section.locator('#token-new-text').textContent()).toContain('shown only this once');
    await expect.poll(() => section.locator('#token-rows tr').count()).toBe(1);
    expect(await section.locator('#token-rows tr th').textContent()).toBe('CI bridge');

    await h.api.get('/api/v1/tickets/queue').set(bearer(secret)).expect(200);
    await page.reload();
    await expect.poll(() => section.locator('#token-rows tr').count()).toBe(1);
    expect(await page.content()).not.toContain(secret.slice(3));
    expect(await section.locator('#token-new').isHidden()).toBe(true);
    const row = section.locator('#token-rows tr').first();
    expect(await row.locator('td[data-label="Last used"]').textContent()).toMatch(/^\d\d\/\d\d\/\d{4}, \d\d:\d\d:\d\d \S+$/);
    expect(await row.locator('.token-state').textContent()).toBe('active');

    // Revoking asks first; cancelled, nothing changes.
    await row.getByRole('button', { name: 'Revoke the token CI bridge' }).click();
    await page.locator('dialog.confirm #confirm-cancel').click();
    await h.api.get('/api/v1/tickets/queue').set(bearer(secret)).expect(200);
    await row.getByRole('button', { name: 'Revoke the token CI bridge' }).click();
    await page.locator('dialog.confirm #confirm-ok').click();
    await expect.poll(() => section.locator('#token-status').textContent()).toBe('The token "CI bridge" is revoked.');
    await expect.poll(() => section.locator('#token-rows .token-state').textContent()).toMatch(/^revoked \d\d\/\d\d\/\d{4}, /);
    expect(await section.locator('#token-rows button').count()).toBe(0);
    const refused = await h.api.get('/api/v1/tickets/queue').set(bearer(secret));
    expect([refused.status, refused.body.error.code]).toEqual([401, 'API_TOKEN_INVALID']);
    await context.close();
  });

  it('says in words why a token was not made (no scope chosen)', async () => {
    const context = await browser.newContext({ locale: 'en-US' });
    const page = await logIn(context, ana.username, ana.password);
    const section = page.locator('#api-tokens');
    await section.getByLabel('Token name').fill('Nothing');
    await section.getByRole('button', { name: 'Create token' }).click();
    await expect.poll(() => section.locator('#token-error').textContent()).toBe('That did not work: Choose at least one scope.');
    expect(await section.locator('#token-new').isHidden()).toBe(true);
    await context.close();
  });

  it('has no axe violations in English, Spanish and Chinese, light and dark, with a token listed and one just made', async () => {
    await admin.post('/api/v1/tokens', { name: 'Audit export', scopes: ['audit:read'], expiresInDays: 30 }).expect(201);
    for (const lang of languages) {
      for (const colorScheme of ['light', 'dark'] as const) {
        const context = await browser.newContext({ locale: lang === 'zh' ? 'zh-CN' : lang === 'es' ? 'es-ES' : 'en-US', colorScheme, bypassCSP: true });
        const page = await logIn(context, 'admin', ADMIN_PASSWORD);
        const section = page.locator('#api-tokens');
        expect(await section.locator('h2').textContent()).toBe(catalogues[lang]['tokens.title']);
        await expect.poll(() => section.locator('#token-rows tr').count()).toBeGreaterThan(0);
        // An administrator is offered every scope, each in the page's words.
        expect(await section.locator('input[name="scopes"]').evaluateAll((boxes) => boxes.map((b) => (b as HTMLInputElement).value))).toEqual(['tickets:read', 'tickets:write', 'technicians:manage', 'teams:manage', 'webhooks:manage', 'audit:read']);
        expect(await section.locator('.token-scopes').textContent()).toContain(catalogues[lang]['tokens.scope.webhooks:manage']);
        expect(await axeViolations(page), `${lang} ${colorScheme} listed`).toEqual([]);
        await section.locator('#token-name').fill(`Made in ${lang} ${colorScheme}`);
        await section.locator('input[value="tickets:read"]').check();
        await section.locator('#token-form button[type="submit"]').click();
        await section.locator('#token-new').waitFor({ state: 'visible' });
        expect(await section.locator('#token-new-text').textContent()).toBe(catalogues[lang]['js.tokens.shownOnce'].replace('{name}', `Made in ${lang} ${colorScheme}`));
        expect(await axeViolations(page), `${lang} ${colorScheme} made`).toEqual([]);
        await context.close();
      }
    }
  }, 120_000);
});
