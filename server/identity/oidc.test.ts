// OpenID Connect sign-in end to end in Chromium, against a real provider
// (oidc-provider on loopback, PKCE required) and the real server: the first
// sign-in makes the account with the role from the claim, a changed claim
// changes the role (and ends the older sessions), a disabled account is
// refused in words, an answer issued to another client or a replayed or
// forged state is refused, the session ends with the provider's token, and
// logout ends the provider's session too (RP-initiated logout).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { launchChromium } from '../../test/browser.ts';
import { ADMIN_PASSWORD, startHarness, type Harness, type Tech } from '../../test/server-harness.ts';
import { freePort } from '../../test/processes.ts';
import { OIDC_CLIENT_ID, OIDC_CLIENT_SECRET, OTHER_CLIENT_ID, startOidcProvider, type TestProvider } from '../../test/oidc-provider.ts';

const TOKEN_TTL_S = 600;
const axeSource = readFileSync(createRequire(import.meta.url).resolve('axe-core/axe.min.js'), 'utf8');

let h: Harness;
let provider: TestProvider;
let browser: Browser;
let admin: Tech;

beforeAll(async () => {
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  provider = await startOidcProvider(url, {
    ana: { name: 'Ana Oidc', preferred_username: 'ana.oidc', email: 'ana@corp.test', locale: 'en-GB', helpdesk_role: ['staff', 'helpdesk-admins'] },
    luis: { name: 'Luis Oidc', preferred_username: 'luis', email: 'luis@corp.test', helpdesk_role: 'staff' },
  }, TOKEN_TTL_S);
  [h, browser] = await Promise.all([
    startHarness('sqlite', {
      PORT: String(port),
      OIDC_ISSUER: provider.issuer,
      OIDC_CLIENT_ID,
      OIDC_CLIENT_SECRET,
      OIDC_NAME: 'Corp SSO',
      OIDC_AUTO_CREATE: 'on',
      OIDC_ROLE_CLAIM: 'helpdesk_role',
      OIDC_ADMIN_VALUES: 'helpdesk-admins, root',
    }),
    launchChromium(),
  ]);
  admin = await h.login('admin', ADMIN_PASSWORD);
}, 60_000);

afterAll(async () => {
  await browser?.close();
  await h?.close();
  await provider?.close();
});

/** The authorization requests the browser sent to the provider, and the callbacks it brought back. */
function watch(context: BrowserContext): { authorize: URL[]; callbacks: string[] } {
  const seen = { authorize: [] as URL[], callbacks: [] as string[] };
  context.on('request', (r) => {
    const u = new URL(r.url());
    if (u.origin === provider.issuer && u.pathname === '/auth') seen.authorize.push(u);
    if (u.pathname.startsWith('/auth/oidc/') && u.pathname.endsWith('/callback')) seen.callbacks.push(r.url());
  });
  return seen;
}

/** Clicks "Sign in with Corp SSO" and goes through the provider's login (and consent) as `login`; returns the page where it ends. */
async function ssoSignIn(context: BrowserContext, login: string, path = '/queue'): Promise<Page> {
  const page = await context.newPage();
  await page.goto(`${h.server.url}/login?next=${encodeURIComponent(path)}`);
  await page.locator('#sso-oidc').click();
  await page.waitForURL(`${provider.issuer}/**`);
  if (await page.locator('input[name=login]').count()) {
    await page.locator('input[name=login]').fill(login);
    await page.locator('input[name=password]').fill('any-password');
    await page.locator('button[type=submit]').click();
  }
  // The provider asks for consent once per browser; then back to the helpdesk.
  await page.waitForURL((u) => u.origin === h.server.url || /\/interaction\//.test(u.pathname));
  if (new URL(page.url()).origin !== h.server.url) {
    await page.getByRole('button', { name: 'Continue' }).click();
    await page.waitForURL((u) => u.origin === h.server.url);
  }
  return page;
}

/**
 * Changes the authorization request the helpdesk sends the browser to (its
 * redirect's Location): the provider then answers what was asked of it.
 */
async function rewriteAuthorize(context: BrowserContext, change: (u: URL) => void): Promise<void> {
  await context.route((u) => u.pathname === '/auth/oidc/oidc', async (route) => {
    const response = await route.fetch({ maxRedirects: 0 });
    const location = new URL(response.headers().location!);
    change(location);
    await route.fulfill({ response, headers: { ...response.headers(), location: location.href } });
  });
}

async function axeViolations(page: Page): Promise<string[]> {
  await page.addScriptTag({ content: axeSource });
  const result = await page.evaluate(async () => {
    const axe = (window as unknown as { axe: { run: (ctx: Document, opts: object) => Promise<{ violations: { id: string; nodes: { target: string[] }[] }[] }> } }).axe;
    return axe.run(document, { resultTypes: ['violations'] });
  });
  return result.violations.map((v) => `${v.id}: ${v.nodes.map((n) => n.target.join(' ')).join(' | ')}`);
}

async function technician(username: string) {
  const list = (await admin.get('/api/v1/technicians').expect(200)).body.technicians as { id: number; username: string; role: string; source: string; provider: string | null; displayName: string; email: string; language: string | null; lastLoginMethod: string | null; active: boolean }[];
  return list.find((t) => t.username === username);
}

describe('OpenID Connect sign-in against oidc-provider', () => {
  it('the first sign-in makes the account with the claim\'s role, name, e-mail and language; PKCE (S256) is used and the provider requires it', async () => {
    const context = await browser.newContext();
    const seen = watch(context);
    const page = await ssoSignIn(context, 'ana');
    expect(new URL(page.url()).pathname).toBe('/queue');
    expect(await technician('ana.oidc')).toMatchObject({ role: 'admin', source: 'oidc', provider: 'oidc', displayName: 'Ana Oidc', email: 'ana@corp.test', language: 'en', lastLoginMethod: 'oidc' });
    const authorize = seen.authorize[0]!;
    expect(authorize.searchParams.get('code_challenge_method')).toBe('S256');
    expect(authorize.searchParams.get('code_challenge')).toMatch(/^[\w-]{43}$/);
    expect(authorize.searchParams.get('state')).toBeTruthy();
    expect(authorize.searchParams.get('nonce')).toBeTruthy();
    // The same request without PKCE is refused by the provider.
    const bare = new URL(authorize);
    bare.searchParams.delete('code_challenge');
    bare.searchParams.delete('code_challenge_method');
    const refused = await fetch(bare, { redirect: 'manual' });
    const location = new URL(refused.headers.get('location') ?? '', provider.issuer);
    expect(location.searchParams.get('error')).toBe('invalid_request');
    expect(location.searchParams.get('error_description')).toMatch(/PKCE/);

    // The Technicians page says where the account comes from and when it last signed in.
    await page.goto(`${h.server.url}/technicians`);
    const row = page.locator('tr[data-username="ana.oidc"]');
    await expect.poll(() => row.locator('td.source').textContent()).toBe('Corp SSO');
    expect(await row.locator('td.last-login').textContent()).toMatch(/single sign-on/);
    const audit = await admin.get('/api/v1/audit?action=login.succeeded').expect(200);
    expect(JSON.stringify(audit.body)).toContain('"provider":"Corp SSO"');
    await page.goto(`${h.server.url}/audit`);
    expect(await page.locator('body').textContent()).toContain('logged in with Corp SSO.');
    await context.close();
  }, 60_000);

  it('a later sign-in with a changed claim changes the role and ends the account\'s older sessions', async () => {
    const first = await browser.newContext();
    const before = await ssoSignIn(first, 'ana');
    expect((await before.request.get(`${h.server.url}/api/v1/me`)).status()).toBe(200);
    provider.users.set('ana', { ...provider.users.get('ana'), helpdesk_role: 'staff' });
    const second = await browser.newContext();
    const after = await ssoSignIn(second, 'ana');
    expect(await technician('ana.oidc')).toMatchObject({ role: 'technician' });
    expect((await after.request.get(`${h.server.url}/api/v1/me`)).status()).toBe(200);
    expect((await before.request.get(`${h.server.url}/api/v1/me`)).status()).toBe(401);
    await first.close();
    await second.close();
  }, 60_000);

  it('a disabled account stays disabled whatever the provider says (refused in words)', async () => {
    const context = await browser.newContext();
    await ssoSignIn(context, 'luis');
    const luis = (await technician('luis'))!;
    expect(luis).toMatchObject({ role: 'technician', source: 'oidc' });
    await admin.patch(`/api/v1/technicians/${luis.id}`, { active: false }).expect(200);
    const spanish = await browser.newContext({ locale: 'es-ES' });
    const page = await ssoSignIn(spanish, 'luis');
    expect(new URL(page.url()).pathname).toBe('/login');
    expect(await page.locator('#login-error').textContent()).toBe('Esta cuenta está desactivada. Consulte a un administrador.');
    expect((await page.request.get(`${h.server.url}/api/v1/me`)).status()).toBe(401);
    await context.close();
    await spanish.close();
  }, 60_000);

  it('an answer issued to another client is refused, and so are a replayed and a forged state', async () => {
    // The browser's request to the provider names another client: the code it brings back was not issued to the helpdesk.
    const other = await browser.newContext();
    await rewriteAuthorize(other, (u) => u.searchParams.set('client_id', OTHER_CLIENT_ID));
    const page = await ssoSignIn(other, 'ana');
    expect(new URL(page.url()).pathname).toBe('/login');
    expect(await page.locator('#login-error').textContent()).toMatch(/^Signing in with Corp SSO did not succeed/);
    expect((await page.request.get(`${h.server.url}/api/v1/me`)).status()).toBe(401);
    await other.close();

    // A callback replayed by another browser finds no attempt there.
    const victim = await browser.newContext();
    const seen = watch(victim);
    await ssoSignIn(victim, 'ana');
    const thief = await (await browser.newContext()).newPage();
    await thief.goto(seen.callbacks.at(-1)!);
    expect(new URL(thief.url()).pathname).toBe('/login');
    expect(await thief.locator('#login-error').textContent()).toBe('This Corp SSO sign-in answer was already used, has expired, or belongs to another browser: sign in again');
    // In its own browser, a second use of the same answer is refused too (the attempt is used once).
    const replay = await victim.request.get(seen.callbacks.at(-1)!, { maxRedirects: 0 });
    expect(replay.status()).toBe(303);
    expect(replay.headers().location).toBe('/login');

    // A forged state: the provider's answer comes back with a state this browser's attempt does not hold.
    const forged = await browser.newContext();
    await rewriteAuthorize(forged, (u) => u.searchParams.set('state', 'forged-state'));
    const forgedPage = await ssoSignIn(forged, 'ana');
    expect(new URL(forgedPage.url()).pathname).toBe('/login');
    expect(await forgedPage.locator('#login-error').textContent()).toMatch(/already used, has expired, or belongs to another browser/);
    await forged.close();
    await victim.close();
  }, 60_000);

  it('logout ends the provider\'s session too (RP-initiated logout); the web session ends with the provider\'s token', async () => {
    const context = await browser.newContext();
    const page = await ssoSignIn(context, 'ana');
    await page.locator('form[action="/logout"] button').click();
    // The provider asks to confirm, then sends the browser back.
    await page.waitForURL(`${provider.issuer}/**`);
    await page.locator('button[name=logout][value=yes]').click();
    await page.waitForURL(`${h.server.url}/login?loggedOut=1`);
    expect((await page.request.get(`${h.server.url}/api/v1/me`)).status()).toBe(401);
    // Signing in again asks the provider's login (its session ended too).
    await page.getByRole('link', { name: 'Sign in with Corp SSO' }).click();
    await page.waitForURL(`${provider.issuer}/**`);
    expect(await page.locator('input[name=login]').count()).toBe(1);

    const again = await ssoSignIn(await browser.newContext(), 'ana');
    expect((await again.request.get(`${h.server.url}/api/v1/me`)).status()).toBe(200);
    h.clock.advance((TOKEN_TTL_S + 1) * 1000);
    expect((await again.request.get(`${h.server.url}/api/v1/me`)).status()).toBe(401);
    await context.close();
  }, 60_000);

  it('the login page with its button and the Technicians page with sources and last logins have no axe violations, in English, Spanish and Chinese', async () => {
    for (const [lang, locale, button] of [['en', 'en-US', 'Sign in with Corp SSO'], ['es', 'es-ES', 'Entrar con Corp SSO'], ['zh', 'zh-CN', '通过 Corp SSO 登录']] as const) {
      const context = await browser.newContext({ locale, bypassCSP: true });
      const page = await context.newPage();
      await page.goto(`${h.server.url}/login`);
      expect(await page.locator('#sso-oidc').textContent()).toBe(button);
      expect(await axeViolations(page), `login ${lang}`).toEqual([]);
      await page.locator('#username').fill('admin');
      await page.locator('#password').fill(ADMIN_PASSWORD);
      await page.locator('form[action="/login"] button[type="submit"]').click();
      await page.waitForURL((u) => u.pathname !== '/login');
      await page.goto(`${h.server.url}/technicians`);
      expect(await page.locator('tr[data-username="ana.oidc"] td.source').textContent()).toBe('Corp SSO');
      expect(await page.locator('tr[data-username="admin"] td.source').textContent()).not.toBe('Corp SSO');
      expect(await axeViolations(page), `technicians ${lang}`).toEqual([]);
      const ana = (await technician('ana.oidc'))!;
      await page.goto(`${h.server.url}/technicians/${ana.id}`);
      expect(await page.locator('#sso-note').count()).toBe(1);
      expect(await axeViolations(page), `technician ${lang}`).toEqual([]);
      await context.close();
    }
  }, 90_000);
});
