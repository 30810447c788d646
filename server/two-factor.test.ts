// Two-factor login (TOTP) with real codes computed here: enrolment, the code
// step, replay refused, recovery codes once each, REQUIRE_2FA, an
// administrator's reset for a lost device; on each engine.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import request from 'supertest';
import { generate } from 'otplib';
import { engines } from '../test/databases.ts';
import { ADMIN_PASSWORD, startHarness, type Harness, type Tech } from '../test/server-harness.ts';

const now = (): number => Math.floor(Date.now() / 1000);
const codeAt = (secret: string, epoch: number): Promise<string> => generate({ secret, epoch });

/** A login in two steps through the JSON API; returns the agent, logged in or waiting for its code. */
async function passwordStep(url: string, username: string, password: string) {
  const agent = request.agent(url);
  const probe = await agent.get('/auth/session').expect(200);
  const res = await agent.post('/auth/login').set('x-csrf-token', probe.body.csrfToken).send({ username, password });
  return { agent, res, csrf: res.body.csrfToken as string };
}

describe.each(engines)('two-factor login on %s', (engine) => {
  let h: Harness;
  let admin: Tech;

  beforeAll(async () => {
    h = await startHarness(engine);
    admin = await h.login('admin', ADMIN_PASSWORD);
  });
  afterAll(async () => h?.close());

  async function enrol(tech: Tech): Promise<{ secret: string; recoveryCodes: string[] }> {
    const setup = (await tech.post('/api/v1/me/2fa/setup').expect(200)).body;
    expect(setup.uri).toMatch(/^otpauth:\/\/totp\/Helpdesk:/);
    expect(setup.qr).toMatch(/^data:image\/png;base64,/);
    // The secret waits for its first code in the session store sealed, never in the clear.
    const sessions = (await h.server.db('web_sessions').select('data')) as { data: string }[];
    expect(sessions.some((r) => String(r.data).includes('enrolSecret'))).toBe(true);
    expect(sessions.some((r) => String(r.data).includes(setup.secret))).toBe(false);
    const wrong = await tech.post('/api/v1/me/2fa/enable', { code: '000000' === (await codeAt(setup.secret, now())) ? '111111' : '000000' });
    expect(wrong.status).toBe(400);
    const enabled = (await tech.post('/api/v1/me/2fa/enable', { code: await codeAt(setup.secret, now()) }).expect(200)).body;
    expect(enabled.recoveryCodes).toHaveLength(10);
    return { secret: setup.secret, recoveryCodes: enabled.recoveryCodes };
  }

  it('asks for a code after the password; a code works once; recovery codes work once each', async () => {
    const tech = await h.createTechnician(admin, `ivy${engine}`);
    const { secret, recoveryCodes } = await enrol(tech);
    const password = `ivy${engine}-password-123`;

    const first = await passwordStep(h.server.url, `ivy${engine}`, password);
    expect(first.res.status).toBe(200);
    expect(first.res.body).toMatchObject({ twoFactorRequired: true, technician: null });
    await first.agent.get('/api/v1/me').expect(401); // the password alone is not a login
    const bad = await first.agent.post('/auth/2fa').set('x-csrf-token', first.csrf).send({ code: '12345x' });
    expect(bad.status).toBe(401);
    const code = await codeAt(secret, now() + 30); // the next step's code: inside the tolerance, not used yet
    const ok = await first.agent.post('/auth/2fa').set('x-csrf-token', first.csrf).send({ code });
    expect(ok.status).toBe(200);
    expect(ok.body.technician.username).toBe(`ivy${engine}`);
    await first.agent.get('/api/v1/me').expect(200);

    const replay = await passwordStep(h.server.url, `ivy${engine}`, password);
    const replayed = await replay.agent.post('/auth/2fa').set('x-csrf-token', replay.csrf).send({ code });
    expect(replayed.status).toBe(401);
    const recovered = await replay.agent.post('/auth/2fa').set('x-csrf-token', replay.csrf).send({ code: recoveryCodes[0] });
    expect(recovered.status).toBe(200);

    const again = await passwordStep(h.server.url, `ivy${engine}`, password);
    expect((await again.agent.post('/auth/2fa').set('x-csrf-token', again.csrf).send({ code: recoveryCodes[0] })).status).toBe(401);
    const audit = (await admin.get(`/api/v1/audit?action=login.succeeded`).expect(200)).body;
    expect(JSON.stringify(audit)).toContain('recovery');
  });

  it('an administrator resets a lost device: the account\'s sessions end and the password alone logs in again, audited', async () => {
    const tech = await h.createTechnician(admin, `jon${engine}`);
    await enrol(tech);
    await admin.post(`/api/v1/technicians/${tech.id}/2fa/reset`, {}).expect(200);
    await tech.get('/api/v1/me').expect(401);
    const back = await passwordStep(h.server.url, `jon${engine}`, `jon${engine}-password-123`);
    expect(back.res.body.technician).toMatchObject({ username: `jon${engine}`, twoFactor: { enabled: false } });
    const audit = (await admin.get(`/api/v1/audit?action=technician.2fa_reset`).expect(200)).body;
    expect(JSON.stringify(audit)).toContain('technician.2fa_reset');
  });

  it('the login page asks for the code in a second step', async () => {
    const tech = await h.createTechnician(admin, `kay${engine}`);
    const { secret } = await enrol(tech);
    const agent = request.agent(h.server.url);
    const page = await agent.get('/login').expect(200);
    const csrf = /name="_csrf" value="([^"]+)"/.exec(page.text)![1]!;
    const step = await agent.post('/login').type('form').send({ _csrf: csrf, username: `kay${engine}`, password: `kay${engine}-password-123`, next: '/queue' });
    expect(step.status).toBe(200);
    expect(step.text).toContain('action="/login/2fa"');
    const csrf2 = /name="_csrf" value="([^"]+)"/.exec(step.text)![1]!;
    const wrong = await agent.post('/login/2fa').type('form').send({ _csrf: csrf2, code: '999999' === (await codeAt(secret, now())) ? '888888' : '999999', next: '/queue' });
    expect(wrong.status).toBe(401);
    expect(wrong.text).toContain('That code is not valid');
    // The code that confirmed the enrolment is spent: the next one (inside the tolerance) logs in.
    const done = await agent.post('/login/2fa').type('form').send({ _csrf: csrf2, code: await codeAt(secret, now() + 30), next: '/queue' });
    expect(done.status).toBe(303);
    expect(done.headers.location).toBe('/queue');
    await agent.get('/queue').expect(200);
  });
});

describe('REQUIRE_2FA', () => {
  it('admins: an administrator without two-factor login may only set it up; technicians are not asked', async () => {
    const h = await startHarness('sqlite', { REQUIRE_2FA: 'admins' });
    try {
      const admin = await h.login('admin', ADMIN_PASSWORD);
      expect((await admin.get('/api/v1/me').expect(200)).body.technician.twoFactor).toEqual({ enabled: false, required: true });
      const refused = await admin.get('/api/v1/tickets/queue');
      expect(refused.status).toBe(403);
      expect(refused.body.error.code).toBe('TWO_FACTOR_REQUIRED');
      const page = await admin.agent.get('/queue');
      expect(page.status).toBe(303);
      expect(page.headers.location).toBe('/profile');
      const setup = (await admin.post('/api/v1/me/2fa/setup').expect(200)).body;
      await admin.post('/api/v1/me/2fa/enable', { code: await codeAt(setup.secret, now()) }).expect(200);
      await admin.get('/api/v1/tickets/queue').expect(200);
      // Required: the owner cannot turn it off.
      expect((await admin.post('/api/v1/me/2fa/disable', { password: ADMIN_PASSWORD })).status).toBe(403);
    } finally {
      await h.close();
    }
  });
});
