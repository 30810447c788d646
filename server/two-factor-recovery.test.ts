// Two-factor login, second pass (issue 31), on each engine: a valid code
// used again within its 30 s is told as used (wait for the next), not as
// wrong; the profile shows how many recovery codes are left; new codes are
// made only after the password or a current code, audited, and the old ones
// stop working — on the page and in the JSON API; with REQUIRE_2FA=all the profile says one thing, and a page
// that leads to the profile says why, with the menu marking what waits.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import request from 'supertest';
import { generate } from 'otplib';
import { engines } from '../test/databases.ts';
import { ADMIN_PASSWORD, startHarness, type Harness, type Tech } from '../test/server-harness.ts';

const now = (): number => Math.floor(Date.now() / 1000);
const codeAt = (secret: string, epoch: number): Promise<string> => generate({ secret, epoch });

async function passwordStep(url: string, username: string, password: string) {
  const agent = request.agent(url);
  const probe = await agent.get('/auth/session').expect(200);
  const res = await agent.post('/auth/login').set('x-csrf-token', probe.body.csrfToken).send({ username, password });
  return { agent, res, csrf: res.body.csrfToken as string };
}

async function enrol(tech: Tech): Promise<{ secret: string; recoveryCodes: string[] }> {
  const setup = (await tech.post('/api/v1/me/2fa/setup').expect(200)).body;
  const enabled = (await tech.post('/api/v1/me/2fa/enable', { code: await codeAt(setup.secret, now()) }).expect(200)).body;
  return { secret: setup.secret, recoveryCodes: enabled.recoveryCodes };
}

/** A form post of the profile page (CSRF as the page sends it). */
const form = (tech: Tech, path: string, fields: Record<string, string>) => tech.agent.post(path).type('form').set('x-csrf-token', tech.csrf).send({ _csrf: tech.csrf, ...fields });

const recoveryList = (html: string): string[] => [...html.matchAll(/<li><code>([0-9a-f]{4}-[0-9a-f]{4})<\/code><\/li>/g)].map((m) => m[1]!);

describe.each(engines)('two-factor login, second pass, on %s', (engine) => {
  let h: Harness;
  let admin: Tech;

  beforeAll(async () => {
    h = await startHarness(engine);
    admin = await h.login('admin', ADMIN_PASSWORD);
  });
  afterAll(async () => h?.close());

  it('says a code was already used (wait for the next one), in the API and on the login page', async () => {
    const tech = await h.freshTechnician(admin, 'uma');
    const { secret } = await enrol(tech);
    const code = await codeAt(secret, now() + 30);
    const first = await passwordStep(h.server.url, tech.username, tech.password);
    await first.agent.post('/auth/2fa').set('x-csrf-token', first.csrf).send({ code }).expect(200);

    const again = await passwordStep(h.server.url, tech.username, tech.password);
    const reused = await again.agent.post('/auth/2fa').set('x-csrf-token', again.csrf).send({ code });
    expect(reused.status).toBe(401);
    expect(reused.body.error.code).toBe('TOTP_CODE_USED');
    expect(reused.body.error.message).toMatch(/already used.*next/i);
    // A wrong code is still just wrong.
    const wrong = await again.agent.post('/auth/2fa').set('x-csrf-token', again.csrf).send({ code: code === '000000' ? '111111' : '000000' });
    expect(wrong.body.error.code).toBe('LOGIN_FAILED');

    // The login page says it in the reader's language.
    const agent = request.agent(h.server.url);
    const page = await agent.get('/login').set('accept-language', 'es').expect(200);
    const csrf = /name="_csrf" value="([^"]+)"/.exec(page.text)![1]!;
    const step = await agent.post('/login').set('accept-language', 'es').type('form').send({ _csrf: csrf, username: tech.username, password: tech.password, next: '/queue' });
    const csrf2 = /name="_csrf" value="([^"]+)"/.exec(step.text)![1]!;
    const told = await agent.post('/login/2fa').set('accept-language', 'es').type('form').send({ _csrf: csrf2, code, next: '/queue' });
    expect(told.status).toBe(401);
    expect(told.text).toContain('ya se usó');
  });

  it('shows the recovery codes left, and makes new ones only after the password or a code: audited, the old ones void', async () => {
    const tech = await h.freshTechnician(admin, 'vic');
    const { secret, recoveryCodes } = await enrol(tech);
    const profile = async () => (await tech.agent.get('/profile').expect(200)).text;
    expect(await profile()).toMatch(/id="recovery-left"[^>]*data-left="10"/);
    const used = await passwordStep(h.server.url, tech.username, tech.password);
    await used.agent.post('/auth/2fa').set('x-csrf-token', used.csrf).send({ code: recoveryCodes[0] }).expect(200);
    const page = await profile();
    expect(page).toMatch(/id="recovery-left"[^>]*data-left="9"/);
    expect(page).toContain('9 of 10 recovery codes left');

    // A wrong password makes none, and the old codes still work.
    const refused = await form(tech, '/profile/2fa/recovery-codes', { confirm: 'not-my-password' });
    expect(refused.status).toBe(303);
    expect(await profile()).toMatch(/data-left="9"/);
    // The password: ten new codes, shown this once, with copy and download.
    await form(tech, '/profile/2fa/recovery-codes', { confirm: tech.password }).expect(303);
    const shown = await profile();
    const fresh = recoveryList(shown);
    expect(fresh).toHaveLength(10);
    expect(fresh.some((c) => recoveryCodes.includes(c))).toBe(false);
    expect(shown).toContain('data-copy="#recovery-codes-text"');
    expect(shown).toMatch(/<a [^>]*download="helpdesk-recovery-codes.txt"/);
    expect(recoveryList(await profile())).toHaveLength(0); // shown once
    expect(await profile()).toMatch(/data-left="10"/);

    const old = await passwordStep(h.server.url, tech.username, tech.password);
    expect((await old.agent.post('/auth/2fa').set('x-csrf-token', old.csrf).send({ code: recoveryCodes[1] })).status).toBe(401);
    const works = await passwordStep(h.server.url, tech.username, tech.password);
    await works.agent.post('/auth/2fa').set('x-csrf-token', works.csrf).send({ code: fresh[0] }).expect(200);

    // A current code confirms too (and is spent by it).
    const code = await codeAt(secret, now() + 30);
    await form(tech, '/profile/2fa/recovery-codes', { confirm: code }).expect(303);
    expect(recoveryList(await profile())).toHaveLength(10);
    const replay = await form(tech, '/profile/2fa/recovery-codes', { confirm: code });
    expect(replay.status).toBe(303);
    expect(recoveryList(await profile())).toHaveLength(0);

    const audit = (await admin.get('/api/v1/audit?action=technician.2fa_recovery_renewed').expect(200)).body;
    expect(audit.events.filter((e: { technicianId?: number; detail?: unknown }) => JSON.stringify(e).includes(String(tech.id)))).toHaveLength(2);
  });

  it('the JSON API (/api/v1/me/2fa/recovery-codes): the count left, and new codes only after the password or a current code — audited, the old ones void', async () => {
    const tech = await h.freshTechnician(admin, 'xia');
    const count = async () => (await tech.get('/api/v1/me/2fa/recovery-codes').expect(200)).body;
    expect(await count()).toEqual({ enabled: false, left: 0 });
    const off = await tech.post('/api/v1/me/2fa/recovery-codes', { confirm: tech.password });
    expect([off.status, off.body.error.code]).toEqual([400, 'VALIDATION_FAILED']);
    const { secret, recoveryCodes } = await enrol(tech);
    expect(await count()).toEqual({ enabled: true, left: 10 });
    const used = await passwordStep(h.server.url, tech.username, tech.password);
    await used.agent.post('/auth/2fa').set('x-csrf-token', used.csrf).send({ code: recoveryCodes[0] }).expect(200);
    expect(await count()).toEqual({ enabled: true, left: 9 });

    // Neither a wrong password nor nothing at all makes any, and the old codes stay.
    const wrong = await tech.post('/api/v1/me/2fa/recovery-codes', { confirm: 'not-my-password' });
    expect([wrong.status, wrong.body.error.code]).toEqual([401, 'LOGIN_FAILED']);
    const missing = await tech.post('/api/v1/me/2fa/recovery-codes', {});
    expect([missing.status, missing.body.error.code]).toEqual([400, 'VALIDATION_FAILED']);
    expect(await count()).toEqual({ enabled: true, left: 9 });

    // The password: ten new codes, answered once and never cached; the old ones stop working.
    const renewed = await tech.post('/api/v1/me/2fa/recovery-codes', { confirm: tech.password }).expect(200);
    expect(renewed.headers['cache-control']).toMatch(/no-store/);
    const fresh = renewed.body.recoveryCodes as string[];
    expect(fresh).toHaveLength(10);
    expect(new Set(fresh).size).toBe(10);
    expect(fresh.some((c) => recoveryCodes.includes(c))).toBe(false);
    expect(await count()).toEqual({ enabled: true, left: 10 });
    const old = await passwordStep(h.server.url, tech.username, tech.password);
    expect((await old.agent.post('/auth/2fa').set('x-csrf-token', old.csrf).send({ code: recoveryCodes[1] })).status).toBe(401);
    const works = await passwordStep(h.server.url, tech.username, tech.password);
    await works.agent.post('/auth/2fa').set('x-csrf-token', works.csrf).send({ code: fresh[0] }).expect(200);

    // A current code confirms too, and is spent by it: the same code again makes none.
    const code = await codeAt(secret, now() + 30);
    const byCode = (await tech.post('/api/v1/me/2fa/recovery-codes', { confirm: code }).expect(200)).body.recoveryCodes as string[];
    expect(byCode.some((c) => fresh.includes(c))).toBe(false);
    expect((await tech.post('/api/v1/me/2fa/recovery-codes', { confirm: code })).status).toBe(401);
    const stillValid = await passwordStep(h.server.url, tech.username, tech.password);
    await stillValid.agent.post('/auth/2fa').set('x-csrf-token', stillValid.csrf).send({ code: byCode[0] }).expect(200);

    const audit = (await admin.get(`/api/v1/audit?action=technician.2fa_recovery_renewed`).expect(200)).body;
    const mine = audit.events.filter((e: { technicianId?: number }) => e.technicianId === tech.id) as { detail: { confirmedWith: string } }[];
    expect(mine.map((e) => e.detail.confirmedWith).sort()).toEqual(['code', 'password']);
  });
});

describe('REQUIRE_2FA=all', () => {
  it('tries a password or code to renew the codes no faster than a login (LOGIN_RATE_PER_MINUTE per address)', async () => {
    const limited = await startHarness('sqlite', { LOGIN_RATE_PER_MINUTE: '6' });
    try {
      const boss = await limited.login('admin', ADMIN_PASSWORD);
      const tech = await limited.freshTechnician(boss, 'wes');
      await enrol(tech);
      const statuses: number[] = [];
      for (let i = 0; i < 12 && !statuses.includes(429); i++) statuses.push((await form(tech, '/profile/2fa/recovery-codes', { confirm: `guess-${i}` })).status);
      expect(statuses).toContain(429);
      // Held: even the right password waits for the minute to pass.
      expect((await form(tech, '/profile/2fa/recovery-codes', { confirm: tech.password })).status).toBe(429);
      expect((await form(tech, '/profile/2fa/disable', { password: tech.password })).status).toBe(429);
    } finally {
      await limited.close();
    }
  });

  it('tries a password or code to renew the codes through the JSON API no faster than a login either', async () => {
    const limited = await startHarness('sqlite', { LOGIN_RATE_PER_MINUTE: '6' });
    try {
      const boss = await limited.login('admin', ADMIN_PASSWORD);
      const tech = await limited.freshTechnician(boss, 'yan');
      await enrol(tech);
      const statuses: number[] = [];
      for (let i = 0; i < 12 && !statuses.includes(429); i++) statuses.push((await tech.post('/api/v1/me/2fa/recovery-codes', { confirm: `guess-${i}` })).status);
      expect(statuses.filter((s) => s === 401).length).toBeGreaterThan(0);
      expect(statuses).toContain(429);
      const held = await tech.post('/api/v1/me/2fa/recovery-codes', { confirm: tech.password });
      expect([held.status, held.body.error.code]).toEqual([429, 'RATE_LIMITED']);
    } finally {
      await limited.close();
    }
  });

  it('tries a password through the JSON API to turn two-factor off or change the password no faster than a login', async () => {
    for (const [path, guess] of [['/api/v1/me/2fa/disable', (i: number) => ({ password: `guess-${i}` })], ['/api/v1/me/password', (i: number) => ({ currentPassword: `guess-${i}`, newPassword: 'a-new-long-password-1' })]] as const) {
      const limited = await startHarness('sqlite', { LOGIN_RATE_PER_MINUTE: '6' });
      try {
        const boss = await limited.login('admin', ADMIN_PASSWORD);
        const tech = await limited.freshTechnician(boss, 'zoe');
        await enrol(tech);
        const statuses: number[] = [];
        for (let i = 0; i < 12 && !statuses.includes(429); i++) statuses.push((await tech.post(path, guess(i))).status);
        expect(statuses, path).toContain(429);
      } finally {
        await limited.close();
      }
    }
  });

  it('the profile says one thing; pages that lead there say why, and the menu marks them', async () => {
    const h = await startHarness('sqlite', { REQUIRE_2FA: 'all' });
    try {
      const admin = await h.login('admin', ADMIN_PASSWORD);
      await enrol(admin); // the administrator too must set it up before creating accounts
      const ana = await h.freshTechnician(admin, 'ana');
      const bounce = await ana.agent.get('/queue');
      expect(bounce.status).toBe(303);
      const profile = (await ana.agent.get(bounce.headers.location as string).expect(200)).text;
      expect(profile).toContain('Your administrators require two-factor login');
      expect(profile).not.toContain('your password alone logs you in');
      expect(profile).toContain('Queue, My tickets and History open once two-factor login is set up.');
      // The menu marks what waits for it.
      expect(profile).toMatch(/<a href="\/queue" class="locked"/);
      expect(profile).toMatch(/<a href="\/profile"(?! class="locked")/);
      // Once set up: on, and required (no way to turn it off), without the "set it up" words.
      await enrol(ana);
      const after = (await ana.agent.get('/profile').expect(200)).text;
      expect(after).toContain('On: logging in asks for a code');
      expect(after).toContain('your administrators require it');
      expect(after).not.toContain('set it up to continue');
      expect(after).not.toContain('class="locked"');
      // Spanish and Chinese have the words too.
      const es = (await ana.agent.get('/profile').set('accept-language', 'es').expect(200)).text;
      expect(es).toContain('sus administradores lo exigen');
    } finally {
      await h.close();
    }
  }, 60_000);
});
