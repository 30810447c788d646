// Technicians: accounts, roles, passwords, and the administrators' view of
// failed logins. Logging in is login.ts (throttled by login-throttle.ts),
// two-factor enrolment two-factor.ts; the service is all of them. Every change
// is an audit event.
import type { Knex } from 'knex';
import { AppError } from '../errors.ts';
import type { Clock } from '../clock.ts';
import type { ActorContext } from '../audit/actor.ts';
import { insertAuditEvent } from '../audit/store.ts';
import { generatePassword, type PasswordHasher } from './password.ts';
import { assertPasswordAllowed } from './password-policy.ts';
import type { NewTechnician, Role, TechnicianChange } from './schema.ts';
import { isUniqueViolation } from '../db/database.ts';
import { technicianStore as store, toTechnician, type Technician, type TechnicianRow, type TwoFactorRequirement } from './store.ts';
import type { RevocationReason } from '../../protocol/events.ts';
import { createLoginThrottle, type LoginLimits, type LoginTrouble } from './login-throttle.ts';
import { createLogin, type LocalLogin } from './login.ts';
import { createTwoFactor } from './two-factor.ts';
import { totpSecrets } from './totp-secrets.ts';
import type { KeyRing } from '../../lib/sealed.ts';

export { waitInWords, type LoginTrouble } from './login-throttle.ts';

export interface TechnicianServiceDeps {
  db: Knex;
  clock: Clock;
  hasher: PasswordHasher;
  /** Failed logins: per account and address, and per account from every address (see login-throttle.ts). */
  login: LoginLimits;
  /** REQUIRE_2FA: whose accounts must use two-factor login. */
  twoFactor?: TwoFactorRequirement;
  /** Told when an account's web sessions were ended (the server closes its live streams). */
  onRevoked?: (event: { technicianId: number; reason: RevocationReason; exceptSessionId: string | null }) => void;
  /** LOCAL_LOGIN: which local accounts may log in with their password (default all). */
  localLogin?: LocalLogin;
  /** The key ring sealing TOTP secrets (SECRETS_KEY); without it, enrolling and code logins fail (the CLI needs neither). */
  secrets?: KeyRing;
}

export type TechnicianService = ReturnType<typeof createTechnicianService>;

export function createTechnicianService({ db, clock, hasher, login, onRevoked, twoFactor = 'none', secrets: ring, localLogin = 'all' }: TechnicianServiceDeps) {
  const throttle = createLoginThrottle({ db, clock, limits: login });
  const secrets = totpSecrets(ring);

  async function get(id: number): Promise<Technician> {
    const row = await store.byId(db, id);
    if (!row) throw new AppError('TECHNICIAN_NOT_FOUND', `No technician with id ${id}`);
    return toTechnician(row, twoFactor);
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
    assertPasswordAllowed(data.password, data.username);
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
    revoke,
    /** REQUIRE_2FA, for accounts made or changed elsewhere (server/identity/). */
    twoFactorRequirement: twoFactor,
    ...createLogin({ db, clock, hasher, throttle, twoFactor, accountMaxDelayMs: login.accountMaxDelayMs, secrets, localLogin }),
    ...createTwoFactor({ db, clock, hasher, twoFactor, secrets, get, revoke }),

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

    /** The time zone a technician's pages show times in (an IANA name, checked by the route; null: the browser's). */
    async setTimeZone(id: number, timeZone: string | null): Promise<void> {
      await store.update(db, id, { time_zone: timeZone });
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

    /**
     * Sets a new password (an administrator's reset, or generated when none is
     * given); unlocks the account and forgets the addresses it logged in from
     * (a reset may follow a stolen password).
     */
    async resetPassword(id: number, password: string | undefined, by: ActorContext): Promise<{ technician: Technician; password: string }> {
      const technician = await get(id);
      if (password !== undefined) assertPasswordAllowed(password, technician.username);
      const newPassword = password ?? generatePassword();
      const now = clock.now();
      const hash = await hasher.hash(newPassword);
      await db.transaction(async (trx) => {
        await store.update(trx, id, { password_hash: hash, password_changed_at: now, failed_logins: 0, locked_until: null, updated_at: now });
        await throttle.clear(trx, id, true);
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
      assertPasswordAllowed(newPassword, row.username);
      const now = clock.now();
      const hash = await hasher.hash(newPassword);
      await db.transaction(async (trx) => {
        await store.update(trx, id, { password_hash: hash, password_changed_at: now, updated_at: now });
        await insertAuditEvent(trx, now, by, 'technician.password_changed', { technicianId: id });
      });
      await revoke(id, 'password_changed', by, sessionId);
    },

    /** Failed logins, address locks and account delays of every account (administrators' view). */
    loginTrouble(): Promise<Map<number, LoginTrouble>> {
      return throttle.trouble();
    },

    /** Clears an account's failed logins, address locks and delay. */
    async unlock(id: number, by: ActorContext): Promise<Technician> {
      const technician = await get(id);
      const cleared = await throttle.clear(db, id);
      await insertAuditEvent(db, clock.now(), by, 'technician.unlocked', { technicianId: id }, { addresses: cleared });
      return technician;
    },

    /**
     * On an empty database, creates the first administrator. Returns the
     * generated password when none was configured, so it can be shown once.
     */
    async ensureFirstAdmin(configuredPassword: string | null): Promise<{ username: string; generatedPassword: string | null } | null> {
      if ((await store.count(db)) > 0) return null;
      const password = configuredPassword ?? generatePassword();
      try {
        await create({ username: 'admin', displayName: 'Administrator', email: '', role: 'admin', password }, { actor: { type: 'system', name: 'first-start' }, remoteAddress: '' });
      } catch (err) {
        if (err instanceof AppError && err.code === 'PASSWORD_WEAK') throw new AppError('PASSWORD_WEAK', `ADMIN_PASSWORD: ${err.message}`, err.details);
        throw err;
      }
      return { username: 'admin', generatedPassword: configuredPassword ? null : password };
    },
  };
}
