// Where a key ring comes from (lib/sealed.ts): a setting holding it, else a
// file — created with a new random key on the first start (directory 0700,
// file 0600). A malformed ring or a file that cannot be read is an error in
// words naming the setting.
import { linkSync, mkdirSync, readFileSync, unlinkSync, writeFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { newKeyRingSpec, parseKeyRing, type KeyRing } from './sealed.ts';

export interface KeyRingSource {
  /** The ring as given in a setting, or null to use the file. */
  spec: string | null;
  /** The setting's name, e.g. "RECORDING_KEY". */
  setting: string;
  file: string;
  /** The file setting's name, e.g. "RECORDING_KEY_FILE". */
  fileSetting: string;
  /** What the key opens, for the words when the file cannot be made: "the recordings". */
  protects: string;
}

export interface LoadedKeyRing {
  ring: KeyRing;
  /** Where it came from, for words: "RECORDING_KEY" or "RECORDING_KEY_FILE (<path>)". */
  source: string;
  /** The file was created just now (the caller says so once, in its log). */
  created: boolean;
}

export function loadKeyRing(from: KeyRingSource): LoadedKeyRing {
  if (from.spec !== null) return { ring: parseKeyRing(from.spec, from.setting), source: from.setting, created: false };
  const file = resolve(from.file);
  const source = `${from.fileSetting} (${file})`;
  let spec = readKeyFile(file, source, from);
  let created = false;
  if (spec === null) {
    created = createKeyFile(file, source, from);
    // Read back what is there now (another process starting at the same moment may have written it first).
    spec = readKeyFile(file, source, from);
  }
  if (spec === null) throw new Error(`${source}: the file vanished while it was being created`);
  return { ring: parseKeyRing(spec, source), source, created };
}

/** The file's text, or null when it does not exist. */
function readKeyFile(file: string, source: string, from: KeyRingSource): string | null {
  try {
    return readFileSync(file, 'utf8').trim();
  } catch (err) {
    if (codeOf(err) === 'ENOENT') return null;
    throw new Error(`${source}: cannot be read (${codeOf(err) ?? (err as Error).message}); it holds the key that opens ${from.protects}`);
  }
}

/** Writes a new ring to a file that must not exist yet; false when another process wrote it first. */
function createKeyFile(file: string, source: string, from: KeyRingSource): boolean {
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
    throw new Error(`${source}: does not exist and cannot be created (${codeOf(err) ?? (err as Error).message}); create it, or set ${from.setting}`);
  }
}

function codeOf(err: unknown): string | undefined {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === 'string' ? code : undefined;
}
