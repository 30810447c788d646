// API token rows. Stores return plain rows; the service decides.
import type { Knex } from 'knex';
import { apiScopes, type ApiScope } from './scopes.ts';

export interface ApiTokenRow {
  id: number;
  technician_id: number;
  name: string;
  token_hash: string;
  scopes: string;
  created_at: number;
  expires_at: number;
  last_used_at: number | null;
  revoked_at: number | null;
}

/** A token as its owner sees it: never the secret, nor its hash. */
export interface ApiTokenView {
  id: number;
  name: string;
  scopes: ApiScope[];
  createdAt: number;
  expiresAt: number;
  lastUsedAt: number | null;
  revokedAt: number | null;
}

/** Scopes as stored (space-separated); a name this release does not know is dropped, never granted. */
export function scopesOf(row: Pick<ApiTokenRow, 'scopes'>): ApiScope[] {
  return row.scopes.split(' ').filter((s): s is ApiScope => (apiScopes as readonly string[]).includes(s));
}

const nullableNumber = (v: number | null): number | null => (v === null ? null : Number(v));

export function toApiTokenView(row: ApiTokenRow): ApiTokenView {
  return {
    id: Number(row.id),
    name: row.name,
    scopes: scopesOf(row),
    createdAt: Number(row.created_at),
    expiresAt: Number(row.expires_at),
    lastUsedAt: nullableNumber(row.last_used_at),
    revokedAt: nullableNumber(row.revoked_at),
  };
}

export const apiTokenStore = {
  byId: (db: Knex, id: number) => db<ApiTokenRow>('api_tokens').where({ id }).first(),
  byHash: (db: Knex, hash: string) => db<ApiTokenRow>('api_tokens').where({ token_hash: hash }).first(),
  /** One owner's token, locked for the change that follows (in a transaction). */
  ownedForUpdate: (trx: Knex.Transaction, technicianId: number, id: number) => trx<ApiTokenRow>('api_tokens').where({ id, technician_id: technicianId }).forUpdate().first(),
  listOwned: (db: Knex, technicianId: number) => db<ApiTokenRow>('api_tokens').where({ technician_id: technicianId }).orderBy([{ column: 'created_at', order: 'desc' }, { column: 'id', order: 'desc' }]),
  insert: async (db: Knex, row: Omit<ApiTokenRow, 'id'>): Promise<number> => {
    const [id] = await db('api_tokens').insert(row);
    return Number(id);
  },
  revoke: (db: Knex, id: number, at: number) => db('api_tokens').where({ id }).whereNull('revoked_at').update({ revoked_at: at }),
  /** Notes a use, unless one was noted since `notBefore` (servers racing here write once between them). */
  touch: (db: Knex, id: number, at: number, notBefore: number) =>
    db('api_tokens')
      .where({ id })
      .where((q) => {
        void q.whereNull('last_used_at').orWhere('last_used_at', '<', notBefore);
      })
      .update({ last_used_at: at }),
};
