// How many bytes an upload may have, counted from the database so that every
// server sharing it agrees: the least of
//   - FILE_MAX_BYTES (one file),
//   - what the ticket may still keep (FILE_MAX_BYTES_PER_TICKET: its files on disk),
//   - what the sender's address may still send today (FILE_MAX_BYTES_PER_ADDRESS:
//     the users' files from that address over the last 24 hours, kept or not),
//   - what the server may still keep (FILE_MAX_TOTAL_BYTES: every file on disk),
// and only while the disk keeps DATA_MIN_FREE_BYTES free. `allow` answers
// before a byte is read; `confirm` counts again, with the real size, inside the
// transaction that records the file, under one lock row (migration 012), so
// two uploads on two servers never both spend the last bytes. 0 turns a limit off.
import type { Knex } from 'knex';
import { diskHasRoom } from '../../lib/disk-room.ts';
import { uploadBudgetLock } from '../../migrations/012_upload_budget.ts';
import type { TicketFile } from '../../protocol/events.ts';
import type { Clock } from '../clock.ts';
import { AppError } from '../errors.ts';

const DAY_MS = 24 * 3_600_000;
/** States whose bytes are on disk. */
const keptStates: readonly TicketFile['state'][] = ['offered', 'accepted', 'available'];

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

/** What one upload may have, and the error that refuses more (`size` null: it grew past, its length unknown). */
export interface Allowance {
  bytes: number;
  refusal: (size: number | null) => AppError;
}

type Rule = 'file' | 'ticket' | 'address' | 'total';

const mib = (bytes: number) => `${(bytes / 1024 / 1024).toFixed(1)} MiB`;

export type UploadBudget = ReturnType<typeof createUploadBudget>;

export function createUploadBudget(deps: { db: Knex; clock: Clock; dir: string; limits: UploadLimits }) {
  const { limits } = deps;

  const sum = async (query: Knex.QueryBuilder): Promise<number> => {
    const row = (await query.sum({ n: 'size' }).first()) as { n?: number | string | null } | undefined;
    return Number(row?.n ?? 0);
  };

  /** Bytes spent against each budget, from ticket_files. */
  async function spent(q: Knex | Knex.Transaction, ticketId: number, sender: UploadSender): Promise<Record<Exclude<Rule, 'file'>, number>> {
    const [ticket, address, total] = await Promise.all([
      limits.maxBytesPerTicket ? sum(q('ticket_files').where({ ticket_id: ticketId }).whereIn('state', keptStates)) : 0,
      limits.maxBytesPerAddressPerDay && sender.direction === 'to_technician'
        ? sum(q('ticket_files').where({ sender_address: sender.address, direction: 'to_technician' }).andWhere('created_at', '>', deps.clock.now() - DAY_MS))
        : 0,
      limits.maxTotalBytes ? sum(q('ticket_files').whereIn('state', keptStates)) : 0,
    ]);
    return { ticket, address, total };
  }

  /** The bytes left under each limit that applies (Infinity: none). */
  function left(used: Record<Exclude<Rule, 'file'>, number>, sender: UploadSender): Record<Rule, number> {
    const cap = (limit: number, spentBytes: number) => (limit ? limit - spentBytes : Infinity);
    return {
      file: limits.maxBytes,
      ticket: cap(limits.maxBytesPerTicket, used.ticket),
      address: sender.direction === 'to_technician' ? cap(limits.maxBytesPerAddressPerDay, used.address) : Infinity,
      total: cap(limits.maxTotalBytes, used.total),
    };
  }

  function refusal(rule: Rule, used: Record<Exclude<Rule, 'file'>, number>, size: number | null): AppError {
    const sized = size === null ? '' : `; this one is ${size} bytes`;
    switch (rule) {
      case 'file':
        return new AppError('FILE_TOO_LARGE', `Files may be at most ${limits.maxBytes} bytes (${mib(limits.maxBytes)})${sized}`);
      case 'ticket':
        return new AppError('FILE_QUOTA_TICKET', `The files of one request may take at most ${mib(limits.maxBytesPerTicket)}; this one keeps ${mib(used.ticket)} already${sized}`, {
          limit: mib(limits.maxBytesPerTicket),
          used: mib(used.ticket),
        });
      case 'address':
        return new AppError('FILE_QUOTA_ADDRESS', `Files sent from your address in the last 24 hours reached ${mib(used.address)} of the ${mib(limits.maxBytesPerAddressPerDay)} allowed${sized}: try again later`, {
          limit: mib(limits.maxBytesPerAddressPerDay),
          used: mib(used.address),
        });
      case 'total':
        return new AppError('FILE_STORAGE_FULL', `The server keeps ${mib(used.total)} of files, its limit is ${mib(limits.maxTotalBytes)}${sized}: no more can be sent until older ones are deleted`, {
          limit: mib(limits.maxTotalBytes),
        });
    }
  }

  /** The tightest limit and what is left under it. */
  function tightest(room: Record<Rule, number>): { rule: Rule; bytes: number } {
    let best: { rule: Rule; bytes: number } = { rule: 'file', bytes: room.file };
    for (const rule of ['ticket', 'address', 'total'] as const) if (room[rule] < best.bytes) best = { rule, bytes: room[rule] };
    return best;
  }

  return {
    /** Before the body is read: refuses at once when the disk is low or a limit is spent (or the declared length passes one); else what the upload may have. */
    async allow(ticketId: number, sender: UploadSender, declaredLength: number | null): Promise<Allowance> {
      if (!(await diskHasRoom(deps.dir, limits.minFreeBytes, declaredLength ?? 0))) {
        throw new AppError('DISK_LOW', 'The server is short of disk space: files cannot be sent until an administrator frees some');
      }
      const used = await spent(deps.db, ticketId, sender);
      const { rule, bytes } = tightest(left(used, sender));
      if (bytes <= 0) throw refusal(rule, used, declaredLength);
      return { bytes, refusal: (size) => refusal(rule, used, size) };
    },

    /** In the transaction that records the file: the same counts again with its real size, the lock row held (MariaDB) so servers take turns. */
    async confirm(trx: Knex.Transaction, ticketId: number, sender: UploadSender, size: number): Promise<void> {
      await trx('settings').where({ name: uploadBudgetLock }).forUpdate().first();
      const used = await spent(trx, ticketId, sender);
      const room = left(used, sender);
      for (const rule of ['file', 'ticket', 'address', 'total'] as const) if (size > room[rule]) throw refusal(rule, used, size);
    },
  };
}
