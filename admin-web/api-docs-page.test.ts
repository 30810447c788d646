// The API reference page (issue 28) in Chromium against the real server:
// Swagger UI, served from node_modules, draws every operation of the served
// description under the app's own Content-Security-Policy (no violation, no
// request leaves the server), the menu links to it, its own words come in
// English, Spanish and Chinese, and the JSON and YAML downloads are there.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser, BrowserContext } from 'playwright-core';
import { ADMIN_PASSWORD, startHarness, type Harness } from '../test/server-harness.ts';
import { launchChromium, technicianPage } from '../test/browser.ts';
import { catalogues } from './messages/index.ts';

let h: Harness;
let browser: Browser;

beforeAll(async () => {
  [h, browser] = await Promise.all([startHarness('sqlite'), launchChromium()]);
  await h.createTechnician(await h.login('admin', ADMIN_PASSWORD), 'ana');
}, 120_000);

afterAll(async () => {
  await browser?.close();
  await h?.close();
});

/** Records every CSP violation a page meets, from before its first script runs. */
async function watchCsp(context: BrowserContext): Promise<void> {
  await context.addInitScript(() => {
    const seen: string[] = [];
    (window as unknown as { cspViolations: string[] }).cspViolations = seen;
    document.addEventListener('securitypolicyviolation', (e) => seen.push(`${e.violatedDirective} ${e.blockedURI}`));
  });
}

describe('the API reference page', () => {
  it('draws every operation with Swagger UI under the app’s CSP, from the server alone', async () => {
    const doc = (await h.api.get('/api/v1/openapi.json').expect(200)).body as { paths: Record<string, Record<string, unknown>> };
    const operations = Object.values(doc.paths).reduce((n, item) => n + Object.keys(item).length, 0);
    const page = await technicianPage(browser, h.server.url, '/queue');
    await watchCsp(page.context());
    const origins = new Set<string>();
    page.on('request', (req) => origins.add(new URL(req.url()).origin));
    const link = page.getByRole('navigation').getByRole('link', { name: catalogues.en['nav.apiDocs'], exact: true });
    await link.click();
    await page.waitForURL('**/api-docs');
    const answer = await page.waitForResponse((r) => r.url().endsWith('/api/v1/openapi.json'));
    expect(answer.status()).toBe(200);
    await page.locator('.opblock').nth(operations - 1).waitFor({ timeout: 60_000 });
    expect(await page.locator('.opblock').count()).toBe(operations);
    await expect.poll(() => page.locator('#api-docs-status').textContent()).toBe('');
    expect(await page.locator('.opblock-summary-path', { hasText: '/api/v1/tickets/{id}/accept' }).count()).toBe(1);
    const policy = (await page.request.get(`${h.server.url}/api-docs`)).headers()['content-security-policy'];
    expect(policy).toMatch(/script-src 'self'(;|$)/);
    expect(policy).toMatch(/style-src 'self'(;|$)/);
    expect(await page.evaluate(() => (window as unknown as { cspViolations: string[] }).cspViolations)).toEqual([]);
    expect([...origins]).toEqual([h.server.url]);
    await expect.poll(() => page.locator('#api-docs-json').getAttribute('href')).toBe('/api/v1/openapi.json');
    expect(await page.locator('#api-docs-yaml').getAttribute('href')).toBe('/api/v1/openapi.yaml');
    await page.context().close();
  }, 120_000);

  it.each(['es', 'zh'] as const)('says its own words in %s', async (language) => {
    const context = await browser.newContext({ locale: language === 'es' ? 'es-ES' : 'zh-CN' });
    const page = await context.newPage();
    await page.goto(`${h.server.url}/api-docs`);
    await page.locator('#username').fill('ana');
    await page.locator('#password').fill('ana-password-123');
    await page.locator('form button[type="submit"]').first().click();
    await page.waitForURL('**/api-docs');
    const words = catalogues[language];
    expect(await page.locator('#main > h1').textContent()).toBe(words['apiDocs.title']);
    expect(await page.getByRole('navigation').getByRole('link', { name: words['nav.apiDocs'], exact: true }).getAttribute('href')).toBe('/api-docs');
    expect(await page.locator('#main').innerText()).toContain(words['apiDocs.download']);
    await context.close();
  }, 120_000);

  it('serves only Swagger UI’s bundle and stylesheet from its package', async () => {
    await h.api.get('/vendor/swagger-ui/swagger-ui-bundle.js').expect(200).expect('content-type', /javascript/);
    await h.api.get('/vendor/swagger-ui/swagger-ui.css').expect(200).expect('content-type', /css/);
    await h.api.get('/vendor/swagger-ui/swagger-initializer.js').expect(404);
    await h.api.get('/vendor/swagger-ui/package.json').expect(404);
    await h.api.get('/api-docs').expect(303).expect('location', /^\/login/);
  });
});
