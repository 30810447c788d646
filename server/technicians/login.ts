// Logging in: the password, then (with two-factor login) a TOTP code used at
// most once, or an unused recovery code. Every attempt passes the throttle
// first (login-throttle.ts: per address, and per account from every address);
// a login is admitted past the per-account ceiling once for both its steps.
// Every outcome is an audit event. Only local accounts log in here, and only
// those LOCAL_LOGIN admits (OIDC and LDAP accounts: server/identity/).
import type { Knex } from 'knex';
import { verify as verifyTotp } from 'otplib';
import { AppError } from '../errors.ts';
import type { Clock } from '../clock.ts';
import { insertAuditEvent } from '../audit/store.ts';
import { sha256 } from '../../lib/crypto.ts';
import { generatePassword, type PasswordHasher } from './password.ts';
import { technicianStore as store, toTechnician, type Technician, type TechnicianRow, type TwoFactorRequirement } from './store.ts';
import { loginContext, type Admission, type LoginThrottle } from './login-throttle.ts';
import type { TotpSecrets } from './totp-secrets.ts';

/** TOTP codes are counted in steps of this many seconds. */
const TOTP_STEP_S = 30;
/** A login whose password was right has this long for its code — plus the longest delay the account's ceiling may make a second code wait. */
const PENDING_MS = 5 * 60_000;

/** A login whose password was right, its code still to come (kept in the web session). */
export interface PendingLogin {
  technicianId: number;
  at: number;
  /** The password step's admission past the per-account ceiling, which the first code claims (null: spent, or none was needed). */
  admitted?: Admission | null;
}

/** What the password step found: the account, and with two-factor login the pending login its code completes. */
export type PasswordChecked = Technician & { pendingLogin?: PendingLogin };

/** Where an attempt comes from: its address, and its browser's device token (server/auth/device.ts). */
export interface LoginOrigin {
  address: string;
  device: string | null;
}

/** LOCAL_LOGIN: which local accounts may log in with their password. */
export type LocalLogin = 'admins' | 'all' | 'off';

export function createLogin(deps: { db: Knex; clock: Clock; hasher: PasswordHasher; throttle: LoginThrottle; twoFactor: TwoFactorRequirement; accountMaxDelayMs: number; secrets: TotpSecrets; localLogin: LocalLogin }) {
  const { db, clock, hasher, throttle, twoFactor, secrets, localLogin } = deps;
  const pendingMs = PENDING_MS + deps.accountMaxDelayMs;
  // A hash of a password nobody knows, made once on first use, so that a login
  // for an unknown user costs the same time as one for a real user.
  let dummyHash: Promise<string> | null = null;
  const getDummyHash = (): Promise<string> => (dummyHash ??= hasher.hash(generatePassword()));

  async function succeed(row: TechnicianRow, { address: remoteAddress, device }: LoginOrigin, secondFactor?: 'totp' | 'recovery'): Promise<Technician> {
    const now = clock.now();
    await throttle.succeeded(row, remoteAddress, device);
    await store.update(db, row.id, { last_login_at: now, last_login_method: 'local' });
    const technician = toTechnician({ ...row, last_login_at: now, last_login_method: 'local' }, twoFactor);
    await insertAuditEvent(
      db,
      now,
      { actor: { type: 'technician', id: technician.id, name: technician.username, role: technician.role }, remoteAddress },
      'login.succeeded',
      { technicianId: technician.id },
      secondFactor ? { method: 'local', secondFactor } : { method: 'local' },
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
    async authenticate(username: string, password: string, origin: LoginOrigin): Promise<PasswordChecked> {
      const now = clock.now();
      const remoteAddress = origin.address;
      const found = await store.byUsername(db, username.trim().toLowerCase());
      // An OIDC or LDAP account has no password here: to this form it is no account.
      const row = found && (found.source ?? 'local') === 'local' ? found : undefined;
      if (!row) {
        // Spend the same time as a real check so usernames cannot be probed by timing.
        await hasher.verify(await getDummyHash(), password);
        await insertAuditEvent(db, now, loginContext(username.slice(0, 64), remoteAddress), 'login.failed', {}, { reason: 'unknown_user' });
        throw new AppError('LOGIN_FAILED', 'Wrong username or password');
      }
      await throttle.checkAddress(row, remoteAddress);
      const admission = await throttle.admit(row, remoteAddress, origin.device);
      if (!(await hasher.verify(row.password_hash, password))) {
        await throttle.recordFailure(row, remoteAddress, 'wrong_password');
        throw new AppError('LOGIN_FAILED', 'Wrong username or password');
      }
      if (!row.active) {
        await insertAuditEvent(db, now, loginContext(row.username, remoteAddress), 'login.failed', { technicianId: Number(row.id) }, { reason: 'disabled' });
        throw new AppError('ACCOUNT_DISABLED', 'This account is disabled; ask an administrator');
      }
      if (localLogin === 'off' || (localLogin === 'admins' && row.role !== 'admin')) {
        await insertAuditEvent(db, now, loginContext(row.username, remoteAddress), 'login.failed', { technicianId: Number(row.id) }, { reason: 'local_login_off' });
        throw new AppError(
          'LOCAL_LOGIN_OFF',
          localLogin === 'off' ? 'Local accounts may not log in here: sign in with your company\'s account' : 'Only administrators may log in with a local account here: sign in with your company\'s account',
          { variant: localLogin },
        );
      }
      const technician = toTechnician(row, twoFactor);
      // With two factors, the password alone does not log in: the code comes next, on this login's admission.
      if (technician.twoFactor.enabled) {
        const admitted = admission && (await throttle.giveBack(technician.id, admission));
        return { ...technician, pendingLogin: { technicianId: technician.id, at: now, admitted } };
      }
      return succeed(row, origin);
    },

    /** Whether a pending login may still take its code. */
    pendingOpen(pending: PendingLogin): boolean {
      return clock.now() - pending.at <= pendingMs;
    },

    /**
     * The second step of a login (after the password): a current TOTP code,
     * used at most once, or an unused recovery code. Wrong codes count like
     * wrong passwords (per address, and per account). The first code of a
     * pending login claims its password step's admission; any other is
     * admitted anew (and may be slowed).
     */
    async verifySecondFactor(id: number, code: string, origin: LoginOrigin, pending?: PendingLogin): Promise<Technician> {
      const remoteAddress = origin.address;
      const row = await store.byId(db, id);
      if (!row || !row.active || row.totp_enabled_at == null || !row.totp_secret) {
        throw new AppError('LOGIN_FAILED', 'Log in again with your password');
      }
      await throttle.checkAddress(row, remoteAddress);
      const admitted = pending?.admitted;
      if (pending) pending.admitted = null;
      if (!admitted || !(await throttle.claim(row.id, admitted))) await throttle.admit(row, remoteAddress, origin.device);
      const given = code.replace(/\s+/g, '');
      let ok = false;
      let via: 'totp' | 'recovery' = 'totp';
      let reused = false;
      if (/^\d{6}$/.test(given)) {
        const epoch = Math.floor(clock.now() / 1000);
        const last = row.totp_last_step == null ? undefined : Number(row.totp_last_step);
        const secret = secrets.open(row.totp_secret);
        const result = await verifyTotp({ secret, token: given, epoch, epochTolerance: TOTP_STEP_S, afterTimeStep: last });
        ok = result.valid && (await takeTotpStep(row.id, Math.floor(epoch / TOTP_STEP_S) + result.delta));
        // A right code already spent (this login's own, or another's) is told as used, not as wrong; it still counts as a failure.
        if (!ok && (await verifyTotp({ secret, token: given, epoch, epochTolerance: TOTP_STEP_S })).valid) reused = true;
      } else if (/^[a-z0-9]{4}-?[a-z0-9]{4}$/i.test(given)) {
        via = 'recovery';
        const hash = sha256(given.toLowerCase().replace('-', ''));
        const used = await db('recovery_codes').where({ technician_id: row.id, code_hash: hash }).whereNull('used_at').update({ used_at: clock.now() });
        ok = used === 1;
      }
      if (!ok) {
        await throttle.recordFailure(row, remoteAddress, reused ? 'code_reused' : 'wrong_code');
        if (reused) throw new AppError('TOTP_CODE_USED', 'That code was already used: wait for the next code of your authenticator app (a new one every 30 s)');
        throw new AppError('LOGIN_FAILED', 'That code is not valid; use the current code of your authenticator app, or a recovery code');
      }
      return succeed(row, origin, via);
    },
  };
}
