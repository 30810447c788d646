// The secrets key ring's settings: SECRETS_KEY checked with the rest of the
// configuration; SECRETS_KEY_FILE read, or created once (0700 directory, 0600
// file, said in the log); malformed or unreadable refused in words naming the
// setting, the key never repeated.
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { newKeyRingSpec } from '../../lib/sealed.ts';
import { ConfigError, loadConfig } from '../config.ts';
import { loadSecretsKeyRing } from './key-ring.ts';

/** A logger that keeps what it was told. */
function recordingLogger() {
  const lines: { level: number; msg: string }[] = [];
  const logger = pino({ level: 'info' }, { write: (line: string) => void lines.push(JSON.parse(line) as { level: number; msg: string }) });
  return { logger, lines };
}

const refusal = (run: () => unknown): ConfigError => {
  try {
    run();
  } catch (err) {
    if (err instanceof ConfigError) return err;
    throw err;
  }
  throw new Error('not refused');
};

describe('secrets key ring', () => {
  it('SECRETS_KEY: parsed with the configuration; a malformed one is refused naming it, its value hidden', () => {
    const spec = newKeyRingSpec('k1');
    const config = loadConfig({ SECRETS_KEY: spec });
    expect(config.secrets).toEqual({ keyRing: spec, keyFile: './data/keys/secrets.key' });
    const { logger, lines } = recordingLogger();
    const loaded = loadSecretsKeyRing({ keyRing: spec, keyFile: join(tmpdir(), 'never-read', 'secrets.key') }, logger);
    expect(loaded).toMatchObject({ source: 'SECRETS_KEY', ring: { current: { id: 'k1' } } });
    expect(lines).toEqual([]);

    const key = spec.slice(3);
    for (const bad of [key, `k1:${key.slice(0, 12)}`, `k1:${key},k1:${key}`]) {
      const problems = refusal(() => loadConfig({ SECRETS_KEY: bad, PORT: 'eighty' })).problems.join('\n');
      expect(problems).toMatch(/^SECRETS_KEY: /m);
      expect(problems).toMatch(/PORT/); // with every other bad setting, in one error
      expect(problems).not.toContain(key.slice(0, 8));
    }
  });

  it('SECRETS_KEY_FILE: created on the first start (0700, 0600), said once; read back on the next', () => {
    const dir = mkdtempSync(join(tmpdir(), 'hd-keys-'));
    const file = join(dir, 'keys', 'secrets.key');
    const { logger, lines } = recordingLogger();
    const first = loadSecretsKeyRing({ keyRing: null, keyFile: file }, logger);
    expect(first.source).toBe(`SECRETS_KEY_FILE (${file})`);
    expect(statSync(join(dir, 'keys')).mode & 0o777).toBe(0o700);
    expect(statSync(file).mode & 0o777).toBe(0o600);
    expect(readFileSync(file, 'utf8')).toMatch(/^k\d{8}:[A-Za-z0-9+/]{43}=\n$/);
    expect(lines.filter((l) => /SECRETS_KEY_FILE did not exist: created it/.test(l.msg))).toHaveLength(1);
    const second = loadSecretsKeyRing({ keyRing: null, keyFile: file }, logger);
    expect(second.ring.current.key.equals(first.ring.current.key)).toBe(true);
    expect(lines).toHaveLength(1);
  });

  it('SECRETS_KEY_FILE: a ring of several keys is read as SECRETS_KEY is; malformed or unreadable stops the start naming it', () => {
    const dir = mkdtempSync(join(tmpdir(), 'hd-keys-'));
    const { logger } = recordingLogger();
    const file = join(dir, 'secrets.key');
    writeFileSync(file, `${newKeyRingSpec('new')},\n${newKeyRingSpec('old')}\n`, { mode: 0o600 });
    expect([...loadSecretsKeyRing({ keyRing: null, keyFile: file }, logger).ring.keys.keys()]).toEqual(['new', 'old']);

    writeFileSync(file, 'k1:not-a-key\n');
    expect(refusal(() => loadSecretsKeyRing({ keyRing: null, keyFile: file }, logger)).message).toMatch(/SECRETS_KEY_FILE \(.*secrets\.key\): key "k1" is \d+ bytes/);
    writeFileSync(file, '\n');
    expect(refusal(() => loadSecretsKeyRing({ keyRing: null, keyFile: file }, logger)).message).toMatch(/SECRETS_KEY_FILE \(.*\): no key given/);

    const isDirectory = join(dir, 'a-directory');
    mkdirSync(isDirectory);
    expect(refusal(() => loadSecretsKeyRing({ keyRing: null, keyFile: isDirectory }, logger)).message).toMatch(/SECRETS_KEY_FILE \(.*a-directory\): cannot be read \(EISDIR\)/);

    if (process.getuid?.() !== 0) {
      const locked = join(dir, 'locked');
      mkdirSync(locked, { mode: 0o700 });
      chmodSync(locked, 0o500);
      expect(refusal(() => loadSecretsKeyRing({ keyRing: null, keyFile: join(locked, 'keys', 'secrets.key') }, logger)).message).toMatch(/SECRETS_KEY_FILE \(.*\): does not exist and cannot be created \(EACCES\)/);
    }
  });
});
