// Technicians: accounts, roles, login with lockout, password changes. Every
// change is an audit event.
import type { Knex } from 'knex';
import { AppError } from '../errors.ts';
import type { Clock } from '../clock.ts';
import type { ActorContext } from '../audit/actor.ts';
import { insertAuditEvent } from '../audit/store.ts';
import { generatePassword, type PasswordHasher } from './password.ts';
import type { NewTechnician, Role, TechnicianChange } from './schema.ts';
import { isUniqueViolation } from '../db/database.ts';
import { randomHex, sha256 } from '../../lib/crypto.ts';
import { generateSecret as generateTotpSecret, generateURI as totpUri, verify as verifyTotp } from 'otplib';
import { technicianStore as store, toTechnician, type Technician, type TechnicianRow, type TwoFactorRequirement } from './store.ts';
import type { RevocationReason } from '../../protocol/events.ts';

export interface TechnicianServiceDeps {
  db: Knex;
  clock: Clock;
  hasher: PasswordHasher;
  login: { maxFailures: number; lockoutMs: number };
  /** REQUIRE_2FA: whose accounts must use two-factor login. */
  twoFactor?: TwoFactorRequirement;
  /** Told when an account's web sessions were ended (the server closes its live streams). */
  onRevoked?: (event: { technicianId: number; reason: RevocationReason; exceptSessionId: string | null }) => void;
}

/** What administrators see of an account's failed logins (per address, see login_throttle). */
export interface LoginTrouble {
  /** Failed logins counted now (they reset on a success from the same address). */
  failedLogins: number;
  /** Addresses from which this account is locked right now. */
  lockedAddresses: number;
  /** When the last failure happened, if any. */
  lastFailureAt: number | null;
  /** Until when the longest lock lasts, if any address is locked now. */
  lockedUntil: number | null;
}

/** The first lock after maxFailures lasts this long; each further failure doubles it, up to lockoutMs. */
const FIRST_LOCK_MS = 60_000;

/** "14 minutes", "40 seconds": how long until a lock ends, in words. */
export function waitInWords(ms: number): string {
  const seconds = Math.max(1, Math.ceil(ms / 1000));
  if (seconds < 60) return `${seconds} second${seconds === 1 ? '' : 's'}`;
  const minutes = Math.ceil(seconds / 60);
  return `${minutes} minute${minutes === 1 ? '' : 's'}`;
}

export type TechnicianService = ReturnType<typeof createTechnicianService>;

export function createTechnicianService({ db, clock, hasher, login, onRevoked, twoFactor = 'none' }: TechnicianServiceDeps) {
  // A hash of a password nobody knows, made once on first use, so that a login
  // for an unknown user costs the same time as one for a real user.
  let dummyHash: Promise<string> | null = null;
  const getDummyHash = (): Promise<string> => (dummyHash ??= hasher.hash(generatePassword()));

  async function get(id: number): Promise<Technician> {
    const row = await store.byId(db, id);
    if (!row) throw new AppError('TECHNICIAN_NOT_FOUND', `No technician with id ${id}`);
    return toTechnician(row, twoFactor);
  }

  const systemContext = (name: string, remoteAddress: string): ActorContext => ({ actor: { type: 'system', name }, remoteAddress });

  type Throttle = { failures: number; locked_until: number | null } | undefined;

  /** Failures count per account *and* address: guesses from one address lock that address out of this account, never the owner elsewhere. */
  async function checkThrottle(row: TechnicianRow, remoteAddress: string): Promise<Throttle> {
    const now = clock.now();
    const pair = { technician_id: row.id, address: (remoteAddress || 'unknown').slice(0, 64) };
    const throttle = (await db('login_throttle').where(pair).first()) as Throttle;
    if (throttle?.locked_until != null && Number(throttle.locked_until) > now) {
      const waitMs = Number(throttle.locked_until) - now;
      await insertAuditEvent(db, now, systemContext(row.username, remoteAddress), 'login.failed', { technicianId: Number(row.id) }, { reason: 'locked' });
      throw new AppError('ACCOUNT_LOCKED', `Too many failed logins from your address: try again in ${waitInWords(waitMs)}`, { retryAfterMs: waitMs, minutes: Math.max(1, Math.ceil(waitMs / 60_000)) });
    }
    return throttle;
  }

  async function recordFailure(row: TechnicianRow, remoteAddress: string, throttle: Throttle, reason: string): Promise<void> {
    const now = clock.now();
    const pair = { technician_id: row.id, address: (remoteAddress || 'unknown').slice(0, 64) };
    const failures = Number(throttle?.failures ?? 0) + 1;
    const lockMs = failures >= login.maxFailures ? Math.min(login.lockoutMs, FIRST_LOCK_MS * 2 ** (failures - login.maxFailures)) : 0;
    await db('login_throttle')
      .insert({ ...pair, failures, locked_until: lockMs ? now + lockMs : null, last_failure_at: now })
      .onConflict(['technician_id', 'address'])
      .merge(['failures', 'locked_until', 'last_failure_at']);
    await insertAuditEvent(db, now, systemContext(row.username, remoteAddress), lockMs ? 'login.locked' : 'login.failed', { technicianId: Number(row.id) }, { reason, failures, ...(lockMs ? { lockedForMs: lockMs } : {}) });
  }

  async function succeed(row: TechnicianRow, remoteAddress: string, hadFailures: boolean, secondFactor?: 'totp' | 'recovery'): Promise<Technician> {
    const now = clock.now();
    if (hadFailures) await db('login_throttle').where({ technician_id: row.id, address: (remoteAddress || 'unknown').slice(0, 64) }).delete();
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

  async function clearTwoFactor(id: number, by: ActorContext, action: string): Promise<void> {
    const now = clock.now();
    await db.transaction(async (trx) => {
      await store.update(trx, id, { totp_secret: null, totp_enabled_at: null, totp_last_step: null, updated_at: now });
      await trx('recovery_codes').where({ technician_id: id }).delete();
      await insertAuditEvent(trx, now, by, action, { technicianId: id });
    });
  }

  /** Ends an account's web sessions (all, or all but one) and tells the server to close its live streams. */
  async function revoke(technicianId: number, reason: RevocationReason, by: ActorContext, exceptSessionId: string | null = null): Promise<void> {
    const query = db('web_sessions').where({ technician_id: technicianId });
    if (exceptSessionId) query.whereNot({ sid: exceptSessionId });
    const ended = await query.delete();
    await insertAuditEvent(db, clock.now(), by, 'technician.sessions_ended', { technicianId }, { reason, sessions: ended });
    onRevoked?.({ technicianId, reason, exceptSessionId });
  }

  /** Creates an account; the username is checked and taken in one transaction (a race ends in USERNAME_TAKEN, never a 500). */
  async function create(data: NewTechnician, by: ActorContext): Promise<Technician> {
    const taken = () => new AppError('USERNAME_TAKEN', `The username "${data.username}" is already taken`);
    const now = clock.now();
    const passwordHash = await hasher.hash(data.password);
    let id: number;
    try {
      id = await db.transaction(async (trx) => {
        if (await store.byUsername(trx, data.username)) throw taken();
        const newId = await store.insert(trx, {
          username: data.username,
          display_name: data.displayName,
          email: data.email,
          role: data.role,
          active: true,
          password_hash: passwordHash,
          failed_logins: 0,
          locked_until: null,
          last_login_at: null,
          password_changed_at: now,
          created_at: now,
          updated_at: now,
        });
        await insertAuditEvent(trx, now, by, 'technician.created', { technicianId: newId }, { username: data.username, role: data.role });
        return newId;
      });
    } catch (err) {
      // Two creations of one name at once: the unique index refuses the second.
      if (isUniqueViolation(err)) throw taken();
      throw err;
    }
    return get(id);
  }

  return {
    get,
    create,

    async list(): Promise<Technician[]> {
      return (await store.list(db)).map((row) => toTechnician(row, twoFactor));
    },

    /** Names and roles by id, to put words on audit rows. */
    async people(): Promise<Map<number, { displayName: string; role: Role }>> {
      const rows = await db<TechnicianRow>('technicians').select('id', 'display_name', 'role');
      return new Map(rows.map((r) => [Number(r.id), { displayName: r.display_name, role: r.role }]));
    },

    /** The language a technician's pages use (null: the browser's). */
    async setLanguage(id: number, language: 'en' | 'es' | 'zh' | null): Promise<void> {
      await store.update(db, id, { language });
    },

    async update(id: number, patch: TechnicianChange, by: ActorContext): Promise<Technician> {
      const now = clock.now();
      // The last-administrator guard and the write in one transaction, the
      // active administrators' rows locked: two admins demoting each other at
      // once cannot leave none (the second waits, then sees one left).
      const current = await db.transaction(async (trx) => {
        const before = await store.byId(trx, id);
        if (!before) throw new AppError('NOT_FOUND', `Technician ${id} does not exist`);
        const losesAdmin = before.role === 'admin' && Boolean(before.active) && (patch.role === 'technician' || patch.active === false);
        if (losesAdmin) {
          const admins = await trx('technicians').where({ role: 'admin', active: true }).forUpdate().select('id');
          if (admins.length <= 1) throw new AppError('LAST_ADMIN', 'The last active administrator cannot be disabled or demoted');
        }
        await store.update(trx, id, {
          ...(patch.displayName !== undefined ? { display_name: patch.displayName } : {}),
          ...(patch.email !== undefined ? { email: patch.email } : {}),
          ...(patch.role !== undefined ? { role: patch.role } : {}),
          ...(patch.active !== undefined ? { active: patch.active, failed_logins: 0, locked_until: null } : {}),
          updated_at: now,
        });
        const action = patch.active === false ? 'technician.disabled' : patch.active === true && !before.active ? 'technician.enabled' : 'technician.updated';
        await insertAuditEvent(trx, now, by, action, { technicianId: id }, { changes: patch });
        return toTechnician(before, twoFactor);
      });
      if (patch.active === false && current.active) await revoke(id, 'disabled', by);
      else if (patch.role !== undefined && patch.role !== current.role) await revoke(id, 'role_changed', by);
      return get(id);
    },

    /** Sets a new password (an administrator's reset, or generated when none is given); unlocks the account. */
    async resetPassword(id: number, password: string | undefined, by: ActorContext): Promise<{ technician: Technician; password: string }> {
      await get(id);
      const newPassword = password ?? generatePassword();
      const now = clock.now();
      const hash = await hasher.hash(newPassword);
      await db.transaction(async (trx) => {
        await store.update(trx, id, { password_hash: hash, password_changed_at: now, failed_logins: 0, locked_until: null, updated_at: now });
        await trx('login_throttle').where({ technician_id: id }).delete();
        await insertAuditEvent(trx, now, by, 'technician.password_reset', { technicianId: id });
      });
      await revoke(id, 'password_reset', by);
      return { technician: await get(id), password: newPassword };
    },

    /** The owner's change: every other web session of the account ends (`sessionId` is the one that asked). */
    async changeOwnPassword(id: number, currentPassword: string, newPassword: string, by: ActorContext, sessionId: string | null = null): Promise<void> {
      const row = await store.byId(db, id);
      if (!row || !(await hasher.verify(row.password_hash, currentPassword))) {
        throw new AppError('LOGIN_FAILED', 'The current password is not correct');
      }
      const now = clock.now();
      const hash = await hasher.hash(newPassword);
      await db.transaction(async (trx) => {
        await store.update(trx, id, { password_hash: hash, password_changed_at: now, updated_at: now });
        await insertAuditEvent(trx, now, by, 'technician.password_changed', { technicianId: id });
      });
      await revoke(id, 'password_changed', by, sessionId);
    },

    /** Failed logins and address locks of every account (administrators' view). */
    async loginTrouble(): Promise<Map<number, LoginTrouble>> {
      const now = clock.now();
      const rows = (await db('login_throttle').select('technician_id', 'failures', 'locked_until', 'last_failure_at')) as {
        technician_id: number;
        failures: number;
        locked_until: number | null;
        last_failure_at: number;
      }[];
      const byId = new Map<number, LoginTrouble>();
      for (const r of rows) {
        const id = Number(r.technician_id);
        const t = byId.get(id) ?? { failedLogins: 0, lockedAddresses: 0, lastFailureAt: null, lockedUntil: null };
        t.failedLogins += Number(r.failures);
        if (r.locked_until !== null && Number(r.locked_until) > now) {
          t.lockedAddresses += 1;
          t.lockedUntil = Math.max(t.lockedUntil ?? 0, Number(r.locked_until));
        }
        t.lastFailureAt = Math.max(t.lastFailureAt ?? 0, Number(r.last_failure_at));
        byId.set(id, t);
      }
      return byId;
    },

    /** Clears an account's failed logins and address locks. */
    async unlock(id: number, by: ActorContext): Promise<Technician> {
      const technician = await get(id);
      const cleared = await db('login_throttle').where({ technician_id: id }).delete();
      await insertAuditEvent(db, clock.now(), by, 'technician.unlocked', { technicianId: id }, { addresses: cleared });
      return technician;
    },

    /**
     * Checks a login. Unknown users, wrong passwords, disabled and locked
     * accounts each raise their own code; the failure counter locks the
     * account after login.maxFailures attempts for login.lockoutMs.
     */
    async authenticate(username: string, password: string, remoteAddress: string): Promise<Technician> {
      const now = clock.now();
      const row = await store.byUsername(db, username.trim().toLowerCase());
      if (!row) {
        // Spend the same time as a real check so usernames cannot be probed by timing.
        await hasher.verify(await getDummyHash(), password);
        await insertAuditEvent(db, now, systemContext(username.slice(0, 64), remoteAddress), 'login.failed', {}, { reason: 'unknown_user' });
        throw new AppError('LOGIN_FAILED', 'Wrong username or password');
      }
      const throttle = await checkThrottle(row, remoteAddress);
      if (!(await hasher.verify(row.password_hash, password))) {
        await recordFailure(row, remoteAddress, throttle, 'wrong_password');
        throw new AppError('LOGIN_FAILED', 'Wrong username or password');
      }
      if (!row.active) {
        await insertAuditEvent(db, now, systemContext(row.username, remoteAddress), 'login.failed', { technicianId: Number(row.id) }, { reason: 'disabled' });
        throw new AppError('ACCOUNT_DISABLED', 'This account is disabled; ask an administrator');
      }
      const technician = toTechnician(row, twoFactor);
      // With two factors, the password alone does not log in: the code comes next.
      if (technician.twoFactor.enabled) return technician;
      return succeed(row, remoteAddress, throttle !== undefined);
    },

    /**
     * The second step of a login (after the password): a current TOTP code,
     * used once, or an unused recovery code. Wrong codes count like wrong
     * passwords (per account and address).
     */
    async verifySecondFactor(id: number, code: string, remoteAddress: string): Promise<Technician> {
      const row = await store.byId(db, id);
      if (!row || !row.active || row.totp_enabled_at == null || !row.totp_secret) {
        throw new AppError('LOGIN_FAILED', 'Log in again with your password');
      }
      const throttle = await checkThrottle(row, remoteAddress);
      const given = code.replace(/\s+/g, '');
      let ok = false;
      let via: 'totp' | 'recovery' = 'totp';
      if (/^\d{6}$/.test(given)) {
        const epoch = Math.floor(clock.now() / 1000);
        const last = row.totp_last_step == null ? undefined : Number(row.totp_last_step);
        const result = await verifyTotp({ secret: row.totp_secret, token: given, epoch, epochTolerance: 30, afterTimeStep: last });
        if (result.valid) {
          ok = true;
          await store.update(db, row.id, { totp_last_step: Math.floor(epoch / 30) + result.delta });
        }
      } else if (/^[a-z0-9]{4}-?[a-z0-9]{4}$/i.test(given)) {
        via = 'recovery';
        const hash = sha256(given.toLowerCase().replace('-', ''));
        const used = await db('recovery_codes').where({ technician_id: row.id, code_hash: hash }).whereNull('used_at').update({ used_at: clock.now() });
        ok = used === 1;
      }
      if (!ok) {
        await recordFailure(row, remoteAddress, throttle, 'wrong_code');
        throw new AppError('LOGIN_FAILED', 'That code is not valid; use the current code of your authenticator app, or a recovery code');
      }
      return succeed(row, remoteAddress, throttle !== undefined, via);
    },

    /** Enrolment, step 1: a new secret (kept by the caller until confirmed) and its otpauth:// URI. */
    async startTwoFactor(id: number): Promise<{ secret: string; uri: string }> {
      const technician = await get(id);
      const secret = generateTotpSecret();
      return { secret, uri: totpUri({ issuer: 'Helpdesk', label: technician.username, secret }) };
    },

    /** Enrolment, step 2: a code from the app proves the secret; returns the recovery codes, shown this once. */
    async confirmTwoFactor(id: number, secret: string, code: string, by: ActorContext): Promise<{ recoveryCodes: string[] }> {
      const epoch = Math.floor(clock.now() / 1000);
      const result = await verifyTotp({ secret, token: code.replace(/\s+/g, ''), epoch, epochTolerance: 30 });
      if (!result.valid) throw new AppError('VALIDATION_FAILED', 'That code does not match: check the time on your phone and type the current code');
      const now = clock.now();
      const recoveryCodes = Array.from({ length: 10 }, () => {
        const raw = randomHex(4);
        return `${raw.slice(0, 4)}-${raw.slice(4)}`;
      });
      await db.transaction(async (trx) => {
        await store.update(trx, id, { totp_secret: secret, totp_enabled_at: now, totp_last_step: Math.floor(epoch / 30) + result.delta, updated_at: now });
        await trx('recovery_codes').where({ technician_id: id }).delete();
        await trx('recovery_codes').insert(recoveryCodes.map((c) => ({ technician_id: id, code_hash: sha256(c.replace('-', '')), used_at: null })));
        await insertAuditEvent(trx, now, by, 'technician.2fa_enabled', { technicianId: id });
      });
      return { recoveryCodes };
    },

    /** The owner turns two-factor login off (with their password); not while REQUIRE_2FA demands it. */
    async disableTwoFactor(id: number, password: string, by: ActorContext): Promise<void> {
      const row = await store.byId(db, id);
      if (!row || !(await hasher.verify(row.password_hash, password))) throw new AppError('LOGIN_FAILED', 'The current password is not correct');
      if (toTechnician(row, twoFactor).twoFactor.required) throw new AppError('FORBIDDEN', 'Two-factor login is required for your account; an administrator can reset it if you lost your device');
      await clearTwoFactor(id, by, 'technician.2fa_disabled');
    },

    /** An administrator resets a lost device: two-factor login is cleared and the account's sessions end. */
    async resetTwoFactor(id: number, by: ActorContext): Promise<Technician> {
      await get(id);
      await clearTwoFactor(id, by, 'technician.2fa_reset');
      await revoke(id, 'two_factor_reset', by);
      return get(id);
    },

    /**
     * On an empty database, creates the first administrator. Returns the
     * generated password when none was configured, so it can be shown once.
     */
    async ensureFirstAdmin(configuredPassword: string | null): Promise<{ username: string; generatedPassword: string | null } | null> {
      if ((await store.count(db)) > 0) return null;
      const password = configuredPassword ?? generatePassword();
      await create({ username: 'admin', displayName: 'Administrator', email: '', role: 'admin', password }, { actor: { type: 'system', name: 'first-start' }, remoteAddress: '' });
      return { username: 'admin', generatedPassword: configuredPassword ? null : password };
    },
  };
}


