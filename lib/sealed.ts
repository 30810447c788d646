// Sealing at rest with AES-256-GCM: one key ring, one way to seal a block of
// bytes (recordings) or a short string (secrets in the database).
//
// A key ring is written `<id>:<base64 of 32 bytes>[,<id>:<key>…]`: the first
// key seals, every key opens. Rotation: put a new key first, keep the old
// ones after it until nothing sealed with them is left. A sealed thing names
// its key's id, so an old key still opens what it sealed.
import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';

export const KEY_BYTES = 32;
export const IV_BYTES = 12;
export const TAG_BYTES = 16;
const KEY_ID = /^[A-Za-z0-9_.-]{1,32}$/;
const SEALED_PREFIX = 'sealed:v1:';

export interface KeyRing {
  /** The key that seals. */
  readonly current: { readonly id: string; readonly key: Buffer };
  /** Every key by id (the current one too). */
  readonly keys: ReadonlyMap<string, Buffer>;
}

/** Parses a key ring; throws in words naming `setting` when it is malformed. */
export function parseKeyRing(spec: string, setting: string): KeyRing {
  const keys = new Map<string, Buffer>();
  let current: KeyRing['current'] | null = null;
  for (const [n, part] of spec.split(',').map((p) => p.trim()).filter(Boolean).entries()) {
    const colon = part.indexOf(':');
    const id = colon > 0 ? part.slice(0, colon) : '';
    // The words never repeat the text: a key written without its id would be printed.
    if (!KEY_ID.test(id)) throw new Error(`${setting}: each key is "<id>:<base64 key>", the id 1–32 of A–Z a–z 0–9 _ . - (key ${n + 1} ${colon > 0 ? 'has an id of other characters or longer' : 'has no id before a colon'})`);
    const key = Buffer.from(part.slice(colon + 1), 'base64');
    if (key.length !== KEY_BYTES) throw new Error(`${setting}: key "${id}" is ${key.length} bytes; AES-256 needs ${KEY_BYTES} (base64 of 32 random bytes: openssl rand -base64 32)`);
    if (keys.has(id)) throw new Error(`${setting}: key id "${id}" appears twice`);
    keys.set(id, key);
    current ??= { id, key };
  }
  if (!current) throw new Error(`${setting}: no key given`);
  return { current, keys };
}

/** A new key ring's text with one random key (what a key file holds). */
export function newKeyRingSpec(id = `k${new Date().toISOString().slice(0, 10).replaceAll('-', '')}`): string {
  return `${id}:${randomBytes(KEY_BYTES).toString('base64')}`;
}

/** iv | ciphertext | tag of `plain`, with `aad` bound to it. */
export function sealBytes(key: Buffer, plain: Buffer, aad: Buffer): Buffer {
  const iv = randomBytes(IV_BYTES);
  const cipher = createCipheriv('aes-256-gcm', key, iv);
  cipher.setAAD(aad);
  const body = cipher.update(plain);
  const rest = cipher.final();
  return Buffer.concat([iv, body, rest, cipher.getAuthTag()]);
}

/** Opens what `sealBytes` made; throws when the key is wrong or a byte was changed. */
export function openBytes(key: Buffer, sealed: Buffer, aad: Buffer): Buffer {
  if (sealed.length < IV_BYTES + TAG_BYTES) throw new Error('sealed bytes too short');
  const decipher = createDecipheriv('aes-256-gcm', key, sealed.subarray(0, IV_BYTES));
  decipher.setAAD(aad);
  decipher.setAuthTag(sealed.subarray(sealed.length - TAG_BYTES));
  return Buffer.concat([decipher.update(sealed.subarray(IV_BYTES, sealed.length - TAG_BYTES)), decipher.final()]);
}

/** `sealed:v1:<keyId>:<base64>` of a string; `purpose` is bound to it (a secret sealed for one column does not open as another). */
export function sealString(ring: KeyRing, plain: string, purpose: string): string {
  const sealed = sealBytes(ring.current.key, Buffer.from(plain, 'utf8'), Buffer.from(purpose, 'utf8'));
  return `${SEALED_PREFIX}${ring.current.id}:${sealed.toString('base64')}`;
}

export function isSealedString(value: string): boolean {
  return value.startsWith(SEALED_PREFIX);
}

/** The key id a sealed string names (null when it is not sealed). */
export function sealedKeyId(value: string): string | null {
  if (!isSealedString(value)) return null;
  const rest = value.slice(SEALED_PREFIX.length);
  return rest.slice(0, Math.max(0, rest.indexOf(':')));
}

/** Opens a sealed string; throws in words when its key is not in the ring or it was changed. */
export function openString(ring: KeyRing, value: string, purpose: string): string {
  const id = sealedKeyId(value);
  if (id === null) throw new Error('not a sealed value');
  const key = ring.keys.get(id);
  if (!key) throw new Error(`sealed with key "${id}", which the key ring does not hold`);
  const sealed = Buffer.from(value.slice(SEALED_PREFIX.length + id.length + 1), 'base64');
  return openBytes(key, sealed, Buffer.from(purpose, 'utf8')).toString('utf8');
}
