// Logging in: the password, then (with two-factor login) a TOTP code used at
// most once, or an unused recovery code. Every attempt passes the throttle
// first (login-throttle.ts: per address, and per account from every address);
// every outcome is an audit event.
import type { Knex } from 'knex';
import { verify as verifyTotp } from 'otplib';
import { AppError } from '../errors.ts';
import type { Clock } from '../clock.ts';
import { insertAuditEvent } from '../audit/store.ts';
import { sha256 } from '../../lib/crypto.ts';
import { generatePassword, type PasswordHasher } from './password.ts';
import { technicianStore as store, toTechnician, type Technician, type TechnicianRow, type TwoFactorRequirement } from './store.ts';
import { loginContext, type LoginThrottle } from './login-throttle.ts';

/** TOTP codes are counted in steps of this many seconds. */
const TOTP_STEP_S = 30;

export function createLogin({ db, clock, hasher, throttle, twoFactor }: { db: Knex; clock: Clock; hasher: PasswordHasher; throttle: LoginThrottle; twoFactor: TwoFactorRequirement }) {
  // A hash of a password nobody knows, made once on first use, so that a login
  // for an unknown user costs the same time as one for a real user.
  let dummyHash: Promise<string> | null = null;
  const getDummyHash = (): Promise<string> => (dummyHash ??= hasher.hash(generatePassword()));

  async function succeed(row: TechnicianRow, remoteAddress: string, secondFactor?: 'totp' | 'recovery'): Promise<Technician> {
    const now = clock.now();
    await throttle.succeeded(row, remoteAddress);
    await store.update(db, row.id, { last_login_at: now });
    const technician = toTechnician({ ...row, last_login_at: now }, twoFactor);
    await insertAuditEvent(
      db,
      now,
      { actor: { type: 'technician', id: technician.id, name: technician.username, role: technician.role }, remoteAddress },
      'login.succeeded',
      { technicianId: technician.id },
      secondFactor ? { secondFactor } : undefined,
    );
    return technician;
  }

  /**
   * Takes the code's time step for this login, or reports that another login
   * took it (or a later one) first: one conditional update, so two logins
   * racing with one code cannot both get in.
   */
  async function takeTotpStep(id: number, step: number): Promise<boolean> {
    const taken = await db('technicians')
      .where({ id })
      .andWhere((q) => {
        void q.whereNull('totp_last_step').orWhere('totp_last_step', '<', step);
      })
      .update({ totp_last_step: step });
    return taken === 1;
  }

  return {
    /**
     * Checks a login. Unknown users, wrong passwords, disabled, locked and
     * slowed accounts each raise their own code (see login-throttle.ts).
     */
    async authenticate(username: string, password: string, remoteAddress: string): Promise<Technician> {
      const now = clock.now();
      const row = await store.byUsername(db, username.trim().toLowerCase());
      if (!row) {
        // Spend the same time as a real check so usernames cannot be probed by timing.
        await hasher.verify(await getDummyHash(), password);
        await insertAuditEvent(db, now, loginContext(username.slice(0, 64), remoteAddress), 'login.failed', {}, { reason: 'unknown_user' });
        throw new AppError('LOGIN_FAILED', 'Wrong username or password');
      }
      const addressCount = await throttle.checkAddress(row, remoteAddress);
      await throttle.admit(row, remoteAddress);
      if (!(await hasher.verify(row.password_hash, password))) {
        await throttle.recordFailure(row, remoteAddress, addressCount, 'wrong_password');
        throw new AppError('LOGIN_FAILED', 'Wrong username or password');
      }
      if (!row.active) {
        await insertAuditEvent(db, now, loginContext(row.username, remoteAddress), 'login.failed', { technicianId: Number(row.id) }, { reason: 'disabled' });
        throw new AppError('ACCOUNT_DISABLED', 'This account is disabled; ask an administrator');
      }
      const technician = toTechnician(row, twoFactor);
      // With two factors, the password alone does not log in: the code comes next.
      if (technician.twoFactor.enabled) return technician;
      return succeed(row, remoteAddress);
    },

    /**
     * The second step of a login (after the password): a current TOTP code,
     * used at most once, or an unused recovery code. Wrong codes count like
     * wrong passwords (per address, and per account).
     */
    async verifySecondFactor(id: number, code: string, remoteAddress: string): Promise<Technician> {
      const row = await store.byId(db, id);
      if (!row || !row.active || row.totp_enabled_at == null || !row.totp_secret) {
        throw new AppError('LOGIN_FAILED', 'Log in again with your password');
      }
      const addressCount = await throttle.checkAddress(row, remoteAddress);
      await throttle.admit(row, remoteAddress);
      const given = code.replace(/\s+/g, '');
      let ok = false;
      let via: 'totp' | 'recovery' = 'totp';
      if (/^\d{6}$/.test(given)) {
        const epoch = Math.floor(clock.now() / 1000);
        const last = row.totp_last_step == null ? undefined : Number(row.totp_last_step);
        const result = await verifyTotp({ secret: row.totp_secret, token: given, epoch, epochTolerance: TOTP_STEP_S, afterTimeStep: last });
        ok = result.valid && (await takeTotpStep(row.id, Math.floor(epoch / TOTP_STEP_S) + result.delta));
      } else if (/^[a-z0-9]{4}-?[a-z0-9]{4}$/i.test(given)) {
        via = 'recovery';
        const hash = sha256(given.toLowerCase().replace('-', ''));
        const used = await db('recovery_codes').where({ technician_id: row.id, code_hash: hash }).whereNull('used_at').update({ used_at: clock.now() });
        ok = used === 1;
      }
      if (!ok) {
        await throttle.recordFailure(row, remoteAddress, addressCount, 'wrong_code');
        throw new AppError('LOGIN_FAILED', 'That code is not valid; use the current code of your authenticator app, or a recovery code');
      }
      return succeed(row, remoteAddress, via);
    },
  };
}
