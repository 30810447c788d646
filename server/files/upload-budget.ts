// How many bytes an upload may have, counted from the database so that every
// server sharing it agrees: the least of
//   - FILE_MAX_BYTES (one file),
//   - what the ticket may still keep (FILE_MAX_BYTES_PER_TICKET: its files on disk),
//   - what the sender's address may still send today (FILE_MAX_BYTES_PER_ADDRESS:
//     the users' files from that address over the last 24 hours, kept or not),
//   - what the server may still keep (FILE_MAX_TOTAL_BYTES: every file on disk),
//   - what the disk may still take above DATA_MIN_FREE_BYTES.
// Uploads still arriving count in every one of them: `allow`, before a byte is
// read, reserves what the upload may write (its declared length, else all it
// may have) in upload_reservations (migration 014), so uploads at once, on one
// server or several, never share the same bytes. While the body streams, the
// disk is measured again (`stillFits`). `confirm` counts again, with the real
// size, in the transaction that records the file, and drops the reservation
// there (the file's row counts now); `release` drops it when the upload fails.
// Counts and reservations change under one lock row (migration 012). A
// reservation older than the upload deadline is counted no more — its upload
// cannot still run: its server died — and housekeeping deletes it. 0 turns a
// limit off.
import { randomUUID } from 'node:crypto';
import type { Knex } from 'knex';
import { diskHasRoom, freeDiskBytes } from '../../lib/disk-room.ts';
import { uploadBudgetLock } from '../../migrations/012_upload_budget.ts';
import type { TicketFile } from '../../protocol/events.ts';
import type { Clock } from '../clock.ts';
import { AppError } from '../errors.ts';
import { UPLOAD_DEADLINE_MS } from './receive.ts';

const DAY_MS = 24 * 3_600_000;
/** A reservation this old is no running upload's: past the upload deadline, with a minute more to record the file. */
export const RESERVATION_STALE_MS = UPLOAD_DEADLINE_MS + 60_000;
/** States whose bytes are on disk. */
export const keptStates: readonly TicketFile['state'][] = ['offered', 'accepted', 'available'];

export interface UploadLimits {
  maxBytes: number;
  maxBytesPerTicket: number;
  maxBytesPerAddressPerDay: number;
  maxTotalBytes: number;
  /** DATA_MIN_FREE_BYTES: the disk watermark of the files directory. */
  minFreeBytes: number;
}

/** Who sends: a user (anonymous, counted by address) or a technician. */
export interface UploadSender {
  direction: TicketFile['direction'];
  /** The client's address (req.ip, after TRUST_PROXY). */
  address: string;
}

/** What one upload may write, reserved for it until it is recorded or fails. */
export interface Allowance {
  /** Its row in upload_reservations. */
  id: string;
  ticketId: number;
  sender: UploadSender;
  /** Its declared length, else all it may have. */
  bytes: number;
  /** The error that refuses more (`size` null: it grew past, its length unknown). */
  refusal: (size: number | null) => AppError;
  /** While the body streams: DISK_LOW once the disk can no longer take what this upload may still write. */
  stillFits: (written: number) => Promise<void>;
}

type Rule = 'file' | 'ticket' | 'address' | 'total' | 'disk';
type Counted = Exclude<Rule, 'file' | 'disk'>;
/** Bytes kept (rows of ticket_files) and being received (live reservations) under each budget. */
type Spent = Record<Counted, { kept: number; receiving: number }>;

const mib = (bytes: number) => `${(bytes / 1024 / 1024).toFixed(1)} MiB`;
const diskLow = () => new AppError('DISK_LOW', 'The server is short of disk space: files cannot be sent until an administrator frees some');

export type UploadBudget = ReturnType<typeof createUploadBudget>;

export function createUploadBudget(deps: { db: Knex; clock: Clock; dir: string; limits: UploadLimits }) {
  const { db, limits } = deps;

  const sum = async (query: Knex.QueryBuilder, column: string): Promise<number> => {
    const row = (await query.sum({ n: column }).first()) as { n?: number | string | null } | undefined;
    return Number(row?.n ?? 0);
  };

  /** Bytes spent against each budget: files kept (ticket_files) and files arriving (live reservations). */
  async function spent(q: Knex | Knex.Transaction, ticketId: number, sender: UploadSender): Promise<Spent> {
    const now = deps.clock.now();
    const files = () => q('ticket_files');
    const arriving = () => q('upload_reservations').where('created_at', '>=', now - RESERVATION_STALE_MS);
    const byAddress = limits.maxBytesPerAddressPerDay && sender.direction === 'to_technician' ? { sender_address: sender.address, direction: 'to_technician' } : null;
    const [ticketKept, ticketReceiving, addressKept, addressReceiving, totalKept, totalReceiving] = await Promise.all([
      limits.maxBytesPerTicket ? sum(files().where({ ticket_id: ticketId }).whereIn('state', keptStates), 'size') : 0,
      limits.maxBytesPerTicket ? sum(arriving().where({ ticket_id: ticketId }), 'bytes') : 0,
      byAddress ? sum(files().where(byAddress).andWhere('created_at', '>', now - DAY_MS), 'size') : 0,
      byAddress ? sum(arriving().where(byAddress), 'bytes') : 0,
      limits.maxTotalBytes ? sum(files().whereIn('state', keptStates), 'size') : 0,
      limits.maxTotalBytes || limits.minFreeBytes ? sum(arriving(), 'bytes') : 0,
    ]);
    return {
      ticket: { kept: ticketKept, receiving: ticketReceiving },
      address: { kept: addressKept, receiving: addressReceiving },
      total: { kept: totalKept, receiving: totalReceiving },
    };
  }

  /** The bytes left under each limit that applies (Infinity: none); `diskRoom`, what the disk may still take. */
  function left(used: Spent, sender: UploadSender, diskRoom: number): Record<Rule, number> {
    const cap = (limit: number, s: { kept: number; receiving: number }) => (limit ? limit - s.kept - s.receiving : Infinity);
    return {
      file: limits.maxBytes,
      ticket: cap(limits.maxBytesPerTicket, used.ticket),
      address: sender.direction === 'to_technician' ? cap(limits.maxBytesPerAddressPerDay, used.address) : Infinity,
      total: cap(limits.maxTotalBytes, used.total),
      disk: diskRoom,
    };
  }

  function refusal(rule: Rule, used: Spent, size: number | null): AppError {
    const sized = size === null ? '' : `; this one is ${size} bytes`;
    const arriving = (counted: Counted) => (used[counted].receiving ? { receiving: mib(used[counted].receiving), variant: 'receiving' } : {});
    switch (rule) {
      case 'file':
        return new AppError('FILE_TOO_LARGE', `Files may be at most ${limits.maxBytes} bytes (${mib(limits.maxBytes)})${sized}`);
      case 'ticket': {
        const more = used.ticket.receiving ? ` and is receiving ${mib(used.ticket.receiving)} more` : '';
        return new AppError('FILE_QUOTA_TICKET', `The files of one request may take at most ${mib(limits.maxBytesPerTicket)}; this one keeps ${mib(used.ticket.kept)} already${more}${sized}`, {
          limit: mib(limits.maxBytesPerTicket),
          used: mib(used.ticket.kept),
          ...arriving('ticket'),
        });
      }
      case 'address': {
        const more = used.address.receiving ? `, and ${mib(used.address.receiving)} more are arriving` : '';
        return new AppError('FILE_QUOTA_ADDRESS', `Files sent from your address in the last 24 hours reached ${mib(used.address.kept)} of the ${mib(limits.maxBytesPerAddressPerDay)} allowed${more}${sized}: try again later`, {
          limit: mib(limits.maxBytesPerAddressPerDay),
          used: mib(used.address.kept),
          ...arriving('address'),
        });
      }
      case 'total': {
        const more = used.total.receiving ? ` and is receiving ${mib(used.total.receiving)} more` : '';
        return new AppError('FILE_STORAGE_FULL', `The server keeps ${mib(used.total.kept)} of files${more}, its limit is ${mib(limits.maxTotalBytes)}${sized}: no more can be sent until older ones are deleted`, {
          limit: mib(limits.maxTotalBytes),
        });
      }
      case 'disk':
        return diskLow();
    }
  }

  /** The tightest limit and what is left under it. */
  function tightest(room: Record<Rule, number>): { rule: Rule; bytes: number } {
    let best: { rule: Rule; bytes: number } = { rule: 'file', bytes: room.file };
    for (const rule of ['ticket', 'address', 'total', 'disk'] as const) if (room[rule] < best.bytes) best = { rule, bytes: room[rule] };
    return best;
  }

  /**
   * The lock row may be missing (a database restored without it), and FOR
   * UPDATE on no row locks nothing: it is put back first, outside any
   * transaction (inserted inside one, two servers' gap locks could deadlock).
   */
  async function lockRowPresent(): Promise<void> {
    if (await db('settings').where({ name: uploadBudgetLock }).first()) return;
    await db('settings').insert({ name: uploadBudgetLock, value: '' }).onConflict('name').ignore();
  }

  /** Takes the lock row for the transaction (MariaDB; SQLite runs one transaction at a time). */
  async function lock(trx: Knex.Transaction): Promise<void> {
    if (!(await trx('settings').where({ name: uploadBudgetLock }).forUpdate().first())) {
      throw new AppError('INTERNAL', 'The upload budget\'s lock row is missing from the settings table', undefined, false);
    }
  }

  /** Under the lock, in a transaction of its own. */
  async function locked<T>(work: (trx: Knex.Transaction) => Promise<T>): Promise<T> {
    await lockRowPresent();
    return db.transaction(async (trx) => {
      await lock(trx);
      return work(trx);
    });
  }

  return {
    /**
     * Before the body is read: refuses at once when a limit is spent, the disk
     * is low, or the declared length passes what is left; else reserves what
     * the upload may write and says how much that is.
     */
    async allow(ticketId: number, sender: UploadSender, declaredLength: number | null): Promise<Allowance> {
      const who: UploadSender = { direction: sender.direction, address: sender.address.slice(0, 64) };
      const { id, bytes, rule, used } = await locked(async (trx) => {
        const used = await spent(trx, ticketId, who);
        // What the disk may take: above the watermark, less what uploads under way may still write.
        const diskRoom = limits.minFreeBytes ? (await freeDiskBytes(deps.dir)) - limits.minFreeBytes - used.total.receiving : Infinity;
        const { rule, bytes: room } = tightest(left(used, who, diskRoom));
        if (room <= 0 || (declaredLength !== null && declaredLength > room)) throw refusal(rule, used, declaredLength);
        const bytes = declaredLength ?? room;
        const id = randomUUID();
        await trx('upload_reservations').insert({ id, ticket_id: ticketId, direction: who.direction, sender_address: who.address || null, bytes, created_at: deps.clock.now() });
        return { id, bytes, rule, used };
      });
      return {
        id,
        ticketId,
        sender: who,
        bytes,
        refusal: (size) => refusal(rule, used, size),
        stillFits: async (written) => {
          if (!(await diskHasRoom(deps.dir, limits.minFreeBytes, bytes - written))) throw diskLow();
        },
      };
    },

    /** In the transaction that records the file: its reservation dropped, the counts taken again with its real size, under the lock. */
    async confirm(trx: Knex.Transaction, allowance: Allowance, size: number): Promise<void> {
      await lock(trx);
      await trx('upload_reservations').where({ id: allowance.id }).delete();
      const used = await spent(trx, allowance.ticketId, allowance.sender);
      const room = left(used, allowance.sender, Infinity);
      for (const rule of ['file', 'ticket', 'address', 'total'] as const) if (size > room[rule]) throw refusal(rule, used, size);
    },

    /** The upload failed: its reservation goes (a no-op once confirmed). */
    async release(allowance: Allowance): Promise<void> {
      await locked((trx) => trx('upload_reservations').where({ id: allowance.id }).delete());
    },

    /** Housekeeping: deletes reservations no running upload can hold any more (their server died). */
    async clearStale(): Promise<number> {
      return locked((trx) => trx('upload_reservations').where('created_at', '<', deps.clock.now() - RESERVATION_STALE_MS).delete());
    },
  };
}
