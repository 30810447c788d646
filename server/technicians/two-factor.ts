// Setting up and clearing two-factor login (TOTP): the owner enrols with a
// code from the app and gets ten one-time recovery codes; the owner turns it
// off with the password (unless REQUIRE_2FA demands it); an administrator
// resets a lost device, which ends the account's sessions. The code step of a
// login is in login.ts.
import type { Knex } from 'knex';
import { generateSecret as generateTotpSecret, generateURI as totpUri, verify as verifyTotp } from 'otplib';
import { AppError } from '../errors.ts';
import type { Clock } from '../clock.ts';
import type { ActorContext } from '../audit/actor.ts';
import { insertAuditEvent } from '../audit/store.ts';
import { randomHex, sha256 } from '../../lib/crypto.ts';
import type { RevocationReason } from '../../protocol/events.ts';
import type { PasswordHasher } from './password.ts';
import { technicianStore as store, toTechnician, type Technician, type TwoFactorRequirement } from './store.ts';
import type { TotpSecrets } from './totp-secrets.ts';

export interface TwoFactorDeps {
  db: Knex;
  clock: Clock;
  hasher: PasswordHasher;
  twoFactor: TwoFactorRequirement;
  /** Seals the secret for its column (totp-secrets.ts). */
  secrets: TotpSecrets;
  get: (id: number) => Promise<Technician>;
  revoke: (technicianId: number, reason: RevocationReason, by: ActorContext) => Promise<void>;
}

/** TOTP codes are counted in steps of this many seconds. */
const TOTP_STEP_S = 30;
/** Recovery codes made at a time. */
const RECOVERY_CODES = 10;

/** Ten fresh one-time codes, `abcd-ef12`. */
function newRecoveryCodes(): string[] {
  return Array.from({ length: RECOVERY_CODES }, () => {
    const raw = randomHex(4);
    return `${raw.slice(0, 4)}-${raw.slice(4)}`;
  });
}

/** The account's recovery codes become `codes` (hashed): the old ones, used or not, are gone. */
async function replaceRecoveryCodes(trx: Knex.Transaction, id: number, codes: string[]): Promise<void> {
  await trx('recovery_codes').where({ technician_id: id }).delete();
  await trx('recovery_codes').insert(codes.map((c) => ({ technician_id: id, code_hash: sha256(c.replace('-', '')), used_at: null })));
}

export function createTwoFactor({ db, clock, hasher, twoFactor, secrets, get, revoke }: TwoFactorDeps) {
  async function clear(id: number, by: ActorContext, action: string): Promise<void> {
    const now = clock.now();
    await db.transaction(async (trx) => {
      await store.update(trx, id, { totp_secret: null, totp_enabled_at: null, totp_last_step: null, updated_at: now });
      await trx('recovery_codes').where({ technician_id: id }).delete();
      await insertAuditEvent(trx, now, by, action, { technicianId: id });
    });
  }

  const pendingSecret = (id: number, pending: string): string | null => {
    try {
      return secrets.openPending(pending, id);
    } catch {
      return null; // another account's, changed, or sealed with a key no longer held: enrolment starts again
    }
  };

  return {
    /** Enrolment, step 1: a new secret (kept by the caller until confirmed) and its otpauth:// URI. */
    /** `pending` is what the web session keeps until a code proves the secret: sealed, never the secret itself. */
    async startTwoFactor(id: number): Promise<{ secret: string; uri: string; pending: string }> {
      const technician = await get(id);
      const secret = generateTotpSecret();
      return { secret, uri: totpUri({ issuer: 'Helpdesk', label: technician.username, secret }), pending: secrets.sealPending(secret, id) };
    },

    /** The secret a pending enrolment holds (to show its QR code again); null when it is not this technician's or cannot be opened. */
    pendingSecret,

    /** Enrolment, step 2: a code from the app proves the secret; returns the recovery codes, shown this once. */
    async confirmTwoFactor(id: number, pending: string, code: string, by: ActorContext): Promise<{ recoveryCodes: string[] }> {
      const secret = pendingSecret(id, pending);
      if (secret === null) throw new AppError('VALIDATION_FAILED', 'This two-factor setup cannot be finished: start it again');
      const epoch = Math.floor(clock.now() / 1000);
      const result = await verifyTotp({ secret, token: code.replace(/\s+/g, ''), epoch, epochTolerance: 30 });
      if (!result.valid) throw new AppError('VALIDATION_FAILED', 'That code does not match: check the time on your phone and type the current code');
      const now = clock.now();
      const recoveryCodes = newRecoveryCodes();
      await db.transaction(async (trx) => {
        await store.update(trx, id, { totp_secret: secrets.seal(secret), totp_enabled_at: now, totp_last_step: Math.floor(epoch / 30) + result.delta, updated_at: now });
        await replaceRecoveryCodes(trx, id, recoveryCodes);
        await insertAuditEvent(trx, now, by, 'technician.2fa_enabled', { technicianId: id });
      });
      return { recoveryCodes };
    },

    /** How many of the account's recovery codes are still unused. */
    async recoveryCodesLeft(id: number): Promise<number> {
      const row = (await db('recovery_codes').where({ technician_id: id }).whereNull('used_at').count({ n: '*' }).first()) as { n: number | string } | undefined;
      return Number(row?.n ?? 0);
    },

    /**
     * New recovery codes, shown once: confirmed by the password or a current
     * code (spent by it, like a login's); the old codes stop working in the
     * same transaction, which the audit row joins.
     */
    async renewRecoveryCodes(id: number, confirm: string, by: ActorContext): Promise<{ recoveryCodes: string[] }> {
      const row = await store.byId(db, id);
      if (!row || row.totp_enabled_at == null || !row.totp_secret) throw new AppError('VALIDATION_FAILED', 'Two-factor login is off: there are no recovery codes to renew');
      const given = confirm.replace(/\s+/g, '');
      let step: number | null = null;
      if (/^\d{6}$/.test(given)) {
        const epoch = Math.floor(clock.now() / 1000);
        const last = row.totp_last_step == null ? undefined : Number(row.totp_last_step);
        const result = await verifyTotp({ secret: secrets.open(row.totp_secret), token: given, epoch, epochTolerance: TOTP_STEP_S, afterTimeStep: last });
        if (result.valid) step = Math.floor(epoch / TOTP_STEP_S) + result.delta;
      }
      if (step === null && !(await hasher.verify(row.password_hash, confirm))) throw new AppError('LOGIN_FAILED', 'The current password or code is not correct');
      const now = clock.now();
      const recoveryCodes = newRecoveryCodes();
      await db.transaction(async (trx) => {
        if (step !== null) {
          // The code is spent here: one conditional update, as at login, so it cannot serve twice.
          const taken = await trx('technicians').where({ id }).andWhere((q) => void q.whereNull('totp_last_step').orWhere('totp_last_step', '<', step)).update({ totp_last_step: step });
          if (taken !== 1) throw new AppError('TOTP_CODE_USED', 'That code was already used: wait for the next code of your authenticator app (a new one every 30 s)');
        }
        await replaceRecoveryCodes(trx, id, recoveryCodes);
        await insertAuditEvent(trx, now, by, 'technician.2fa_recovery_renewed', { technicianId: id }, { confirmedWith: step === null ? 'password' : 'code' });
      });
      return { recoveryCodes };
    },

    /** The owner turns two-factor login off (with their password); not while REQUIRE_2FA demands it. */
    async disableTwoFactor(id: number, password: string, by: ActorContext): Promise<void> {
      const row = await store.byId(db, id);
      if (!row || !(await hasher.verify(row.password_hash, password))) throw new AppError('LOGIN_FAILED', 'The current password is not correct');
      if (toTechnician(row, twoFactor).twoFactor.required) throw new AppError('FORBIDDEN', 'Two-factor login is required for your account; an administrator can reset it if you lost your device');
      await clear(id, by, 'technician.2fa_disabled');
    },

    /** An administrator resets a lost device: two-factor login is cleared and the account's sessions end. */
    async resetTwoFactor(id: number, by: ActorContext): Promise<Technician> {
      await get(id);
      await clear(id, by, 'technician.2fa_reset');
      await revoke(id, 'two_factor_reset', by);
      return get(id);
    },
  };
}
