// What a new password may not be, beyond its length (passwordSchema: 10–200
// characters): one everyone tries first (NIST SP 800-63B asks verifiers to
// compare against a list of commonly used values), one character repeated,
// or the account's own username. Applied wherever a password is set: an
// account's creation (the first administrator's too), the owner's change, an
// administrator's reset with a given password, and the CLI.
import { readFileSync } from 'node:fs';
import { AppError } from '../errors.ts';

/** The list, lowercased (common-passwords.txt says where it comes from); read once, on first use. */
let common: Set<string> | null = null;
function commonPasswords(): Set<string> {
  common ??= new Set(
    readFileSync(new URL('./common-passwords.txt', import.meta.url), 'utf8')
      .split('\n')
      .filter((line) => !line.startsWith('#'))
      .flatMap((line) => line.split(' '))
      .filter(Boolean),
  );
  return common;
}

/** Throws PASSWORD_WEAK, in words, when `password` may not be used by the account `username`. */
export function assertPasswordAllowed(password: string, username: string): void {
  const lowered = password.toLowerCase();
  const characters = [...password];
  if (characters.every((c) => c === characters[0])) {
    throw new AppError('PASSWORD_WEAK', 'A password of one character repeated is too easy to guess: choose another', { variant: 'repeated' });
  }
  if (username !== '' && lowered === username.toLowerCase()) {
    throw new AppError('PASSWORD_WEAK', 'The password may not be the username: choose another', { variant: 'username' });
  }
  if (commonPasswords().has(lowered)) {
    throw new AppError('PASSWORD_WEAK', 'This password is too common: it is among the first that anyone guessing would try; choose another', { variant: 'common' });
  }
}
