// API tokens: named, scoped, expiring secrets for integrations. The secret
// (`hd_` and 256 random bits) is shown once and kept only as its SHA-256.
// Every request reads the token's row and its owner from the database — no
// cache in any process — so a revocation, an expiry, a disabled account or a
// lost role counts at once on every server.
import type { Knex } from 'knex';
import type { Clock } from '../clock.ts';
import { randomToken, sha256 } from '../../lib/crypto.ts';
import { AppError } from '../errors.ts';
import { insertAuditEvent } from '../audit/store.ts';
import type { ActorContext } from '../audit/actor.ts';
import type { Technician } from '../technicians/store.ts';
import { roleAllows, type ApiScope } from './scopes.ts';
import { apiTokenStore, scopesOf, toApiTokenView, type ApiTokenView } from './store.ts';

/** What every secret begins with, so a leaked one is recognised (secret scanners, logs). */
export const API_TOKEN_PREFIX = 'hd_';
const SECRET = /^hd_[A-Za-z0-9_-]{43}$/;
/** A use is written down at most this often per token (not a write per request). */
export const LAST_USED_EVERY_MS = 60_000;
const DAY_MS = 86_400_000;

export interface NewApiToken {
  name: string;
  scopes: ApiScope[];
  expiresInDays: number;
}

/** The token a request came with, as the rest of the server sees it. */
export interface ApiTokenUse {
  id: number;
  name: string;
  scopes: ApiScope[];
}

export type ApiTokenService = ReturnType<typeof createApiTokenService>;

export interface ApiTokenServiceDeps {
  db: Knex;
  clock: Clock;
  ownerOf: (technicianId: number) => Promise<Technician>;
  /** After a revocation's commit: the live streams opened with the token close (every server hears it). */
  onRevoked?: (event: { technicianId: number; tokenId: number }) => void;
  /** LOCAL_LOGIN: a local account's tokens act only while the account could sign in (default all). */
  localLogin?: 'admins' | 'all' | 'off';
}

export function createApiTokenService({ db, clock, ownerOf, onRevoked, localLogin = 'all' }: ApiTokenServiceDeps) {
  /** Why the owner may not act now (their local sign-in is turned off), or null. */
  const signInClosed = (owner: Technician): AppError | null => {
    if ((owner.source ?? 'local') !== 'local' || localLogin === 'all' || (localLogin === 'admins' && owner.role === 'admin')) return null;
    return new AppError(
      'LOCAL_LOGIN_OFF',
      localLogin === 'off' ? 'Local accounts may not log in here: sign in with your company\'s account' : 'Only administrators may log in with a local account here: sign in with your company\'s account',
      { variant: localLogin },
    );
  };
  return {
    /** Makes a token for `owner`, with only scopes their role allows; the secret is in the answer and nowhere else. */
    async create(owner: Technician, input: NewApiToken, by: ActorContext): Promise<{ id: number; token: string; expiresAt: number }> {
      const refused = input.scopes.find((scope) => !roleAllows(owner.role, scope));
      if (refused) {
        throw new AppError('API_TOKEN_SCOPE', `Your role (${owner.role}) may not give a token the scope ${refused}: only administrators may`, { scope: refused, variant: 'grant' });
      }
      const token = `${API_TOKEN_PREFIX}${randomToken()}`;
      const now = clock.now();
      const expiresAt = now + input.expiresInDays * DAY_MS;
      const scopes = [...new Set(input.scopes)];
      const id = await db.transaction(async (trx) => {
        const newId = await apiTokenStore.insert(trx, { technician_id: owner.id, name: input.name, token_hash: sha256(token), scopes: scopes.join(' '), created_at: now, expires_at: expiresAt, last_used_at: null, revoked_at: null });
        await insertAuditEvent(trx, now, by, 'token.created', { technicianId: owner.id }, { tokenId: newId, name: input.name, scopes: scopes.join(' '), expiresAt });
        return newId;
      });
      return { id, token, expiresAt };
    },

    /** One's own tokens, newest first (revoked and expired ones too: they say when). */
    async list(ownerId: number): Promise<ApiTokenView[]> {
      return (await apiTokenStore.listOwned(db, ownerId)).map(toApiTokenView);
    },

    /** Revokes one of the owner's tokens; a token already revoked stays as it was. */
    async revoke(owner: Technician, id: number, by: ActorContext): Promise<ApiTokenView> {
      const view = await db.transaction(async (trx) => {
        const row = await apiTokenStore.ownedForUpdate(trx, owner.id, id);
        if (!row) throw new AppError('API_TOKEN_NOT_FOUND', `You have no API token ${id}`);
        if (row.revoked_at === null) {
          const now = clock.now();
          await apiTokenStore.revoke(trx, row.id, now);
          await insertAuditEvent(trx, now, by, 'token.revoked', { technicianId: owner.id }, { tokenId: Number(row.id), name: row.name });
          row.revoked_at = now;
        }
        return toApiTokenView(row);
      });
      onRevoked?.({ technicianId: owner.id, tokenId: view.id });
      return view;
    },

    /**
     * The token and its owner for a secret sent as `Bearer`, or a refusal in
     * words: unknown, revoked, expired (401), or an owner whose account is
     * disabled (403). Read from the database at each request.
     */
    async authenticate(secret: string): Promise<{ token: ApiTokenUse; owner: Technician }> {
      if (!SECRET.test(secret)) {
        throw new AppError('API_TOKEN_INVALID', 'This is not an API token: send Authorization: Bearer hd_… (a token made on your profile page or at POST /api/v1/tokens)', { variant: 'malformed' });
      }
      const row = await apiTokenStore.byHash(db, sha256(secret));
      if (!row) throw new AppError('API_TOKEN_INVALID', 'This API token is not known (it may have been mistyped, or deleted)');
      const now = clock.now();
      if (row.revoked_at !== null) {
        throw new AppError('API_TOKEN_INVALID', `The API token "${row.name}" was revoked on ${new Date(Number(row.revoked_at)).toISOString()}`, { variant: 'revoked' });
      }
      if (Number(row.expires_at) <= now) {
        throw new AppError('API_TOKEN_INVALID', `The API token "${row.name}" expired on ${new Date(Number(row.expires_at)).toISOString()}: make a new one`, { variant: 'expired' });
      }
      const owner = await ownerOf(Number(row.technician_id));
      if (!owner.active) throw new AppError('ACCOUNT_DISABLED', `The account this API token belongs to (${owner.username}) is disabled`);
      const closed = signInClosed(owner);
      if (closed) throw closed;
      const lastUsed = row.last_used_at === null ? null : Number(row.last_used_at);
      if (lastUsed === null || lastUsed < now - LAST_USED_EVERY_MS) await apiTokenStore.touch(db, row.id, now, now - LAST_USED_EVERY_MS);
      return { token: { id: Number(row.id), name: row.name, scopes: scopesOf(row) }, owner };
    },

    /** Whether a live stream opened with this token may go on (not revoked nor expired, owner active and still allowed `scope`). */
    async stillAllowed(tokenId: number, scope: ApiScope): Promise<boolean> {
      const row = await apiTokenStore.byId(db, tokenId);
      if (!row || row.revoked_at !== null || Number(row.expires_at) <= clock.now()) return false;
      const owner = await ownerOf(Number(row.technician_id));
      return owner.active && signInClosed(owner) === null && scopesOf(row).includes(scope) && roleAllows(owner.role, scope);
    },
  };
}
