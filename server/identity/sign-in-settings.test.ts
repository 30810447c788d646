// Company sign-in's settings with the real server: LOCAL_LOGIN=admins (a local
// technician refused in words, the local administrator still gets in);
// OIDC_PROVIDERS as a list (a button each), a provider that does not answer
// refused in words on the login page, and OIDC_AUTO_CREATE=off refusing a
// first sign-in in words (through Chromium and a real oidc-provider); and the
// settings refused in words when they do not fit together.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import request from 'supertest';
import type { Browser } from 'playwright-core';
import { ADMIN_PASSWORD, startHarness, type Harness, type Tech } from '../../test/server-harness.ts';
import { launchChromium } from '../../test/browser.ts';
import { freePort } from '../../test/processes.ts';
import { OIDC_CLIENT_ID, OIDC_CLIENT_SECRET, startOidcProvider, type TestProvider } from '../../test/oidc-provider.ts';
import { ConfigError, loadConfig } from '../config.ts';

async function tryLogin(url: string, username: string, password: string, language = 'en') {
  const agent = request.agent(url);
  const probe = await agent.get('/auth/session').expect(200);
  return agent.post('/auth/login').set('x-csrf-token', probe.body.csrfToken).set('accept-language', language).send({ username, password });
}

describe('LOCAL_LOGIN=admins', () => {
  let h: Harness;
  let admin: Tech;
  beforeAll(async () => {
    h = await startHarness('sqlite', { LOCAL_LOGIN: 'admins' });
    admin = await h.login('admin', ADMIN_PASSWORD);
  });
  afterAll(async () => h?.close());

  it('a local technician is refused in words; a local administrator (break-glass) still gets in', async () => {
    await admin.post('/api/v1/technicians', { username: 'tina', displayName: 'Tina', role: 'technician', password: 'tina-password-123' }).expect(201);
    const refused = await tryLogin(h.server.url, 'tina', 'tina-password-123');
    expect(refused.status).toBe(403);
    expect(refused.body.error).toMatchObject({ code: 'LOCAL_LOGIN_OFF', message: 'Only administrators may log in with a local account here: sign in with your company\'s account' });
    const spanish = await tryLogin(h.server.url, 'tina', 'tina-password-123', 'es');
    expect(spanish.body.error.message).toBe('Aquí solo los administradores pueden entrar con una cuenta local: entre con la cuenta de su empresa.');
    // A wrong password says nothing about the policy.
    expect((await tryLogin(h.server.url, 'tina', 'wrong-password-1')).body.error.code).toBe('LOGIN_FAILED');
    await admin.post('/api/v1/technicians', { username: 'otto', displayName: 'Otto', role: 'admin', password: 'otto-password-123' }).expect(201);
    const otto = await tryLogin(h.server.url, 'otto', 'otto-password-123');
    expect(otto.status).toBe(200);
    expect(otto.body.technician).toMatchObject({ username: 'otto', role: 'admin', source: 'local', lastLoginMethod: 'local' });
    const audit = await admin.get('/api/v1/audit?action=login.failed').expect(200);
    expect(JSON.stringify(audit.body)).toContain('local_login_off');
  });
});

describe('OIDC_PROVIDERS, a provider down, OIDC_AUTO_CREATE=off', () => {
  let h: Harness;
  let provider: TestProvider;
  let browser: Browser;
  let closedPort: number;

  beforeAll(async () => {
    const port = await freePort();
    closedPort = await freePort();
    provider = await startOidcProvider(`http://127.0.0.1:${port}`, { nina: { name: 'Nina New', preferred_username: 'nina' } });
    const providers = [
      { id: 'down', name: 'Down IdP', issuer: `http://127.0.0.1:${closedPort}`, clientId: 'x', clientSecret: 'y' },
      { id: 'second', name: 'Second IdP', issuer: provider.issuer, clientId: OIDC_CLIENT_ID, clientSecret: OIDC_CLIENT_SECRET },
    ];
    [h, browser] = await Promise.all([startHarness('sqlite', { PORT: String(port), OIDC_PROVIDERS: JSON.stringify(providers), OIDC_TIMEOUT_MS: '2000' }), launchChromium()]);
  }, 60_000);
  afterAll(async () => {
    await browser?.close();
    await h?.close();
    await provider?.close();
  });

  it('each provider has its button; one that does not answer is refused in words on the login page', async () => {
    const agent = request.agent(h.server.url);
    const page = await agent.get('/login').expect(200);
    expect(page.text).toContain('Sign in with Down IdP');
    expect(page.text).toContain('Sign in with Second IdP');
    const started = Date.now();
    const go = await agent.get('/auth/oidc/down?next=/queue').expect(303);
    expect(go.headers.location).toBe('/login');
    expect(Date.now() - started).toBeLessThan(2_000 + 3_000);
    const said = await agent.get('/login').set('accept-language', 'es').expect(503);
    expect(said.text).toContain('Down IdP no responde ahora; inténtelo de nuevo en un momento.');
    // Said once: the next visit is a plain login page.
    await agent.get('/login').expect(200);
    const unknown = await agent.get('/auth/oidc/nobody').expect(303);
    expect(unknown.headers.location).toBe('/login');
    expect((await agent.get('/login').set('accept-language', 'es').expect(404)).text).toContain('Aquí no existe ese proveedor de inicio de sesión.');
  });

  it('with OIDC_AUTO_CREATE=off, a first sign-in is refused in words and no account is made', async () => {
    const before = await h.rows('technicians');
    const page = await (await browser.newContext()).newPage();
    await page.goto(`${h.server.url}/login`);
    await page.locator('#sso-second').click();
    await page.waitForURL(`${provider.issuer}/**`);
    await page.locator('input[name=login]').fill('nina');
    await page.locator('input[name=password]').fill('any-password');
    await page.locator('button[type=submit]').click();
    await page.getByRole('button', { name: 'Continue' }).click();
    await page.waitForURL(`${h.server.url}/login`);
    expect(await page.locator('#login-error').textContent()).toMatch(/^No account here is linked to this Second IdP identity/);
    expect(await h.rows('technicians')).toBe(before);
  }, 60_000);
});

describe('company sign-in settings', () => {
  const problems = (env: Record<string, string>): string[] => {
    try {
      loadConfig(env);
      return [];
    } catch (err) {
      if (err instanceof ConfigError) return err.problems;
      throw err;
    }
  };

  it('names what does not fit, and never repeats a secret', () => {
    expect(problems({ OIDC_ISSUER: 'https://idp.example.com' })).toEqual([expect.stringMatching(/^OIDC_ISSUER, OIDC_CLIENT_ID and OIDC_CLIENT_SECRET: set all three/)]);
    expect(problems({ OIDC_PROVIDERS: '[{"id":"a"' })[0]).toMatch(/^OIDC_PROVIDERS: must be a JSON array .*\(value hidden\)$/);
    expect(problems({ OIDC_PROVIDERS: JSON.stringify([{ id: 'a', name: 'A', issuer: 'http://idp.example.com', clientId: 'c', clientSecret: 's' }]) }).join()).toMatch(/https:\/\/ URL \(http:\/\/ only on loopback\)/);
    expect(problems({ LDAP_URL: 'ldap://127.0.0.1:389' })).toEqual([
      'LDAP_BIND_DN, LDAP_BIND_PASSWORD, LDAP_USER_BASE: required when LDAP_URL is set',
      'LDAP_ADMIN_GROUP or LDAP_TECHNICIAN_GROUP: name at least one group (members of neither are refused)',
    ]);
    expect(problems({ LDAP_USER_FILTER: '(uid=someone)' })[0]).toMatch(/^LDAP_USER_FILTER: must contain \{username\}/);
    expect(problems({ LOCAL_LOGIN: 'some' })[0]).toMatch(/^LOCAL_LOGIN: /);
    const config = loadConfig({ OIDC_ISSUER: 'https://idp.example.com', OIDC_CLIENT_ID: 'c', OIDC_CLIENT_SECRET: 's', OIDC_ADMIN_VALUES: 'a, b', OIDC_ROLE_CLAIM: 'groups' });
    expect(config.identity.oidc.providers).toEqual([{ id: 'oidc', name: 'Single sign-on', issuer: 'https://idp.example.com', clientId: 'c', clientSecret: 's', roleClaim: 'groups', adminValues: ['a', 'b'] }]);
    expect(config.identity.localLogin).toBe('all');
  });
});
