// Technicians: accounts, roles, login with lockout, password changes. Every
// change is an audit event.
import type { Knex } from 'knex';
import { AppError, parseOrThrow } from '../errors.ts';
import type { Clock } from '../clock.ts';
import type { ActorContext } from '../audit/actor.ts';
import { insertAuditEvent } from '../audit/store.ts';
import { generatePassword, type PasswordHasher } from './password.ts';
import {
  createTechnicianSchema,
  passwordSchema,
  updateTechnicianSchema,
  type CreateTechnicianInput,
} from './schema.ts';
import { technicianStore as store, toTechnician, type Technician } from './store.ts';

export interface TechnicianServiceDeps {
  db: Knex;
  clock: Clock;
  hasher: PasswordHasher;
  login: { maxFailures: number; lockoutMs: number };
}

export type TechnicianService = ReturnType<typeof createTechnicianService>;

export function createTechnicianService({ db, clock, hasher, login }: TechnicianServiceDeps) {
  // A hash of a password nobody knows, made once on first use, so that a login
  // for an unknown user costs the same time as one for a real user.
  let dummyHash: Promise<string> | null = null;
  const getDummyHash = (): Promise<string> => (dummyHash ??= hasher.hash(generatePassword()));

  async function get(id: number): Promise<Technician> {
    const row = await store.byId(db, id);
    if (!row) throw new AppError('TECHNICIAN_NOT_FOUND', `No technician with id ${id}`);
    return toTechnician(row);
  }

  async function create(input: CreateTechnicianInput, by: ActorContext): Promise<Technician> {
    const data = parseOrThrow(createTechnicianSchema, input, 'technician');
    if (await store.byUsername(db, data.username)) {
      throw new AppError('USERNAME_TAKEN', `The username "${data.username}" is already taken`);
    }
    const now = clock.now();
    const passwordHash = await hasher.hash(data.password);
    const id = await db.transaction(async (trx) => {
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
    return get(id);
  }

  return {
    get,
    create,

    async list(): Promise<Technician[]> {
      return (await store.list(db)).map(toTechnician);
    },

    async update(id: number, input: unknown, by: ActorContext): Promise<Technician> {
      const patch = parseOrThrow(updateTechnicianSchema, input, 'technician change');
      const current = await get(id);
      const losesAdmin = current.role === 'admin' && current.active && (patch.role === 'technician' || patch.active === false);
      if (losesAdmin && (await store.countActiveAdmins(db)) <= 1) {
        throw new AppError('LAST_ADMIN', 'The last active administrator cannot be disabled or demoted');
      }
      const now = clock.now();
      await db.transaction(async (trx) => {
        await store.update(trx, id, {
          ...(patch.displayName !== undefined ? { display_name: patch.displayName } : {}),
          ...(patch.email !== undefined ? { email: patch.email } : {}),
          ...(patch.role !== undefined ? { role: patch.role } : {}),
          ...(patch.active !== undefined ? { active: patch.active, failed_logins: 0, locked_until: null } : {}),
          updated_at: now,
        });
        const action = patch.active === false ? 'technician.disabled' : patch.active === true && !current.active ? 'technician.enabled' : 'technician.updated';
        await insertAuditEvent(trx, now, by, action, { technicianId: id }, { changes: patch });
      });
      return get(id);
    },

    /** Sets a new password (an administrator's reset, or generated when none is given); unlocks the account. */
    async resetPassword(id: number, password: string | undefined, by: ActorContext): Promise<{ technician: Technician; password: string }> {
      await get(id);
      const newPassword = password === undefined ? generatePassword() : parseOrThrow(passwordSchema, password, 'password');
      const now = clock.now();
      const hash = await hasher.hash(newPassword);
      await db.transaction(async (trx) => {
        await store.update(trx, id, { password_hash: hash, password_changed_at: now, failed_logins: 0, locked_until: null, updated_at: now });
        await insertAuditEvent(trx, now, by, 'technician.password_reset', { technicianId: id });
      });
      return { technician: await get(id), password: newPassword };
    },

    async changeOwnPassword(id: number, currentPassword: string, newPassword: string, by: ActorContext): Promise<void> {
      const row = await store.byId(db, id);
      if (!row || !(await hasher.verify(row.password_hash, currentPassword))) {
        throw new AppError('LOGIN_FAILED', 'The current password is not correct');
      }
      const valid = parseOrThrow(passwordSchema, newPassword, 'new password');
      const now = clock.now();
      const hash = await hasher.hash(valid);
      await db.transaction(async (trx) => {
        await store.update(trx, id, { password_hash: hash, password_changed_at: now, updated_at: now });
        await insertAuditEvent(trx, now, by, 'technician.password_changed', { technicianId: id });
      });
    },

    /**
     * Checks a login. Unknown users, wrong passwords, disabled and locked
     * accounts each raise their own code; the failure counter locks the
     * account after login.maxFailures attempts for login.lockoutMs.
     */
    async authenticate(username: string, password: string, remoteAddress: string): Promise<Technician> {
      const now = clock.now();
      const row = await store.byUsername(db, username.trim().toLowerCase());
      const context = (name: string): ActorContext => ({ actor: { type: 'system', name }, remoteAddress });
      if (!row) {
        // Spend the same time as a real check so usernames cannot be probed by timing.
        await hasher.verify(await getDummyHash(), password);
        await insertAuditEvent(db, now, context(username.slice(0, 64)), 'login.failed', {}, { reason: 'unknown_user' });
        throw new AppError('LOGIN_FAILED', 'Wrong username or password');
      }
      const refs = { technicianId: Number(row.id) };
      if (row.locked_until !== null && Number(row.locked_until) > now) {
        await insertAuditEvent(db, now, context(row.username), 'login.failed', refs, { reason: 'locked' });
        throw new AppError('ACCOUNT_LOCKED', `Too many failed logins: try again after ${new Date(Number(row.locked_until)).toISOString()}`);
      }
      if (!(await hasher.verify(row.password_hash, password))) {
        const failures = row.failed_logins + 1;
        const locked = failures >= login.maxFailures;
        await store.update(db, row.id, { failed_logins: locked ? 0 : failures, locked_until: locked ? now + login.lockoutMs : null });
        await insertAuditEvent(db, now, context(row.username), locked ? 'login.locked' : 'login.failed', refs, { reason: 'wrong_password' });
        throw new AppError('LOGIN_FAILED', 'Wrong username or password');
      }
      if (!row.active) {
        await insertAuditEvent(db, now, context(row.username), 'login.failed', refs, { reason: 'disabled' });
        throw new AppError('ACCOUNT_DISABLED', 'This account is disabled; ask an administrator');
      }
      await store.update(db, row.id, { failed_logins: 0, locked_until: null, last_login_at: now });
      const technician = toTechnician({ ...row, last_login_at: now });
      await insertAuditEvent(db, now, { actor: { type: 'technician', id: technician.id, name: technician.username, role: technician.role }, remoteAddress }, 'login.succeeded', refs);
      return technician;
    },

    /**
     * On an empty database, creates the first administrator. Returns the
     * generated password when none was configured, so it can be shown once.
     */
    async ensureFirstAdmin(configuredPassword: string | null): Promise<{ username: string; generatedPassword: string | null } | null> {
      if ((await store.count(db)) > 0) return null;
      const password = configuredPassword ?? generatePassword();
      await create({ username: 'admin', displayName: 'Administrator', role: 'admin', password }, { actor: { type: 'system', name: 'first-start' }, remoteAddress: '' });
      return { username: 'admin', generatedPassword: configuredPassword ? null : password };
    },
  };
}

