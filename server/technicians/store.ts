// Technician rows. Stores return plain rows; the service decides.
import type { Knex } from 'knex';
import { countRows } from '../db/database.ts';
import type { Role } from './schema.ts';

export interface TechnicianRow {
  id: number;
  username: string;
  display_name: string;
  email: string;
  role: Role;
  active: number | boolean;
  password_hash: string;
  failed_logins: number;
  locked_until: number | null;
  last_login_at: number | null;
  password_changed_at: number;
  created_at: number;
  updated_at: number;
  totp_secret?: string | null;
  totp_enabled_at?: number | null;
  totp_last_step?: number | null;
  language?: string | null;
  /** IANA time zone (migration 029); null follows the browser's. */
  time_zone?: string | null;
  /** Where the account comes from (migration 020); rows older than it read as local. */
  source?: AccountSource;
  provider?: string | null;
  last_login_method?: LoginMethod | null;
}

/** Where an account comes from: a local password, an OpenID Connect provider, the LDAP directory. */
export type AccountSource = 'local' | 'oidc' | 'ldap';
/** How someone signed in: a local account's password, OIDC, LDAP (the audit says it too, with a local login's second factor). */
export type LoginMethod = 'local' | 'oidc' | 'ldap';

/** A technician as the rest of the server sees one: never the hash. */
export interface Technician {
  id: number;
  username: string;
  displayName: string;
  email: string;
  role: Role;
  active: boolean;
  lastLoginAt: number | null;
  createdAt: number;
  /** Two-factor login: whether it is set up, and whether REQUIRE_2FA demands it of this account. */
  twoFactor: { enabled: boolean; required: boolean };
  /** The language their pages use ('en', 'es', 'zh'); null follows the browser. */
  language: string | null;
  /** The time zone their pages show times in (IANA name); null follows the browser. */
  timeZone: string | null;
  /** Where the account comes from, and for OIDC the provider's id (its name is in IdentityOptions). */
  source: AccountSource;
  provider: string | null;
  lastLoginMethod: LoginMethod | null;
}

export type TwoFactorRequirement = 'none' | 'admins' | 'all';

/** REQUIRE_2FA applies to local accounts only: OIDC and LDAP accounts rely on their provider's second factor. */
export function twoFactorRequired(role: Role, requirement: TwoFactorRequirement, source: AccountSource = 'local'): boolean {
  return source === 'local' && (requirement === 'all' || (requirement === 'admins' && role === 'admin'));
}

export function toTechnician(row: TechnicianRow, requirement: TwoFactorRequirement = 'none'): Technician {
  return {
    id: Number(row.id),
    username: row.username,
    displayName: row.display_name,
    email: row.email,
    role: row.role,
    active: Boolean(row.active),
    lastLoginAt: row.last_login_at === null ? null : Number(row.last_login_at),
    createdAt: Number(row.created_at),
    twoFactor: { enabled: row.totp_enabled_at != null, required: twoFactorRequired(row.role, requirement, row.source ?? 'local') },
    language: row.language ?? null,
    timeZone: row.time_zone ?? null,
    source: row.source ?? 'local',
    provider: row.provider ?? null,
    lastLoginMethod: row.last_login_method ?? null,
  };
}

export const technicianStore = {
  byId: (db: Knex, id: number) => db<TechnicianRow>('technicians').where({ id }).first(),
  byUsername: (db: Knex, username: string) => db<TechnicianRow>('technicians').where({ username }).first(),
  count: (db: Knex) => countRows(db('technicians')),
  countActiveAdmins: (db: Knex) => countRows(db('technicians').where({ role: 'admin', active: true })),
  list: (db: Knex) => db<TechnicianRow>('technicians').orderBy('username'),
  insert: async (db: Knex, row: Omit<TechnicianRow, 'id'>): Promise<number> => {
    const [id] = await db('technicians').insert(row);
    return Number(id);
  },
  update: (db: Knex, id: number, patch: Partial<TechnicianRow>) => db('technicians').where({ id }).update(patch),
};
