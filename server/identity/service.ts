// Company sign-in as one service: the OpenID Connect providers, the LDAP
// directory, the accounts they sign in to, and the login form's order —
// local accounts first, then the directory (README, "Company sign-in"):
// a username held by a local account is checked against its password only
// (a directory user can never take a local account, the break-glass
// administrator's least of all); any other username goes to the directory
// when LDAP_URL is set, and its account is made at the first sign-in.
import type { Knex } from 'knex';
import type { Clock } from '../clock.ts';
import type { Logger } from '../../lib/logger.ts';
import type { PasswordHasher } from '../technicians/password.ts';
import type { TechnicianService } from '../technicians/service.ts';
import type { PasswordChecked, LoginOrigin } from '../technicians/login.ts';
import type { Technician } from '../technicians/store.ts';
import { technicianStore } from '../technicians/store.ts';
import type { IdentityOptions } from './config.ts';
import { createIdentityAccounts } from './accounts.ts';
import { createOidcProviders } from './oidc.ts';
import { createLdapDirectory, LdapRefused } from './ldap.ts';
import { AppError } from '../errors.ts';

export interface IdentityServiceDeps {
  db: Knex;
  clock: Clock;
  logger: Logger;
  hasher: PasswordHasher;
  technicians: TechnicianService;
  options: IdentityOptions;
}

/** A company sign-in's web session: until when it may live, and the provider's logout. */
export interface SsoSession {
  method: 'oidc' | 'ldap';
  expiresAt: number;
  logoutUrl: string | null;
}

export function createIdentityService({ db, clock, logger, hasher, technicians, options }: IdentityServiceDeps) {
  const accounts = createIdentityAccounts({ db, clock, hasher, technicians });
  const oidc = createOidcProviders(options.oidc, logger);
  const ldap = options.ldap ? createLdapDirectory(options.ldap) : null;

  /** A sign-in's session ends at the provider's expiry or after SSO_SESSION_MAX_MS, whichever comes first. */
  const sessionUntil = (providerExpiresAt: number | null): number => Math.min(providerExpiresAt ?? Infinity, clock.now() + options.ssoSessionMaxMs);

  return {
    oidc,
    accounts,
    sessionUntil,
    ldapEnabled: ldap !== null,
    clock,

    /**
     * The login form: a local account by its password (technicians.authenticate,
     * throttled, LOCAL_LOGIN), else the directory. Returns the technician and,
     * for a directory sign-in, its web session's limits.
     */
    passwordSignIn: async (username: string, password: string, origin: LoginOrigin): Promise<PasswordChecked & { sso?: SsoSession }> => {
      const name = username.trim().toLowerCase();
      const row = ldap ? await technicianStore.byUsername(db, name) : undefined;
      if (!ldap || (row && (row.source ?? 'local') !== 'ldap')) return technicians.authenticate(username, password, origin);
      let technician: Technician;
      try {
        technician = await accounts.signIn(await ldap.verify(name, password), true, origin.address);
      } catch (err) {
        if (err instanceof LdapRefused) await accounts.refused(name, err.reason, { source: 'ldap', providerName: 'LDAP' }, origin.address, row ? Number(row.id) : null);
        else if (err instanceof AppError && err.code === 'SSO_UNAVAILABLE') await accounts.refused(name, 'directory_down', { source: 'ldap', providerName: 'LDAP' }, origin.address, row ? Number(row.id) : null);
        throw err;
      }
      return { ...technician, sso: { method: 'ldap', expiresAt: sessionUntil(null), logoutUrl: null } };
    },
  };
}

export type IdentityService = ReturnType<typeof createIdentityService>;
