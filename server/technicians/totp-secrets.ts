// TOTP secrets at rest: technicians.totp_secret holds the secret sealed with
// the secrets key ring (lib/sealed.ts, SECRETS_KEY), bound to its column.
// At start, every secret still in plaintext (written before secrets were
// sealed) or sealed with a key that is no longer the first of the ring is
// sealed again with the first, in one transaction. A secret that the ring
// cannot open stops the start in words: 2FA is never lost without a word.
import type { Knex } from 'knex';
import type { Logger } from '../../lib/logger.ts';
import { isSealedString, openString, sealString, sealedKeyId, type KeyRing } from '../../lib/sealed.ts';
import { ConfigError } from '../config.ts';

/** What a sealed TOTP secret is bound to: it opens as nothing else. */
export const TOTP_PURPOSE = 'technicians.totp_secret';
/** What a secret waiting in a web session for its first code is bound to (with the technician's id). */
const ENROLMENT_PURPOSE = 'web_sessions.totp_enrolment';

export interface TotpSecrets {
  /** The column's value for a secret. */
  seal(secret: string): string;
  /** The secret in a column's value (a plaintext one, from a server older than sealing sharing the database, as it is). */
  open(stored: string): string;
  /** A secret being enrolled, sealed for the web session that waits for its first code (bound to the technician). */
  sealPending(secret: string, technicianId: number): string;
  /** The secret in a pending value; throws when it is not one sealed for this technician. */
  openPending(pending: string, technicianId: number): string;
}

export function totpSecrets(ring: KeyRing | undefined): TotpSecrets {
  const need = (): KeyRing => {
    if (!ring) throw new Error('TOTP secrets need the secrets key ring (SECRETS_KEY), which this process was not given');
    return ring;
  };
  return {
    seal: (secret) => sealString(need(), secret, TOTP_PURPOSE),
    open: (stored) => (isSealedString(stored) ? openString(need(), stored, TOTP_PURPOSE) : stored),
    sealPending: (secret, id) => sealString(need(), secret, `${ENROLMENT_PURPOSE}:${id}`),
    openPending: (pending, id) => openString(need(), pending, `${ENROLMENT_PURPOSE}:${id}`),
  };
}

/**
 * Seals every TOTP secret in plaintext, and seals again those sealed with an
 * older key of the ring. Refuses (ConfigError, nothing written) when a secret
 * names a key the ring does not hold, or does not open with the key it names.
 * `source` names where the ring came from, for the words.
 */
export async function sealTotpSecrets(db: Knex, ring: KeyRing, source: string, logger: Logger): Promise<{ sealed: number; resealed: number }> {
  const counts = await db.transaction(async (trx) => {
    const rows = (await trx('technicians').whereNotNull('totp_secret').select('id', 'username', 'totp_secret')) as { id: number; username: string; totp_secret: string }[];
    const problems: string[] = [];
    const changes: { id: number; from: string; to: string; plaintext: boolean }[] = [];
    for (const row of rows) {
      const who = `The TOTP secret of technician "${row.username}" (id ${row.id})`;
      const keyId = sealedKeyId(row.totp_secret);
      if (keyId === null) {
        changes.push({ id: row.id, from: row.totp_secret, to: sealString(ring, row.totp_secret, TOTP_PURPOSE), plaintext: true });
        continue;
      }
      if (!ring.keys.has(keyId)) {
        problems.push(`${who} was sealed with key "${keyId}", which ${source} does not hold. Put that key back in the ring (after the current one), or clear that account's two-factor login: npm run technicians -- reset-2fa ${row.username}`);
        continue;
      }
      let secret: string;
      try {
        secret = openString(ring, row.totp_secret, TOTP_PURPOSE);
      } catch {
        problems.push(`${who} does not open with key "${keyId}": the key of that id in ${source} is not the one it was sealed with, or the value was changed. Put the right key back, or clear that account's two-factor login: npm run technicians -- reset-2fa ${row.username}`);
        continue;
      }
      if (keyId !== ring.current.id) changes.push({ id: row.id, from: row.totp_secret, to: sealString(ring, secret, TOTP_PURPOSE), plaintext: false });
    }
    if (problems.length) throw new ConfigError(problems);
    let sealed = 0;
    let resealed = 0;
    for (const change of changes) {
      // Only if it is still what was read: a server starting at the same moment may have sealed it already.
      const n = await trx('technicians').where({ id: change.id, totp_secret: change.from }).update({ totp_secret: change.to });
      if (n === 1 && change.plaintext) sealed++;
      else if (n === 1) resealed++;
    }
    return { sealed, resealed };
  });
  if (counts.sealed || counts.resealed) {
    logger.info({ ...counts, key: ring.current.id }, `TOTP secrets: sealed ${counts.sealed} kept in plaintext, sealed again ${counts.resealed} sealed with an older key, with key "${ring.current.id}"`);
  }
  return counts;
}
