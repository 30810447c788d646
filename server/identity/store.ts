// Links of accounts to their provider's identity (technician_identities). Plain rows.
import type { Knex } from 'knex';

export interface IdentityRow {
  id: number;
  technician_id: number;
  source: 'oidc' | 'ldap';
  issuer: string;
  subject: string;
  created_at: number;
}

export const identityStore = {
  find: (db: Knex, source: 'oidc' | 'ldap', issuer: string, subject: string) => db<IdentityRow>('technician_identities').where({ source, issuer, subject }).first(),
  insert: (db: Knex, row: Omit<IdentityRow, 'id'>) => db('technician_identities').insert(row),
};
