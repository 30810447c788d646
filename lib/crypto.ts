// The few cryptographic helpers the product uses, in one place: a hex SHA-256
// (of tokens and secrets before they are stored), a comparison of secrets that
// takes the same time whatever they hold, and random tokens.
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';

/** SHA-256 of a text (UTF-8) or bytes, as 64 hex digits. */
export function sha256(value: string | Buffer): string {
  return createHash('sha256').update(value).digest('hex');
}

/**
 * Whether a secret someone gave equals the expected one, in time that depends on
 * neither: both are hashed first, so their lengths leak nothing either. An empty
 * or missing given secret never matches.
 */
export function sameSecret(given: string | null | undefined, expected: string): boolean {
  if (!given) return false;
  return timingSafeEqual(createHash('sha256').update(given).digest(), createHash('sha256').update(expected).digest());
}

/** Whether a hex SHA-256 (as stored) is the hash of `given`, compared in constant time. */
export function matchesHash(given: string | null | undefined, storedHex: string | null | undefined): boolean {
  // With no stored hash, a hash of nothing in particular is compared, so both paths take the same time.
  const expected = Buffer.from(storedHex ?? sha256(randomBytes(16)), 'hex');
  const actual = Buffer.from(sha256(given ?? ''), 'hex');
  return Boolean(given) && Boolean(storedHex) && actual.length === expected.length && timingSafeEqual(actual, expected);
}

/** A random token of `bytes` bytes (32 by default: 256 bits), base64url: for URLs, headers and cookies. */
export function randomToken(bytes = 32): string {
  return randomBytes(bytes).toString('base64url');
}

/** `bytes` random bytes as hex (recovery codes and the like). */
export function randomHex(bytes: number): string {
  return randomBytes(bytes).toString('hex');
}
