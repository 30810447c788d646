// LDAP sign-in against a real directory (Debian's slapd, started by the test
// on a loopback port with a small LDIF), through the real server's login, on
// each engine: search then bind, groups to roles, wrong passwords and filter
// characters refused, a local account keeps its name, REQUIRE_2FA leaves
// directory accounts alone, the session (and its live stream) ends at
// SSO_SESSION_MAX_MS, and a directory that is down or hangs is a refusal in
// words within LDAP_TIMEOUT_MS.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import request from 'supertest';
import { engines } from '../../test/databases.ts';
import { ADMIN_PASSWORD, openSse, startHarness, type Harness } from '../../test/server-harness.ts';
import { startSlapd, type Slapd } from '../../test/slapd.ts';

const TIMEOUT_MS = 1_500;

describe.each(engines)('LDAP sign-in against slapd, on %s', (engine) => {
  let h: Harness;
  let slapd: Slapd;

  beforeAll(async () => {
    slapd = await startSlapd([
      { uid: 'alice', cn: 'Alice Admin', password: 'alice-directory-pw', mail: 'alice@helpdesk.test', groups: ['admins'] },
      { uid: 'bob', cn: 'Bob Tech', password: 'bob-directory-pw', groups: ['technicians'] },
      { uid: 'carol', cn: 'Carol Nogroup', password: 'carol-directory-pw', groups: [] },
      { uid: 'dave', cn: 'Dave Directory', password: 'dave-directory-pw', groups: ['admins'] },
    ]);
    h = await startHarness(engine, { ...slapd.env, LDAP_TIMEOUT_MS: String(TIMEOUT_MS), SSO_SESSION_MAX_MS: '60000', REQUIRE_2FA: 'all' });
  }, 60_000);
  afterAll(async () => {
    await h?.close();
    slapd?.resume();
    await slapd?.stop();
    slapd?.remove();
  });

  async function signIn(username: string, password: string, language = 'en') {
    const agent = request.agent(h.server.url);
    const probe = await agent.get('/auth/session').expect(200);
    const res = await agent.post('/auth/login').set('x-csrf-token', probe.body.csrfToken).set('accept-language', language).send({ username, password });
    return { agent, res, csrf: (res.body.csrfToken ?? probe.body.csrfToken) as string };
  }

  it('a directory user signs in (search, then bind as the user); the group gives the role; the account is made once and linked', async () => {
    const alice = await signIn('Alice', 'alice-directory-pw');
    expect(alice.res.status).toBe(200);
    expect(alice.res.body.technician).toMatchObject({ username: 'alice', displayName: 'Alice Admin', email: 'alice@helpdesk.test', role: 'admin', source: 'ldap', lastLoginMethod: 'ldap' });
    // REQUIRE_2FA=all is for local accounts: the directory's account is not asked to enrol.
    expect(alice.res.body.technician.twoFactor.required).toBe(false);
    const list = await alice.agent.get('/api/v1/technicians').expect(200);
    expect(list.body.technicians.find((t: { username: string }) => t.username === 'alice')).toMatchObject({ source: 'ldap' });

    const bob = await signIn('bob', 'bob-directory-pw');
    expect(bob.res.body.technician).toMatchObject({ username: 'bob', role: 'technician', source: 'ldap' });
    const again = await signIn('bob', 'bob-directory-pw');
    expect(again.res.body.technician.id).toBe(bob.res.body.technician.id);
    expect(await h.server.db('technician_identities').where({ source: 'ldap', subject: 'bob' }).count({ n: '*' }).first()).toMatchObject({ n: 1 });

    const audit = await alice.agent.get('/api/v1/audit?action=login.succeeded').expect(200);
    expect(JSON.stringify(audit.body)).toContain('"method":"ldap"');
  });

  it('a wrong password, an unknown user and filter characters are refused; a member of neither group is refused in words', async () => {
    expect((await signIn('alice', 'not-her-password')).res.body.error.code).toBe('LOGIN_FAILED');
    expect((await signIn('nobody', 'whatever-password')).res.body.error.code).toBe('LOGIN_FAILED');
    // "*" escaped is a literal asterisk, no wildcard matching alice.
    expect((await signIn('*', 'alice-directory-pw')).res.status).toBe(401);
    expect((await signIn('ali*', 'alice-directory-pw')).res.status).toBe(401);
    const carol = await signIn('carol', 'carol-directory-pw');
    expect(carol.res.status).toBe(403);
    expect(carol.res.body.error).toMatchObject({ code: 'SSO_NOT_IN_GROUP' });
    expect(carol.res.body.error.message).toMatch(/neither LDAP_ADMIN_GROUP nor LDAP_TECHNICIAN_GROUP/);
    const carolEs = await signIn('carol', 'carol-directory-pw', 'es');
    expect(carolEs.res.body.error.message).toBe('Su cuenta del directorio no está en ningún grupo autorizado a entrar aquí: consulte a un administrador.');
    const failed = await h.server.db('audit_events').where({ action: 'login.failed' }).select('detail');
    expect(failed.map((r: { detail: string }) => JSON.parse(r.detail).reason)).toEqual(expect.arrayContaining(['wrong_password', 'unknown_user', 'not_in_group']));
  });

  it('a local account keeps its username: the directory\'s password for that name is refused, the local one works', async () => {
    // The break-glass administrator is local; so is a technician an administrator made by hand.
    const admin = await signIn('admin', ADMIN_PASSWORD);
    expect(admin.res.body.technician.source).toBe('local');
    const made = await h.server.db('technicians').insert({ username: 'dave', display_name: 'Dave Local', email: '', role: 'technician', active: true, password_hash: (await h.server.db('technicians').where({ username: 'admin' }).first()).password_hash, failed_logins: 0, password_changed_at: Date.now(), created_at: Date.now(), updated_at: Date.now() });
    expect(made).toBeTruthy();
    expect((await signIn('dave', 'dave-directory-pw')).res.status).toBe(401);
    const local = await signIn('dave', ADMIN_PASSWORD);
    expect(local.res.body.technician).toMatchObject({ username: 'dave', source: 'local', role: 'technician' });
  });

  it('a directory session ends at SSO_SESSION_MAX_MS however active it is', async () => {
    const bob = await signIn('bob', 'bob-directory-pw');
    await bob.agent.get('/api/v1/me').expect(200);
    h.clock.advance(30_000);
    await bob.agent.get('/api/v1/me').expect(200);
    h.clock.advance(31_000);
    await bob.agent.get('/api/v1/me').expect(401);
  });

  // The stream's periodic check (every 30 s) reads the session through the store, which no longer finds it: one engine is enough.
  it.runIf(engine === 'sqlite')('a directory session\'s live stream ends with the session at its next check', async () => {
    const bob = await signIn('bob', 'bob-directory-pw');
    const cookie = (bob.res.headers['set-cookie'] as unknown as string[]).map((c) => c.split(';')[0]).join('; ');
    const stream = await openSse(`${h.server.url}/api/v1/events`, { cookie });
    h.clock.advance(61_000);
    await bob.agent.get('/api/v1/me').expect(401);
    expect((await stream.next((event) => event === 'stream-end' || event === 'stream-error', 40_000)).event).toBe('stream-end');
  }, 60_000);

  it('a directory that hangs, or is stopped, is a refusal in words within LDAP_TIMEOUT_MS (not a hang); back up, sign-in works again', async () => {
    slapd.pause();
    let started = Date.now();
    const hung = await signIn('bob', 'bob-directory-pw');
    const hungMs = Date.now() - started;
    slapd.resume();
    expect(hung.res.status).toBe(503);
    expect(hung.res.body.error.code).toBe('SSO_UNAVAILABLE');
    expect(hung.res.body.error.message).toMatch(/LDAP directory .* does not answer right now/);
    expect(hungMs).toBeLessThan(TIMEOUT_MS + 3_000);

    await slapd.stop();
    started = Date.now();
    const down = await signIn('bob', 'bob-directory-pw', 'zh-CN');
    expect(down.res.status).toBe(503);
    expect(down.res.body.error.message).toBe('LDAP 目前没有响应；请稍后再试。');
    expect(Date.now() - started).toBeLessThan(TIMEOUT_MS + 3_000);
    const audit = await h.server.db('audit_events').where({ action: 'login.failed' }).select('detail');
    expect(audit.map((r: { detail: string }) => JSON.parse(r.detail).reason)).toContain('directory_down');

    await slapd.start();
    expect((await signIn('bob', 'bob-directory-pw')).res.status).toBe(200);
  });
});
