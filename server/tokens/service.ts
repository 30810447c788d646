// Pairing tokens: 256 random bits, given out once, stored only as SHA-256
// with an expiry, bound to a ticket and a side, and redeemed atomically: the
// UPDATE that sets used_at is the one that checks the token is unused and
// unexpired, so two redemptions of one token can never both succeed.
import type { Knex } from 'knex';
import type { Clock } from '../clock.ts';
import { randomToken, sha256 } from '../../lib/crypto.ts';
import type { LegSide } from '../../protocol/repeater.ts';
import type { TicketView } from '../../protocol/events.ts';
import { connectableStatuses } from '../../protocol/tickets.ts';
import { AppError } from '../errors.ts';

export type PairingSide = LegSide;

export interface MintedToken {
  token: string;
  expiresAt: number;
}

export type Redemption =
  | { ok: true; ticketId: number; side: PairingSide; technicianId: number | null; participantId: number | null }
  | { ok: false; code: 'TOKEN_INVALID' | 'TOKEN_EXPIRED' | 'TOKEN_USED' | 'WRONG_SIDE'; message: string };

interface TokenRow {
  id: number;
  token_hash: string;
  ticket_id: number;
  side: PairingSide;
  technician_id: number | null;
  /** The participant whose channel ("42.p7") the token opens; null: the main channel. */
  participant_id?: number | null;
  created_at: number;
  expires_at: number;
  used_at: number | null;
}

export type PairingTokenService = ReturnType<typeof createPairingTokenService>;

export function createPairingTokenService({ db, clock, ttlMs }: { db: Knex; clock: Clock; ttlMs: number }) {
  return {
    /**
     * A token for one leg of a ticket, if that leg may connect now: the ticket
     * is approved or in session (the user allowed it), and a viewer's token goes
     * only to the technician who holds it (`technicianId`). With `participantId`
     * it opens that participant's channel (issue 26): the caller checked the
     * participant is connected and, for a viewer, is `technicianId`.
     */
    mintFor(ticket: TicketView, side: PairingSide, technicianId: number | null, participantId: number | null = null): Promise<MintedToken> {
      if (side === 'viewer' && (technicianId === null || (participantId === null && ticket.technician?.id !== technicianId))) {
        throw new AppError('FORBIDDEN', `Only the technician who holds ticket ${ticket.id} may view it`);
      }
      if (!connectableStatuses.includes(ticket.status)) {
        const status = ticket.status.replace('_', ' ');
        throw new AppError(
          'ILLEGAL_TRANSITION',
          side === 'viewer'
            ? `Ticket ${ticket.id} is ${status}: the user has not allowed a session`
            : `A desktop token needs an approved ticket; help request ${ticket.id} is ${status}`,
        );
      }
      return this.mint(ticket.id, side, side === 'viewer' ? technicianId : null, participantId);
    },

    async mint(ticketId: number, side: PairingSide, technicianId: number | null, participantId: number | null = null): Promise<MintedToken> {
      const token = randomToken();
      const now = clock.now();
      const expiresAt = now + ttlMs;
      await db('pairing_tokens').insert({
        token_hash: sha256(token),
        ticket_id: ticketId,
        side,
        technician_id: technicianId,
        participant_id: participantId,
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
        const participantId = row.participant_id === null || row.participant_id === undefined ? null : Number(row.participant_id);
        return { ok: true, ticketId: Number(row.ticket_id), side: row.side, technicianId: row.technician_id === null ? null : Number(row.technician_id), participantId };
      }
      if (!row) return { ok: false, code: 'TOKEN_INVALID', message: 'This token is not valid' };
      if (row.side !== side) return { ok: false, code: 'WRONG_SIDE', message: `This token is for the ${row.side} side` };
      if (row.used_at !== null) return { ok: false, code: 'TOKEN_USED', message: 'This token was already used; open the session again for a new one' };
      return { ok: false, code: 'TOKEN_EXPIRED', message: 'This token has expired; open the session again for a new one' };
    },

    /** The ticket a token names, without spending it (null for a token that names none): lets a leg at the wrong node be refused with its token still good. */
    async ticketOf(token: string): Promise<number | null> {
      if (!/^[A-Za-z0-9_-]{43}$/.test(token)) return null;
      const row = await db<TokenRow>('pairing_tokens').where({ token_hash: sha256(token) }).first('ticket_id');
      return row ? Number(row.ticket_id) : null;
    },

    /** Deletes tokens that expired over an hour ago. */
    async purgeExpired(): Promise<number> {
      return db('pairing_tokens').where('expires_at', '<', clock.now() - 3_600_000).delete();
    },
  };
}
