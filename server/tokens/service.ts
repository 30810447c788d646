// Pairing tokens: 256 random bits, given out once, stored only as SHA-256
// with an expiry, bound to a ticket and a side, and redeemed atomically: the
// UPDATE that sets used_at is the one that checks the token is unused and
// unexpired, so two redemptions of one token can never both succeed.
import { randomBytes } from 'node:crypto';
import type { Knex } from 'knex';
import type { Clock } from '../clock.ts';
import { sha256 } from '../tickets/service.ts';

export type PairingSide = 'desktop' | 'viewer';

export interface MintedToken {
  token: string;
  expiresAt: number;
}

export type Redemption =
  | { ok: true; ticketId: number; side: PairingSide; technicianId: number | null }
  | { ok: false; code: 'TOKEN_INVALID' | 'TOKEN_EXPIRED' | 'TOKEN_USED' | 'WRONG_SIDE'; message: string };

interface TokenRow {
  id: number;
  token_hash: string;
  ticket_id: number;
  side: PairingSide;
  technician_id: number | null;
  created_at: number;
  expires_at: number;
  used_at: number | null;
}

export type PairingTokenService = ReturnType<typeof createPairingTokenService>;

export function createPairingTokenService({ db, clock, ttlMs }: { db: Knex; clock: Clock; ttlMs: number }) {
  return {
    async mint(ticketId: number, side: PairingSide, technicianId: number | null): Promise<MintedToken> {
      const token = randomBytes(32).toString('base64url');
      const now = clock.now();
      const expiresAt = now + ttlMs;
      await db('pairing_tokens').insert({
        token_hash: sha256(token),
        ticket_id: ticketId,
        side,
        technician_id: technicianId,
        created_at: now,
        expires_at: expiresAt,
        used_at: null,
      });
      return { token, expiresAt };
    },

    async redeem(token: string, side: PairingSide): Promise<Redemption> {
      if (!/^[A-Za-z0-9_-]{43}$/.test(token)) return { ok: false, code: 'TOKEN_INVALID', message: 'This token is not valid' };
      const hash = sha256(token);
      const now = clock.now();
      const claimed = await db('pairing_tokens')
        .where({ token_hash: hash, side })
        .whereNull('used_at')
        .where('expires_at', '>', now)
        .update({ used_at: now });
      const row = await db<TokenRow>('pairing_tokens').where({ token_hash: hash }).first();
      if (claimed === 1 && row) {
        return { ok: true, ticketId: Number(row.ticket_id), side: row.side, technicianId: row.technician_id === null ? null : Number(row.technician_id) };
      }
      if (!row) return { ok: false, code: 'TOKEN_INVALID', message: 'This token is not valid' };
      if (row.side !== side) return { ok: false, code: 'WRONG_SIDE', message: `This token is for the ${row.side} side` };
      if (row.used_at !== null) return { ok: false, code: 'TOKEN_USED', message: 'This token was already used; open the session again for a new one' };
      return { ok: false, code: 'TOKEN_EXPIRED', message: 'This token has expired; open the session again for a new one' };
    },

    /** Deletes tokens that expired over an hour ago. */
    async purgeExpired(): Promise<number> {
      return db('pairing_tokens').where('expires_at', '<', clock.now() - 3_600_000).delete();
    },
  };
}
