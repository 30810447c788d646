// The shared helpers: crypto, the named catch handlers, the disk watermark.
import { describe, expect, it } from 'vitest';
import { matchesHash, randomHex, randomToken, sameSecret, sha256 } from './crypto.ts';
import { handledElsewhere, ignoreCodes } from './expected.ts';
import { diskHasRoom, freeDiskBytes } from './disk-room.ts';
import { statfsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

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

describe('lib/disk-room', () => {
  it('measures the file system of a directory, or of its nearest existing parent when it is not made yet', async () => {
    const fs = statfsSync(tmpdir());
    const free = await freeDiskBytes(tmpdir());
    expect(free).toBeGreaterThan(0);
    expect(Math.abs(free - fs.bavail * fs.bsize)).toBeLessThan(1024 ** 3); // other writers move it a little meanwhile
    expect(await freeDiskBytes(join(tmpdir(), 'not', 'made', 'yet'))).toBeGreaterThan(0);
    expect(await diskHasRoom(tmpdir(), 1)).toBe(true);
    expect(await diskHasRoom(tmpdir(), free * 4)).toBe(false); // a watermark above what is free
    expect(await diskHasRoom(tmpdir(), 1, free * 4)).toBe(false); // a write larger than what is free
    expect(await diskHasRoom(join(tmpdir(), 'missing'), 0, Number.MAX_SAFE_INTEGER)).toBe(true); // 0: no watermark
  });
});
