// The per-account ceiling on failed logins (issue 25, point 5a): failures on
// one account from any number of addresses slow every further attempt from an
// address that never logged in to it, with a growing, bounded delay; the
// owner's usual address is not slowed, a success resets the count, and once
// the delay has passed the right credentials get in from anywhere. On each
// engine, through the real server (addresses varied by X-Forwarded-For, which
// the harness's TRUST_PROXY=loopback believes).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import request from 'supertest';
import { generate } from 'otplib';
import { engines } from '../test/databases.ts';
import { ADMIN_PASSWORD, startHarness, type Harness, type Tech } from '../test/server-harness.ts';

const MAX_DELAY_MS = 300_000;
const from = (address: string) => ({ 'x-forwarded-for': address });
/** 50 addresses of the documentation ranges. */
const attackers = Array.from({ length: 50 }, (_, i) => `203.0.113.${i + 1}`);

describe.each(engines)('the per-account ceiling on failed logins, on %s', (engine) => {
  let h: Harness;
  let admin: Tech;

  beforeAll(async () => {
    h = await startHarness(engine, { LOGIN_ACCOUNT_MAX_FAILURES: '20', LOGIN_ACCOUNT_MAX_DELAY_MS: String(MAX_DELAY_MS) });
    admin = await h.login('admin', ADMIN_PASSWORD);
  });
  afterAll(async () => h?.close());

  /** The password step of a login from an address, on an agent of its own (cookie and CSRF token kept). */
  async function passwordStep(username: string, password: string, address: string, headers: Record<string, string> = {}) {
    const agent = request.agent(h.server.url);
    const probe = await agent.get('/auth/session').set(from(address)).expect(200);
    const res = await agent.post('/auth/login').set(from(address)).set(headers).set('x-csrf-token', probe.body.csrfToken).send({ username, password });
    return { agent, res, csrf: (res.body.csrfToken ?? probe.body.csrfToken) as string };
  }

  const statuses = (list: { status: number }[]) => list.map((r) => r.status);

  it('wrong passwords from 50 addresses slow the account down (429, Retry-After, words); the owner\'s usual address still gets in; after the delay the right password gets in from anywhere', async () => {
    const pia = await h.freshTechnician(admin, 'pia');
    const home = '198.51.100.7';
    expect((await passwordStep(pia.username, pia.password, home)).res.status).toBe(200);

    const guesses = [];
    for (let round = 0; round < 2; round++) {
      for (const address of attackers) guesses.push((await passwordStep(pia.username, `guess-${round}-${address}`, address)).res);
    }
    const counted = statuses(guesses).filter((s) => s === 401).length;
    const slowed = guesses.filter((r) => r.status === 429);
    // Twenty failures are free; past them nearly every guess is turned away unchecked (a second or two may pass while they run).
    expect(counted).toBeGreaterThanOrEqual(20);
    expect(counted).toBeLessThan(30);
    expect(slowed.length).toBeGreaterThan(70);
    expect(slowed[0]!.body.error.code).toBe('LOGIN_SLOWED');
    expect(slowed[0]!.body.error.message).toMatch(/^Too many failed logins on this account: wait \d+ seconds? and try again$/);
    expect(Number(slowed[0]!.headers['retry-after'])).toBeGreaterThan(0);
    // Words in the reader's language too.
    const spanish = (await passwordStep(pia.username, 'x', '203.0.113.200', { 'accept-language': 'es' })).res;
    expect(spanish.status).toBe(429);
    expect(spanish.body.error.message).toMatch(/^Demasiados intentos fallidos en esta cuenta/);

    // The right password from a new address is not even checked while the account is slowed.
    const stranger = await passwordStep(pia.username, pia.password, '192.0.2.77');
    expect(stranger.res.status).toBe(429);
    expect(Number(stranger.res.headers['retry-after'])).toBeLessThanOrEqual(MAX_DELAY_MS / 1000);
    // The login page says it too.
    const page = request.agent(h.server.url);
    const form = await page.get('/login').set(from('192.0.2.76')).expect(200);
    const csrf = /name="_csrf" value="([^"]+)"/.exec(form.text)![1]!;
    const refused = await page.post('/login').set(from('192.0.2.76')).type('form').send({ _csrf: csrf, username: pia.username, password: pia.password, next: '/queue' });
    expect(refused.status).toBe(429);
    expect(Number(refused.headers['retry-after'])).toBeGreaterThan(0);
    expect(refused.text).toContain('Too many failed logins on this account: wait');
    // The owner at their usual address is not slowed.
    expect((await passwordStep(pia.username, pia.password, home)).res.status).toBe(200);

    // The owner's success started the count over: slowed again, administrators see it, and Unlock clears it.
    const slowAgain = async () => {
      for (const address of attackers.slice(0, 30)) await passwordStep(pia.username, 'yet-another-guess', address);
    };
    await slowAgain();
    expect((await passwordStep(pia.username, pia.password, '192.0.2.78')).res.status).toBe(429);
    const listed = (await admin.get('/api/v1/technicians').expect(200)).body.technicians.find((t: { id: number }) => t.id === pia.id);
    expect(listed.logins.slowedUntil).toBeGreaterThan(h.clock.now());
    await admin.post(`/api/v1/technicians/${pia.id}/unlock`, {}).expect(200);
    expect((await passwordStep(pia.username, pia.password, '192.0.2.78')).res.status).toBe(200);

    // Once the (bounded) delay has passed, the right password gets in from a new address, and the count starts over.
    await slowAgain();
    expect((await passwordStep(pia.username, pia.password, '192.0.2.79')).res.status).toBe(429);
    h.clock.advance(MAX_DELAY_MS + 1_000);
    expect((await passwordStep(pia.username, pia.password, '192.0.2.79')).res.status).toBe(200);
    expect((await passwordStep(pia.username, 'one-more-wrong-guess', attackers[0]!)).res.status).toBe(401);

    const audit = (await admin.get('/api/v1/audit?action=login.slowed').expect(200)).body;
    expect(JSON.stringify(audit)).toContain('login.slowed');
  });

  it('one pending login testing 200 codes from 50 addresses is slowed, and the right code is then refused unchecked; the owner\'s usual address still gets in', async () => {
    const kim = await h.freshTechnician(admin, 'kim');
    const setup = (await kim.post('/api/v1/me/2fa/setup').expect(200)).body as { secret: string };
    const epoch = () => Math.floor(h.clock.now() / 1000);
    await kim.post('/api/v1/me/2fa/enable', { code: await generate({ secret: setup.secret, epoch: epoch() }) }).expect(200);
    // The owner logged in from 127.0.0.1 (the harness's own login): that is their usual address.
    const valid = new Set(await Promise.all([-30, 0, 30, 60].map((d) => generate({ secret: setup.secret, epoch: epoch() + d }))));

    const pending = await passwordStep(kim.username, kim.password, attackers[0]!);
    expect(pending.res.body).toMatchObject({ twoFactorRequired: true });
    const answers = [];
    for (let i = 0, code = 100_000; answers.length < 200; code++) {
      const guess = String(code);
      if (valid.has(guess)) continue;
      answers.push(await pending.agent.post('/auth/2fa').set(from(attackers[i++ % 50]!)).set('x-csrf-token', pending.csrf).send({ code: guess }));
    }
    const counted = statuses(answers).filter((s) => s === 401).length;
    expect(counted).toBeLessThan(30);
    expect(statuses(answers).filter((s) => s === 429).length).toBeGreaterThan(170);
    const right = await generate({ secret: setup.secret, epoch: epoch() + 30 });
    const stolen = await pending.agent.post('/auth/2fa').set(from(attackers[7]!)).set('x-csrf-token', pending.csrf).send({ code: right });
    expect(stolen.status).toBe(429);
    expect(stolen.body.error.code).toBe('LOGIN_SLOWED');

    const owner = await passwordStep(kim.username, kim.password, '127.0.0.1');
    expect(owner.res.body).toMatchObject({ twoFactorRequired: true });
    const done = await owner.agent.post('/auth/2fa').set('x-csrf-token', owner.csrf).send({ code: right });
    expect(done.status).toBe(200);
    await owner.agent.get('/api/v1/me').expect(200);
    await pending.agent.get('/api/v1/me').expect(401);
  });
});
