// Password hashing with argon2id (RFC 9106 second recommended option by default).
import argon2 from 'argon2';
import { randomBytes } from 'node:crypto';

export interface PasswordHasher {
  hash(password: string): Promise<string>;
  verify(hash: string, password: string): Promise<boolean>;
}

export function createPasswordHasher(memoryKiB: number): PasswordHasher {
  return {
    hash: (password) => argon2.hash(password, { type: argon2.argon2id, memoryCost: memoryKiB, timeCost: 3, parallelism: 1 }),
    verify: (hash, password) => argon2.verify(hash, password),
  };
}

/** A password people can type: 20 characters from an unambiguous alphabet (~114 bits). */
export function generatePassword(): string {
  const alphabet = 'abcdefghijkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789';
  const bytes = randomBytes(20);
  return Array.from(bytes, (b) => alphabet[b % alphabet.length]).join('');
}
