// The owner's way in past the per-account ceiling (issue 25, review): one
// admission per full login, so the code step of a two-factor login is not
// slowed by the password step it follows; a remembered browser (a cookie set
// at each completed login) is spared the ceiling like a known address, while
// guessing goes on; and concurrent wrong passwords from one address each
// count. On each engine, through the real server (addresses varied by
// X-Forwarded-For, which the harness's TRUST_PROXY=loopback believes; time by
// the harness's clock).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import request from 'supertest';
import type TestAgent from 'supertest/lib/agent.js';
import { generate } from 'otplib';
import { engines } from '../test/databases.ts';
import { ADMIN_PASSWORD, startHarness, type Harness, type Tech } from '../test/server-harness.ts';

const MAX_DELAY_MS = 300_000;
const from = (address: string) => ({ 'x-forwarded-for': address });
const attackers = Array.from({ length: 30 }, (_, i) => `203.0.113.${i + 1}`);

describe.each(engines)('the owner past the per-account ceiling, on %s', (engine) => {
  let h: Harness;
  let admin: Tech;

  beforeAll(async () => {
    h = await startHarness(engine, {
      LOGIN_ACCOUNT_MAX_FAILURES: '20',
      LOGIN_ACCOUNT_MAX_DELAY_MS: String(MAX_DELAY_MS),
      LOGIN_MAX_FAILURES: '100',
      // The harness's clock moves hours ahead here: sessions must outlast it.
      SESSION_IDLE_MS: String(7 * 24 * 3_600_000),
    });
    admin = await h.login('admin', ADMIN_PASSWORD);
  });
  afterAll(async () => h?.close());

  /** The password step from an address, on a browser (agent) of its own unless one is given. */
  async function passwordStep(username: string, password: string, address: string, agent: TestAgent = request.agent(h.server.url)) {
    const probe = await agent.get('/auth/session').set(from(address)).expect(200);
    const res = await agent.post('/auth/login').set(from(address)).set('x-csrf-token', probe.body.csrfToken).send({ username, password });
    return { agent, res, csrf: (res.body.csrfToken ?? probe.body.csrfToken) as string };
  }
  const codeStep = (step: { agent: TestAgent; csrf: string }, code: string, address: string) =>
    step.agent.post('/auth/2fa').set(from(address)).set('x-csrf-token', step.csrf).send({ code });

  /** Wrong passwords from 30 addresses, each once the account's delay is over: past the ceiling (20), the delay reaches its longest. */
  async function attack(username: string) {
    for (const [i, address] of attackers.entries()) {
      if (i >= 20) h.clock.advance(MAX_DELAY_MS + 1_000);
      expect((await passwordStep(username, `guess-${address}`, address)).res.status).toBe(401);
    }
    expect((await passwordStep(username, 'one-more-guess', '203.0.113.250')).res.status).toBe(429);
  }

  /** A technician with two-factor login on; `code()` is a fresh code at the harness's time (the clock moves on a step after each). */
  async function withTwoFactor(name: string) {
    const tech = await h.freshTechnician(admin, name);
    const { secret } = (await tech.post('/api/v1/me/2fa/setup').expect(200)).body as { secret: string };
    const code = async () => {
      const value = await generate({ secret, epoch: Math.floor(h.clock.now() / 1000) });
      h.clock.advance(30_000);
      return value;
    };
    await tech.post('/api/v1/me/2fa/enable', { code: await code() }).expect(200);
    return Object.assign(tech, { code });
  }

  it('after the guessing stopped, the owner at a new address in a new browser gets in within LOGIN_ACCOUNT_MAX_DELAY_MS, with two-factor login too; a mistyped code waits once, within the pending login\'s time', async () => {
    const kim = await withTwoFactor('kim');
    await attack(kim.username);
    h.clock.advance(MAX_DELAY_MS + 1_000);
    // One admission for the whole login: the password step is admitted, and the code step is not slowed by it.
    const owner = await passwordStep(kim.username, kim.password, '192.0.2.10');
    expect(owner.res.status).toBe(200);
    expect(owner.res.body).toMatchObject({ twoFactorRequired: true });
    const done = await codeStep(owner, await kim.code(), '192.0.2.10');
    expect(done.status).toBe(200);
    await owner.agent.get('/api/v1/me').expect(200);

    // A mistyped code spends the login's admission: the next code waits the account's delay, once, and the pending login outlasts it.
    await attack(kim.username);
    h.clock.advance(MAX_DELAY_MS + 1_000);
    const again = await passwordStep(kim.username, kim.password, '192.0.2.11');
    expect(again.res.body).toMatchObject({ twoFactorRequired: true });
    expect((await codeStep(again, '000000', '192.0.2.11')).status).toBe(401);
    const right = await kim.code();
    const slowed = await codeStep(again, right, '192.0.2.11');
    expect(slowed.status).toBe(429);
    expect(slowed.body.error.code).toBe('LOGIN_SLOWED');
    const waitS = Number(slowed.headers['retry-after']);
    expect(waitS).toBeGreaterThan(0);
    expect(waitS).toBeLessThanOrEqual(MAX_DELAY_MS / 1000);
    h.clock.advance(waitS * 1000);
    expect((await codeStep(again, await kim.code(), '192.0.2.11')).status).toBe(200);
    await again.agent.get('/api/v1/me').expect(200);

    // Without two-factor login as well.
    const pia = await h.freshTechnician(admin, 'pia');
    await attack(pia.username);
    h.clock.advance(MAX_DELAY_MS + 1_000);
    expect((await passwordStep(pia.username, pia.password, '192.0.2.12')).res.status).toBe(200);
  });

  it('while guessing goes on, a browser the owner logged in from is spared the ceiling at any address (two-factor login too); a new browser is not, nor another account\'s; a password reset forgets browsers', async () => {
    const ola = await withTwoFactor('ola');
    const laptop = request.agent(h.server.url);
    const first = await passwordStep(ola.username, ola.password, '198.51.100.20', laptop);
    expect((await codeStep(first, await ola.code(), '198.51.100.20')).status).toBe(200);
    const colleague = await h.freshTechnician(admin, 'max');
    const shared = request.agent(h.server.url);
    expect((await passwordStep(colleague.username, colleague.password, '198.51.100.21', shared)).res.status).toBe(200);

    await attack(ola.username);
    // The guessing goes on: a bot takes each slot the moment the delay ends.
    h.clock.advance(MAX_DELAY_MS + 1_000);
    expect((await passwordStep(ola.username, 'bot-guess', '203.0.113.99')).res.status).toBe(401);
    // A new browser at a new address is slowed, and so is a browser only another account logged in from.
    expect((await passwordStep(ola.username, ola.password, '192.0.2.30')).res.status).toBe(429);
    expect((await passwordStep(ola.username, ola.password, '192.0.2.31', shared)).res.status).toBe(429);
    // The owner's laptop, at an address the account never used, gets in: password, then code.
    const away = await passwordStep(ola.username, ola.password, '192.0.2.32', laptop);
    expect(away.res.status).toBe(200);
    expect(away.res.body).toMatchObject({ twoFactorRequired: true });
    expect((await codeStep(away, await ola.code(), '192.0.2.32')).status).toBe(200);
    await laptop.get('/api/v1/me').expect(200);

    // An administrator's password reset forgets the browsers too.
    const reset = (await admin.post(`/api/v1/technicians/${ola.id}/password`, {}).expect(200)).body as { password: string };
    await attack(ola.username);
    expect((await passwordStep(ola.username, reset.password, '192.0.2.33', laptop)).res.status).toBe(429);
  });

  it('one admission per login: codes sent at once on one pending login (a stolen password) share it once; the rest wait', async () => {
    const eve = await withTwoFactor('eve');
    await attack(eve.username);
    h.clock.advance(MAX_DELAY_MS + 1_000);
    const stolen = await passwordStep(eve.username, eve.password, '203.0.113.77');
    expect(stolen.res.body).toMatchObject({ twoFactorRequired: true });
    // Recovery-code guesses no real code can match (those are hex).
    const codes = await Promise.all(Array.from({ length: 10 }, (_, i) => codeStep(stolen, `zzzz-zzz${i}`, `203.0.113.${120 + i}`)));
    expect(codes.map((r) => r.status).sort()).toEqual([401, ...Array(9).fill(429)]);
  });

  it('wrong passwords sent at once from one address each count', async () => {
    const rio = await h.freshTechnician(admin, 'rio');
    // 127.0.0.1 is where the harness logged rio in: a known address, so the per-account ceiling does not apply.
    const wrong = await Promise.all(
      Array.from({ length: 10 }, async () => {
        const agent = request.agent(h.server.url);
        const probe = await agent.get('/auth/session').expect(200);
        return agent.post('/auth/login').set('x-csrf-token', probe.body.csrfToken).send({ username: rio.username, password: 'not-the-password' });
      }),
    );
    expect(wrong.map((r) => r.status)).toEqual(Array(10).fill(401));
    const listed = (await admin.get('/api/v1/technicians').expect(200)).body.technicians.find((t: { id: number }) => t.id === rio.id);
    expect(listed.logins.failedLogins).toBe(10);
  });
});
