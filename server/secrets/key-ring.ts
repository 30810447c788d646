// The key ring that seals secrets kept in the database (lib/sealed.ts):
// SECRETS_KEY when it is set, else the file SECRETS_KEY_FILE — created with a
// new random key on the first start (directory 0700, file 0600;
// lib/key-ring-file.ts), which the log says once. A malformed ring or a file
// that cannot be read stops the start in words naming the setting.
import type { Logger } from '../../lib/logger.ts';
import { loadKeyRing } from '../../lib/key-ring-file.ts';
import type { KeyRing } from '../../lib/sealed.ts';
import { ConfigError, type Config } from '../config.ts';

export interface SecretsKeyRing {
  ring: KeyRing;
  /** Where the ring came from, for words: "SECRETS_KEY" or "SECRETS_KEY_FILE (<path>)". */
  source: string;
}

export function loadSecretsKeyRing(settings: Config['secrets'], logger: Logger): SecretsKeyRing {
  let loaded;
  try {
    loaded = loadKeyRing({ spec: settings.keyRing, setting: 'SECRETS_KEY', file: settings.keyFile, fileSetting: 'SECRETS_KEY_FILE', protects: 'the TOTP secrets sealed in the database' });
  } catch (err) {
    throw new ConfigError([(err as Error).message]);
  }
  if (loaded.created) {
    logger.warn({ source: loaded.source }, 'SECRETS_KEY_FILE did not exist: created it with a new key. Back it up with the database; without it, the TOTP secrets sealed with it cannot be opened');
  }
  return { ring: loaded.ring, source: loaded.source };
}
