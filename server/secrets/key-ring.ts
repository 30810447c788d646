// The key ring that seals secrets kept in the database (lib/sealed.ts):
// SECRETS_KEY when it is set, else the file SECRETS_KEY_FILE — created with a
// new random key on the first start (directory 0700, file 0600), which the log
// says once. A malformed ring or a file that cannot be read stops the start
// in words naming the setting.
import { linkSync, mkdirSync, readFileSync, unlinkSync, writeFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import type { Logger } from '../../lib/logger.ts';
import { newKeyRingSpec, parseKeyRing, type KeyRing } from '../../lib/sealed.ts';
import { ConfigError, type Config } from '../config.ts';

export interface SecretsKeyRing {
  ring: KeyRing;
  /** Where the ring came from, for words: "SECRETS_KEY" or "SECRETS_KEY_FILE (<path>)". */
  source: string;
}

export function loadSecretsKeyRing(settings: Config['secrets'], logger: Logger): SecretsKeyRing {
  if (settings.keyRing !== null) return { ring: parse(settings.keyRing, 'SECRETS_KEY'), source: 'SECRETS_KEY' };
  const file = resolve(settings.keyFile);
  const source = `SECRETS_KEY_FILE (${file})`;
  let spec = readKeyFile(file, source);
  if (spec === null) {
    if (createKeyFile(file, source)) {
      logger.warn({ file }, 'SECRETS_KEY_FILE did not exist: created it with a new key. Back it up with the database; without it, the TOTP secrets sealed with it cannot be opened');
    }
    // Read back what is there now (another server starting at the same moment may have written it first).
    spec = readKeyFile(file, source);
  }
  if (spec === null) throw new ConfigError([`${source}: the file vanished while it was being created`]);
  return { ring: parse(spec, source), source };
}

function parse(spec: string, source: string): KeyRing {
  try {
    return parseKeyRing(spec, source);
  } catch (err) {
    throw new ConfigError([(err as Error).message]);
  }
}

/** The file's text, or null when it does not exist. */
function readKeyFile(file: string, source: string): string | null {
  try {
    return readFileSync(file, 'utf8').trim();
  } catch (err) {
    if (codeOf(err) === 'ENOENT') return null;
    throw new ConfigError([`${source}: cannot be read (${codeOf(err) ?? (err as Error).message}); the server needs its key ring to open the secrets sealed in the database`]);
  }
}

/** Writes a new ring to a file that must not exist yet; false when another process wrote it first. */
function createKeyFile(file: string, source: string): boolean {
  try {
    mkdirSync(dirname(file), { recursive: true, mode: 0o700 });
    // Written whole beside it, then linked in place: a reader never sees half a file, and link refuses to replace one.
    const partial = `${file}.${process.pid}.new`;
    writeFileSync(partial, `${newKeyRingSpec()}\n`, { mode: 0o600, flag: 'wx' });
    try {
      linkSync(partial, file);
    } finally {
      unlinkSync(partial);
    }
    return true;
  } catch (err) {
    if (codeOf(err) === 'EEXIST') return false;
    throw new ConfigError([`${source}: does not exist and cannot be created (${codeOf(err) ?? (err as Error).message}); create it, or set SECRETS_KEY`]);
  }
}

function codeOf(err: unknown): string | undefined {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === 'string' ? code : undefined;
}
