// The shared helpers: crypto and the named catch handlers.
import { describe, expect, it } from 'vitest';
import { matchesHash, randomHex, randomToken, sameSecret, sha256 } from './crypto.ts';
import { handledElsewhere, ignoreCodes } from './expected.ts';

describe('lib/crypto', () => {
  it('hashes, compares secrets of any length, and makes tokens of the size asked', () => {
    expect(sha256('abc')).toBe('ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad');
    expect(sha256(Buffer.from('abc'))).toBe(sha256('abc'));
    expect(sameSecret('s3cret', 's3cret')).toBe(true);
    expect(sameSecret('s3cret', 's3cret-longer')).toBe(false);
    expect(sameSecret('', '')).toBe(false); // nothing given never matches
    expect(sameSecret(undefined, 'x')).toBe(false);
    expect(matchesHash('token', sha256('token'))).toBe(true);
    expect(matchesHash('other', sha256('token'))).toBe(false);
    expect(matchesHash('token', null)).toBe(false);
    expect(matchesHash(null, sha256(''))).toBe(false);
    expect(randomToken()).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(randomToken(48)).toHaveLength(64);
    expect(randomToken()).not.toBe(randomToken());
    expect(randomHex(4)).toMatch(/^[0-9a-f]{8}$/);
  });
});

describe('lib/expected', () => {
  it('lets go of the named codes only', async () => {
    const missing = Object.assign(new Error('gone'), { code: 'ENOENT' });
    const denied = Object.assign(new Error('no'), { code: 'EACCES' });
    await expect(Promise.reject(missing).catch(ignoreCodes('ENOENT'))).resolves.toBeUndefined();
    await expect(Promise.reject(denied).catch(ignoreCodes('ENOENT'))).rejects.toBe(denied);
    await expect(Promise.reject(new Error('plain')).catch(ignoreCodes('ENOENT'))).rejects.toThrow('plain');
    await expect(Promise.reject(new Error('met elsewhere')).catch(handledElsewhere)).resolves.toBeUndefined();
  });
});
