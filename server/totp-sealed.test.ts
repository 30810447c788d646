// TOTP secrets sealed at rest (SECRETS_KEY), on each engine, with real codes:
// the row never holds the secret and codes still log in; a secret written in
// plaintext (before sealing) is sealed at the next start; a rotated ring
// opens the old key's secrets and seals them again with the new key; a ring
// that cannot open a secret stops the start in words (and the CLI clears
// that account's two-factor login if the key is truly lost).
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { generate } from 'otplib';
import request from 'supertest';
import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { newKeyRingSpec, parseKeyRing, sealedKeyId } from '../lib/sealed.ts';
import { engines, freshDatabase, type Engine } from '../test/databases.ts';
import { freePort } from '../test/processes.ts';
import { startServerProcess } from '../test/server-process.ts';
import { ADMIN_PASSWORD, startHarness, type Harness } from '../test/server-harness.ts';
import { ConfigError } from './config.ts';
import { sealTotpSecrets } from './technicians/totp-secrets.ts';

const run = promisify(execFile);
const keyA = newKeyRingSpec('a');
const keyB = newKeyRingSpec('b');

interface Enrolled {
  id: number;
  username: string;
  password: string;
  secret: string;
}

const codeFor = (h: Harness, secret: string): Promise<string> => generate({ secret, epoch: Math.floor(h.clock.now() / 1000) });

async function databaseUrl(engine: Engine): Promise<string> {
  const database = await freshDatabase(engine);
  return database.client === 'sqlite' ? `sqlite:${database.filename}` : database.url;
}

/** A technician with two-factor login set up through the API. */
async function enrolled(h: Harness): Promise<Enrolled> {
  const admin = await h.login('admin', ADMIN_PASSWORD);
  const tech = await h.freshTechnician(admin, 'tess');
  const { secret } = (await tech.post('/api/v1/me/2fa/setup').expect(200)).body as { secret: string };
  await tech.post('/api/v1/me/2fa/enable', { code: await codeFor(h, secret) }).expect(200);
  return { id: tech.id, username: tech.username, password: tech.password, secret };
}

const stored = async (h: Harness, id: number): Promise<string> => ((await h.server.db('technicians').where({ id }).first()) as { totp_secret: string }).totp_secret;

/**
 * Logs in with the password and a current code. Each start's clock is moved
 * on by `shiftMs` first (a code's time step works once, and every start
 * reads the same rows): pass a larger shift at each later login.
 */
async function logsInWithCode(h: Harness, who: Enrolled, shiftMs: number): Promise<void> {
  h.clock.advance(shiftMs);
  const agent = request.agent(h.server.url);
  const probe = await agent.get('/auth/session').expect(200);
  const step = await agent.post('/auth/login').set('x-csrf-token', probe.body.csrfToken).send({ username: who.username, password: who.password }).expect(200);
  expect(step.body).toMatchObject({ twoFactorRequired: true, technician: null });
  const done = await agent.post('/auth/2fa').set('x-csrf-token', step.body.csrfToken).send({ code: await codeFor(h, who.secret) });
  expect(done.status).toBe(200);
  expect(done.body.technician.username).toBe(who.username);
}

/** What a start refused says (the harness starts the server as main.ts does). */
async function refusedStart(engine: Engine, url: string, key: string): Promise<string> {
  const error: unknown = await startHarness(engine, { DATABASE_URL: url, SECRETS_KEY: key }).then(
    async (h) => {
      await h.close();
      return null;
    },
    (err: unknown) => err,
  );
  expect(error).toBeInstanceOf(ConfigError);
  return (error as ConfigError).message;
}

describe.each(engines)('TOTP secrets sealed at rest, on %s', (engine) => {
  const start = (url: string, key: string) => startHarness(engine, { DATABASE_URL: url, SECRETS_KEY: key });

  it('enrolment writes the secret sealed (the base32 secret is not in the row); a code logs in', async () => {
    const h = await start(await databaseUrl(engine), keyA);
    try {
      const tess = await enrolled(h);
      const row = await stored(h, tess.id);
      expect(row).not.toContain(tess.secret);
      expect(row).toMatch(/^sealed:v1:a:[A-Za-z0-9+/]+=*$/);
      await logsInWithCode(h, tess, 60_000);
      // What it seals with is said in the log only when something was left to seal.
      const lines: string[] = [];
      const logger = pino({ level: 'info' }, { write: (l: string) => void lines.push(l) });
      expect(await sealTotpSecrets(h.server.db, parseKeyRing(keyA, 'SECRETS_KEY'), 'SECRETS_KEY', logger)).toEqual({ sealed: 0, resealed: 0 });
      expect(lines).toEqual([]);
      await h.server.db('technicians').where({ id: tess.id }).update({ totp_secret: tess.secret });
      expect(await sealTotpSecrets(h.server.db, parseKeyRing(keyA, 'SECRETS_KEY'), 'SECRETS_KEY', logger)).toEqual({ sealed: 1, resealed: 0 });
      expect(lines.join('')).toMatch(/TOTP secrets: sealed 1 kept in plaintext, sealed again 0 sealed with an older key, with key \\"a\\"/);
    } finally {
      await h.close();
    }
  });

  it('a secret in plaintext, as written before sealing, is sealed at the next start, and its code still logs in', async () => {
    const url = await databaseUrl(engine);
    const first = await start(url, keyA);
    const tess = await enrolled(first);
    await first.server.db('technicians').where({ id: tess.id }).update({ totp_secret: tess.secret });
    await first.close();

    const second = await start(url, keyA);
    try {
      const row = await stored(second, tess.id);
      expect(row).not.toContain(tess.secret);
      expect(sealedKeyId(row)).toBe('a');
      await logsInWithCode(second, tess, 60_000);
    } finally {
      await second.close();
    }
  });

  it('key rotation: sealed with A, started with "B,A": the code logs in and the row is sealed again with B; then "B" alone will do', async () => {
    const url = await databaseUrl(engine);
    const first = await start(url, keyA);
    const tess = await enrolled(first);
    expect(sealedKeyId(await stored(first, tess.id))).toBe('a');
    await first.close();

    const rotated = await start(url, `${keyB},${keyA}`);
    try {
      const row = await stored(rotated, tess.id);
      expect(sealedKeyId(row)).toBe('b');
      expect(row).not.toContain(tess.secret);
      await logsInWithCode(rotated, tess, 60_000);
    } finally {
      await rotated.close();
    }
    const withoutA = await start(url, keyB);
    try {
      await logsInWithCode(withoutA, tess, 120_000);
    } finally {
      await withoutA.close();
    }
  });

  it('a ring that cannot open a secret stops the start in words, writing nothing; the CLI clears a lost key\'s account', async () => {
    const url = await databaseUrl(engine);
    const first = await start(url, keyA);
    const tess = await enrolled(first);
    const sealed = await stored(first, tess.id);
    await first.close();

    expect(await refusedStart(engine, url, keyB)).toMatch(new RegExp(`The TOTP secret of technician "${tess.username}" \\(id ${tess.id}\\) was sealed with key "a", which SECRETS_KEY does not hold`));
    // A key of the same id with other bytes (a key file made again) is no better.
    expect(await refusedStart(engine, url, newKeyRingSpec('a'))).toMatch(/does not open with key "a": the key of that id in SECRETS_KEY is not the one it was sealed with/);

    const back = await start(url, keyA); // nothing was written: the right key still opens it
    try {
      expect(await stored(back, tess.id)).toBe(sealed);
      await logsInWithCode(back, tess, 60_000);
    } finally {
      await back.close();
    }

    // The key truly lost: the account's two-factor login is cleared by name, and the start goes on.
    const cleared = await run('npx', ['tsx', 'server/cli.ts', 'reset-2fa', tess.username], { env: { ...process.env, DATABASE_URL: url, ARGON2_MEMORY_KIB: '8192' } });
    expect(cleared.stdout).toContain(`Two-factor login of ${tess.username} cleared`);
    const after = await start(url, keyB);
    try {
      const login = await after.login(tess.username, tess.password);
      expect((await login.get('/api/v1/me').expect(200)).body.technician.twoFactor.enabled).toBe(false);
    } finally {
      await after.close();
    }
  }, 60_000);
});

describe('the server process', () => {
  it('refuses to start with a ring that cannot open a TOTP secret: exit 78, the words on stderr', async () => {
    const url = await databaseUrl('sqlite');
    const first = await startHarness('sqlite', { DATABASE_URL: url, SECRETS_KEY: keyA });
    const tess = await enrolled(first);
    await first.close();
    const refused: unknown = await startServerProcess(await freePort(), url, { SECRETS_KEY: keyB }).then(
      (p) => {
        p.child.kill();
        return null;
      },
      (err: unknown) => err,
    );
    expect(String(refused)).toMatch(new RegExp(`server exited with 78: Invalid configuration:\\s+- The TOTP secret of technician "${tess.username}" .*was sealed with key "a", which SECRETS_KEY does not hold`));
  }, 30_000);
});
