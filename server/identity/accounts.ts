// Accounts of company sign-in (OpenID Connect, LDAP): an identity the
// provider vouched for is linked to one account — found by (source, issuer,
// subject), made at first sign-in when allowed — and the provider's words
// (role, name, e-mail, language) are applied at each sign-in. A disabled
// account stays disabled whatever the provider says. Every outcome is an
// audit event naming how the person signed in; the checks and the writes they
// guard run in one transaction.
import type { Knex } from 'knex';
import { AppError } from '../errors.ts';
import type { Clock } from '../clock.ts';
import { insertAuditEvent } from '../audit/store.ts';
import type { ActorContext } from '../audit/actor.ts';
import { isUniqueViolation } from '../db/database.ts';
import { generatePassword, type PasswordHasher } from '../technicians/password.ts';
import type { Role } from '../technicians/schema.ts';
import { technicianStore, toTechnician, type Technician, type TechnicianRow } from '../technicians/store.ts';
import type { TechnicianService } from '../technicians/service.ts';
import { identityStore } from './store.ts';

/** Who the provider says signed in. `role` null: the provider does not say (new accounts are technicians, others keep theirs). */
export interface VouchedIdentity {
  source: 'oidc' | 'ldap';
  /** OIDC: the provider's id; LDAP: 'ldap'. */
  provider: string;
  /** The provider's name, for the audit. */
  providerName: string;
  issuer: string;
  subject: string;
  /** The username a new account gets (made free with a suffix when taken, for OIDC). */
  username: string;
  displayName: string;
  email: string;
  language: 'en' | 'es' | 'zh' | null;
  role: Role | null;
}

const loginActor = (username: string, remoteAddress: string): ActorContext => ({ actor: { type: 'system', name: username.slice(0, 64) }, remoteAddress });

export function createIdentityAccounts(deps: { db: Knex; clock: Clock; hasher: PasswordHasher; technicians: TechnicianService }) {
  const { db, clock, hasher, technicians } = deps;

  async function freeUsername(trx: Knex, wanted: string, exact: boolean): Promise<string | null> {
    const base = wanted.toLowerCase().replace(/[^a-z0-9._-]+/g, '-').replace(/^[-.]+|[-.]+$/g, '').slice(0, 56) || 'user';
    for (let n = 1; n <= 50; n++) {
      const name = n === 1 ? base : `${base}-${n}`;
      if (!(await technicianStore.byUsername(trx, name))) return name;
      if (exact) return null;
    }
    return null;
  }

  /** The account an identity signs in to, made when allowed: returns its row and whether it was made now. */
  async function linkOrCreate(trx: Knex, who: VouchedIdentity, mayCreate: boolean, remoteAddress: string): Promise<{ row: TechnicianRow; created: boolean }> {
    const linked = await identityStore.find(trx, who.source, who.issuer, who.subject);
    if (linked) {
      const row = await technicianStore.byId(trx, linked.technician_id);
      if (row) return { row, created: false };
    }
    if (!mayCreate) {
      await insertAuditEvent(trx, clock.now(), loginActor(who.username, remoteAddress), 'login.failed', {}, { reason: 'no_account', method: who.source, provider: who.providerName });
      throw new AppError('SSO_NO_ACCOUNT', `No account here is linked to this ${who.providerName} identity, and accounts are not made at first sign-in (OIDC_AUTO_CREATE=off): ask an administrator`);
    }
    // An LDAP account is the directory's username itself; a name another account holds is never taken over.
    const username = await freeUsername(trx, who.username, who.source === 'ldap');
    if (!username) {
      await insertAuditEvent(trx, clock.now(), loginActor(who.username, remoteAddress), 'login.failed', {}, { reason: 'username_taken', method: who.source, provider: who.providerName });
      throw new AppError('LOGIN_FAILED', `The username "${who.username}" belongs to another account here (not a ${who.providerName} one): ask an administrator`);
    }
    const now = clock.now();
    const role = who.role ?? 'technician';
    const id = await technicianStore.insert(trx, {
      username,
      display_name: who.displayName.slice(0, 120) || username,
      email: who.email,
      role,
      active: true,
      // Never typed by anyone: an OIDC or LDAP account has no password here (login.ts refuses it the form).
      password_hash: await hasher.hash(generatePassword()),
      failed_logins: 0,
      locked_until: null,
      last_login_at: null,
      password_changed_at: now,
      created_at: now,
      updated_at: now,
      language: who.language,
      source: who.source,
      provider: who.source === 'oidc' ? who.provider : null,
    });
    await identityStore.insert(trx, { technician_id: id, source: who.source, issuer: who.issuer, subject: who.subject, created_at: now });
    await insertAuditEvent(trx, now, { actor: { type: 'system', name: who.providerName }, remoteAddress }, 'technician.created', { technicianId: id }, { username, role, source: who.source, provider: who.providerName });
    return { row: (await technicianStore.byId(trx, id))!, created: true };
  }

  return {
    /**
     * Signs a vouched identity in: links (or makes, when `mayCreate`) its
     * account, refuses a disabled one, applies the provider's role, name,
     * e-mail and language, records the login. A role that changed ends the
     * account's other web sessions (their streams close).
     */
    async signIn(who: VouchedIdentity, mayCreate: boolean, remoteAddress: string): Promise<Technician> {
      const attempt = async () =>
        db.transaction(async (trx) => {
          const { row } = await linkOrCreate(trx, who, mayCreate, remoteAddress);
          const now = clock.now();
          if (!row.active) {
            await insertAuditEvent(trx, now, loginActor(row.username, remoteAddress), 'login.failed', { technicianId: Number(row.id) }, { reason: 'disabled', method: who.source, provider: who.providerName });
            return { refused: true as const, row };
          }
          const changes: Partial<TechnicianRow> = {};
          if (who.role && who.role !== row.role) {
            // The provider decides the role — but never demotes the last active administrator (the break-glass way in stays).
            const others = row.role === 'admin' ? await trx('technicians').where({ role: 'admin', active: true }).whereNot({ id: row.id }).forUpdate().select('id') : [1];
            if (others.length > 0) changes.role = who.role;
          }
          if (who.displayName && who.displayName.slice(0, 120) !== row.display_name) changes.display_name = who.displayName.slice(0, 120);
          if (who.email && who.email !== row.email) changes.email = who.email;
          if (who.language && who.language !== row.language) changes.language = who.language;
          if (Object.keys(changes).length) {
            await technicianStore.update(trx, row.id, { ...changes, updated_at: now });
            const shown = { ...(changes.role ? { role: changes.role } : {}), ...(changes.display_name ? { displayName: changes.display_name } : {}), ...(changes.email ? { email: changes.email } : {}) };
            if (Object.keys(shown).length) {
              await insertAuditEvent(trx, now, { actor: { type: 'system', name: who.providerName }, remoteAddress }, 'technician.updated', { technicianId: Number(row.id) }, { changes: shown, source: who.source });
            }
          }
          await technicianStore.update(trx, row.id, { last_login_at: now, last_login_method: who.source });
          const after = { ...row, ...changes, last_login_at: now, last_login_method: who.source };
          const technician = toTechnician(after, technicians.twoFactorRequirement);
          await insertAuditEvent(trx, now, { actor: { type: 'technician', id: technician.id, name: technician.username, role: technician.role }, remoteAddress }, 'login.succeeded', { technicianId: technician.id }, { method: who.source, provider: who.providerName });
          return { refused: false as const, technician, roleChanged: changes.role !== undefined };
        });
      let result;
      try {
        result = await attempt();
      } catch (err) {
        // Two first sign-ins of one identity at once: the second finds the first's account.
        if (!isUniqueViolation(err)) throw err;
        result = await attempt();
      }
      if (result.refused) throw new AppError('ACCOUNT_DISABLED', 'This account is disabled; ask an administrator');
      if (result.roleChanged) {
        await technicians.revoke(result.technician.id, 'role_changed', { actor: { type: 'system', name: who.providerName }, remoteAddress });
      }
      return result.technician;
    },

    /** Records a refused company sign-in (no account is known yet, or the directory refused). */
    async refused(username: string, reason: string, who: { source: 'oidc' | 'ldap'; providerName: string }, remoteAddress: string, technicianId: number | null = null): Promise<void> {
      await insertAuditEvent(db, clock.now(), loginActor(username, remoteAddress), 'login.failed', { technicianId }, { reason, method: who.source, provider: who.providerName });
    },
  };
}

export type IdentityAccounts = ReturnType<typeof createIdentityAccounts>;
