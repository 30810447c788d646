// lib/sealed.ts: strings sealed with a key ring open only with their key and
// purpose, unchanged; malformed rings are refused in words that name the
// setting and never repeat key material.
import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { isSealedString, newKeyRingSpec, openString, parseKeyRing, sealString, sealedKeyId } from './sealed.ts';

const keyText = () => randomBytes(32).toString('base64');

describe('lib/sealed strings', () => {
  const a = `a:${keyText()}`;
  const b = `b:${keyText()}`;

  it('seals with the first key and opens with any key of the ring', () => {
    const ringA = parseKeyRing(a, 'TEST_KEY');
    const sealed = sealString(ringA, 'JBSWY3DPEHPK3PXP', 'technicians.totp_secret');
    expect(isSealedString(sealed)).toBe(true);
    expect(sealedKeyId(sealed)).toBe('a');
    expect(sealed).not.toContain('JBSWY3DPEHPK3PXP');
    expect(sealString(ringA, 'JBSWY3DPEHPK3PXP', 'technicians.totp_secret')).not.toBe(sealed); // a fresh IV each time
    const rotated = parseKeyRing(`${b}, ${a}`, 'TEST_KEY');
    expect(rotated.current.id).toBe('b');
    expect(openString(rotated, sealed, 'technicians.totp_secret')).toBe('JBSWY3DPEHPK3PXP');
    expect(sealedKeyId(sealString(rotated, 'x', 'p'))).toBe('b');
    expect(isSealedString('JBSWY3DPEHPK3PXP')).toBe(false);
    expect(sealedKeyId('JBSWY3DPEHPK3PXP')).toBeNull();
  });

  it('refuses a changed byte, another purpose, a key it does not hold, and a key of the same id with other bytes', () => {
    const ring = parseKeyRing(a, 'TEST_KEY');
    const sealed = sealString(ring, 'JBSWY3DPEHPK3PXP', 'technicians.totp_secret');
    const body = Buffer.from(sealed.slice('sealed:v1:a:'.length), 'base64');
    for (const at of [0, 14, body.length - 1]) {
      const tampered = Buffer.from(body);
      tampered[at]! ^= 0x01;
      expect(() => openString(ring, `sealed:v1:a:${tampered.toString('base64')}`, 'technicians.totp_secret')).toThrow();
    }
    expect(() => openString(ring, sealed, 'recordings.key')).toThrow();
    expect(() => openString(parseKeyRing(b, 'TEST_KEY'), sealed, 'technicians.totp_secret')).toThrow(/sealed with key "a", which the key ring does not hold/);
    expect(() => openString(parseKeyRing(`a:${keyText()}`, 'TEST_KEY'), sealed, 'technicians.totp_secret')).toThrow();
    expect(() => openString(ring, 'sealed:v1:a:AAAA', 'technicians.totp_secret')).toThrow(/too short/);
    expect(() => openString(ring, 'JBSWY3DPEHPK3PXP', 'technicians.totp_secret')).toThrow(/not a sealed value/);
  });

  it('refuses malformed rings in words naming the setting, without repeating the key', () => {
    const key = keyText();
    const refusals: [string, RegExp][] = [
      ['', /TEST_KEY: no key given/],
      [' , ', /TEST_KEY: no key given/],
      [key, /TEST_KEY: each key is "<id>:<base64 key>".*key 1 has no id/],
      [`a:${key},${key}`, /TEST_KEY: each key is .*key 2 has no id/],
      [`bad id!:${key}`, /TEST_KEY: each key is .*key 1 has an id of other characters/],
      [`${'x'.repeat(33)}:${key}`, /TEST_KEY: each key is/],
      [`a:${key.slice(0, 20)}`, /TEST_KEY: key "a" is 15 bytes; AES-256 needs 32/],
      [`a:${randomBytes(16).toString('base64')}`, /TEST_KEY: key "a" is 16 bytes/],
      [`a:${key},a:${keyText()}`, /TEST_KEY: key id "a" appears twice/],
    ];
    for (const [spec, words] of refusals) {
      let message = '';
      try {
        parseKeyRing(spec, 'TEST_KEY');
      } catch (err) {
        message = (err as Error).message;
      }
      expect(message, `ring ${JSON.stringify(spec)}`).toMatch(words);
      expect(message).not.toContain(key.slice(0, 8));
    }
  });

  it('makes new rings of one random 32-byte key', () => {
    const spec = newKeyRingSpec();
    expect(spec).toMatch(/^k\d{8}:[A-Za-z0-9+/]{43}=$/);
    expect(parseKeyRing(spec, 'X').current.key).toHaveLength(32);
    expect(newKeyRingSpec('k2')).not.toBe(newKeyRingSpec('k2'));
    expect(parseKeyRing(newKeyRingSpec('k2'), 'X').current.id).toBe('k2');
  });
});
