// Files exchanged on a ticket. A technician (the holder, or an administrator)
// offers a file to the user, who accepts (then downloads it) or refuses (it is
// deleted); the user sends a file to the technicians, who download it from the
// ticket, once a technician has accepted the request. Uploads stream to disk
// (receive.ts) within the upload budget (upload-budget.ts: per file, per
// ticket, per address a day, in all, and a disk watermark) — refused before a
// byte is read when the limit is known, else cut off at it, and nothing of a
// refused upload is kept; what uploads under way may write is reserved in
// the database before their bodies are read. Served only as attachments. Every
// send, accept, refuse and download is audited; files older than the
// retention period are deleted (the row stays); what a crash left is removed
// (leftovers.ts).
import { ignoreCodes } from '../../lib/expected.ts';
import { z } from 'zod';
import { randomUUID } from 'node:crypto';
import { createReadStream, type ReadStream } from 'node:fs';
import { stat, unlink } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import type { Readable } from 'node:stream';
import type { Knex } from 'knex';
import type { Clock } from '../clock.ts';
import { AppError, isDatabaseUnavailable } from '../errors.ts';
import type { EventBus } from '../events/event-bus.ts';
import type { TicketFile, TicketView } from '../../protocol/events.ts';
import { systemActor, type ActorContext } from '../audit/actor.ts';
import { insertAuditEvent } from '../audit/store.ts';
import { closedStatuses, userFileStatuses } from '../tickets/state-machine.ts';
import { removeLeftovers } from './leftovers.ts';
import { receiveUpload, type Received } from './receive.ts';
import { createUploadBudget, type Allowance, type UploadLimits, type UploadSender } from './upload-budget.ts';

const DAY_MS = 24 * 3_600_000;

interface Row {
  id: string;
  ticket_id: number;
  direction: TicketFile['direction'];
  technician_id: number | null;
  sender_name: string;
  name: string;
  size: number;
  sha256: string;
  state: TicketFile['state'];
  storage: string;
  created_at: number;
  sender_address: string | null;
}

const toView = (r: Row): TicketFile => ({
  id: r.id,
  direction: r.direction,
  senderName: r.sender_name,
  name: r.name,
  size: Number(r.size),
  sha256: r.sha256,
  state: r.state,
  at: Number(r.created_at),
});

/** An upload's query (?name=<its file name>), the name checked (FILE_NAME_INVALID in words). */
export const uploadQuerySchema = z.object({ name: z.unknown().transform((raw) => fileName(raw)) }).describe('file name');

/** Characters that change the direction of text (marks, embeddings, overrides, isolates): `invoice\u202Egpj.exe` shows as "invoiceexe.jpg". */
const DIRECTION_CONTROLS = /[\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]/;
/**
 * Characters that show as nothing: controls (C0, DEL, C1), format characters
 * (zero-width space and joiners, soft hyphen, invisible operators, tags,
 * byte-order mark), line and paragraph separators, every default-ignorable
 * code point (variation selectors, combining grapheme joiner, Mongolian vowel
 * separator…), and the Hangul fillers, which render blank but are letters.
 */
const INVISIBLE = /[\p{Cc}\p{Cf}\p{Zl}\p{Zp}\p{Default_Ignorable_Code_Point}\u115f\u1160\u3164\uffa0]/gu;

/**
 * A file name as given, checked: refused when it holds a character that
 * changes the direction of text (it could disguise what kind of file it is);
 * invisible characters removed, and refused when nothing visible is left; no
 * path; 1–255 characters.
 */
function fileName(raw: unknown): string {
  if (typeof raw !== 'string' || raw.trim() === '') throw new AppError('FILE_NAME_INVALID', 'Name the file: ?name=<its file name>');
  if (DIRECTION_CONTROLS.test(raw)) {
    throw new AppError('FILE_NAME_INVALID', 'A file name may not contain characters that change the direction of text (they can disguise what kind of file it is): rename the file', { variant: 'direction' });
  }
  const name = raw.replace(INVISIBLE, '').trim();
  if (name === '') throw new AppError('FILE_NAME_INVALID', 'A file name needs at least one visible character', { variant: 'empty' });
  if (/[/\\]/.test(name) || name === '.' || name === '..') throw new AppError('FILE_NAME_INVALID', 'A file name may not contain / or \\ (send the file, not a path)');
  if ([...name].length > 255) throw new AppError('FILE_NAME_INVALID', 'A file name may have at most 255 characters');
  return name;
}

export type FileService = ReturnType<typeof createFileService>;

/** `budget`: the limits past one file's size (per ticket, per address, in all, the disk watermark); unset, none apply. */
export function createFileService(deps: { db: Knex; clock: Clock; bus: EventBus; dir: string; maxBytes: number; budget?: Omit<UploadLimits, 'maxBytes'>; retentionDays: number }) {
  const { db, clock, bus } = deps;
  const root = resolve(deps.dir);
  const pathOf = (storage: string) => join(root, storage);
  const limits: UploadLimits = { maxBytesPerTicket: 0, maxBytesPerAddressPerDay: 0, maxTotalBytes: 0, minFreeBytes: 0, ...deps.budget, maxBytes: deps.maxBytes };
  const budget = createUploadBudget({ db, clock, dir: root, limits });

  function assertOpen(ticket: TicketView): void {
    if (closedStatuses.includes(ticket.status)) throw new AppError('TICKET_CLOSED', `Ticket ${ticket.id} is ${ticket.status}: it takes no new files`);
  }

  /**
   * Within the budget: its share reserved before a byte is read, the body to
   * disk (refused early or cut off at the limit: nothing kept then), recorded
   * by `record`. A failure gives the share back.
   */
  async function receive(ticket: TicketView, sender: UploadSender, body: Readable, declaredLength: number | null, record: (received: Received, allowance: Allowance) => Promise<TicketFile>): Promise<TicketFile> {
    const allowance = await budget.allow(ticket.id, sender, declaredLength);
    try {
      return await record(await receiveUpload(root, clock, body, declaredLength, allowance), allowance);
    } catch (err) {
      await budget.release(allowance).catch((releaseErr: unknown) => {
        if (!isDatabaseUnavailable(releaseErr)) throw releaseErr; // the database away: the share expires by itself
      });
      throw err;
    }
  }

  async function row(ticketId: number, fileId: string): Promise<Row> {
    const r = (await db('ticket_files').where({ id: fileId, ticket_id: ticketId }).first()) as Row | undefined;
    if (!r) throw new AppError('FILE_NOT_FOUND', `No file ${fileId} on ticket ${ticketId}`);
    return r;
  }

  /** Written with the change, last in its transaction: every server's streams see it once this commits. */
  const changed = (trx: Knex.Transaction, ticket: TicketView, file: TicketFile): Promise<void> =>
    bus.record(trx, 'ticket.file', { ticketId: ticket.id, technicianId: ticket.technician?.id ?? null, file });

  /** Records a received file; the budget is counted again in the same transaction (its share turning into the row), and a refusal (or any failure) deletes the file. */
  async function store(ticket: TicketView, direction: TicketFile['direction'], sender: { technicianId: number | null; name: string }, name: string, received: Received, allowance: Allowance, context: ActorContext): Promise<TicketFile> {
    const now = clock.now();
    const r: Row = {
      id: randomUUID(),
      ticket_id: ticket.id,
      direction,
      technician_id: sender.technicianId ?? ticket.technician?.id ?? null,
      sender_name: sender.name.slice(0, 120),
      name,
      size: received.size,
      sha256: received.sha256,
      state: direction === 'to_user' ? 'offered' : 'available',
      storage: received.storage,
      created_at: now,
      sender_address: context.remoteAddress.slice(0, 64) || null,
    };
    try {
      await db.transaction(async (trx) => {
        await budget.confirm(trx, allowance, r.size);
        if (direction === 'to_technician') {
          // Released (or closed) while the bytes arrived: refused as it would have been before.
          const current = (await trx('tickets').where({ id: ticket.id }).first('status')) as { status: TicketView['status'] } | undefined;
          assertUserMaySend({ ...ticket, status: current?.status ?? ticket.status });
        }
        await trx('ticket_files').insert(r);
        await insertAuditEvent(trx, now, context, 'file.sent', { ticketId: ticket.id, technicianId: ticket.technician?.id ?? null }, { fileId: r.id, direction, name, size: r.size, sha256: r.sha256 });
        await changed(trx, ticket, toView(r));
      });
    } catch (err) {
      await unlink(pathOf(r.storage)).catch(ignoreCodes('ENOENT')); // not recorded: not kept
      throw err;
    }
    return toView(r);
  }

  /** The user may send files once a technician has accepted the request, until it is closed. */
  function assertUserMaySend(ticket: TicketView): void {
    assertOpen(ticket);
    if (!userFileStatuses.includes(ticket.status)) {
      throw new AppError('UPLOAD_BEFORE_ACCEPT', 'A file can be sent once a technician has accepted your request; it is still waiting in the queue');
    }
  }

  async function open(r: Row, ticket: TicketView, context: ActorContext): Promise<{ stream: ReadStream; file: TicketFile }> {
    if (r.state === 'purged') throw new AppError('FILE_PURGED', `The file ${r.name} was deleted after ${deps.retentionDays} days`);
    const path = pathOf(r.storage);
    try {
      await stat(path);
    } catch {
      throw new AppError('FILE_NOT_FOUND', `The file ${r.name} is no longer on the server`);
    }
    await insertAuditEvent(db, clock.now(), context, 'file.downloaded', { ticketId: ticket.id, technicianId: ticket.technician?.id ?? null }, { fileId: r.id, name: r.name });
    return { stream: createReadStream(path), file: toView(r) };
  }

  return {
    maxBytes: deps.maxBytes,

    async list(ticketId: number): Promise<TicketFile[]> {
      return ((await db('ticket_files').where({ ticket_id: ticketId }).orderBy('created_at', 'asc')) as Row[]).map(toView);
    },

    /** A technician offers a file to the user: the ticket's holder, or an administrator. */
    async offer(ticket: TicketView, technician: { id: number; displayName: string; role: 'admin' | 'technician' }, checked: string, body: Readable, declaredLength: number | null, context: ActorContext): Promise<TicketFile> {
      if (technician.role !== 'admin' && ticket.technician?.id !== technician.id) {
        throw new AppError('FORBIDDEN', `Only the technician who holds ticket ${ticket.id}, or an administrator, may send its user files`);
      }
      assertOpen(ticket);
      return receive(ticket, { direction: 'to_user', address: context.remoteAddress }, body, declaredLength, (received, allowance) =>
        store(ticket, 'to_user', { technicianId: technician.id, name: technician.displayName }, checked, received, allowance, context),
      );
    },

    /** The user sends a file to the technicians: only once one has accepted the request (UPLOAD_BEFORE_ACCEPT before a byte is read). */
    async fromUser(ticket: TicketView, checked: string, body: Readable, declaredLength: number | null, context: ActorContext): Promise<TicketFile> {
      assertUserMaySend(ticket);
      return receive(ticket, { direction: 'to_technician', address: context.remoteAddress }, body, declaredLength, (received, allowance) =>
        store(ticket, 'to_technician', { technicianId: null, name: ticket.requesterName }, checked, received, allowance, context),
      );
    },

    /**
     * The user answers an offer: accepted (then downloads it) or refused (it is
     * deleted). The answer is one conditional update from 'offered', audited in
     * its transaction: of two answers at once only the winner acts, and a
     * refusal deletes the bytes only when it won.
     */
    async decide(ticket: TicketView, fileId: string, accept: boolean, context: ActorContext): Promise<TicketFile> {
      const r = await row(ticket.id, fileId);
      const notOffered = (now: TicketFile['state']) =>
        new AppError('FILE_NOT_OFFERED', `The file ${r.name} is ${now === 'offered' ? 'not for you' : now}: there is nothing to ${accept ? 'accept' : 'refuse'}`);
      if (r.direction !== 'to_user' || r.state !== 'offered') throw notOffered(r.state);
      const now = clock.now();
      const state = accept ? 'accepted' : 'refused';
      const won = await db.transaction(async (trx) => {
        if ((await trx('ticket_files').where({ id: r.id, state: 'offered' }).update({ state, decided_at: now })) !== 1) return false;
        await insertAuditEvent(trx, now, context, accept ? 'file.accepted' : 'file.refused', { ticketId: ticket.id, technicianId: ticket.technician?.id ?? null }, { fileId: r.id, name: r.name });
        await changed(trx, ticket, toView({ ...r, state }));
        return true;
      });
      if (!won) throw notOffered((await row(ticket.id, fileId)).state);
      if (!accept) await unlink(pathOf(r.storage)).catch(ignoreCodes('ENOENT')); // already gone: nothing to delete
      return toView({ ...r, state });
    },

    /** The user downloads a file offered to them, once accepted. */
    async openForUser(ticket: TicketView, fileId: string, context: ActorContext) {
      const r = await row(ticket.id, fileId);
      if (r.direction !== 'to_user') throw new AppError('FILE_NOT_FOUND', `No file ${fileId} for you on this request`);
      if (r.state !== 'accepted') throw new AppError('FILE_NOT_ACCEPTED', `Accept the file ${r.name} before downloading it`);
      return open(r, ticket, context);
    },

    /** A technician downloads a file of the ticket: its holder, or an administrator. */
    async openForTechnician(ticket: TicketView, technician: { id: number; role: 'admin' | 'technician' }, fileId: string, context: ActorContext) {
      if (technician.role !== 'admin' && ticket.technician?.id !== technician.id) {
        throw new AppError('FORBIDDEN', `Only the technician who holds ticket ${ticket.id}, or an administrator, may download its files`);
      }
      const r = await row(ticket.id, fileId);
      if (r.state === 'refused') throw new AppError('FILE_PURGED', `The user refused ${r.name}; it was deleted`);
      return open(r, ticket, context);
    },

    /** Retention: files older than the retention period are deleted; rows stay, marked purged. */
    async purge(): Promise<number> {
      const now = clock.now();
      const old = (await db('ticket_files').whereIn('state', ['offered', 'accepted', 'available']).andWhere('created_at', '<', now - deps.retentionDays * DAY_MS)) as Row[];
      for (const r of old) {
        await unlink(pathOf(r.storage)).catch(ignoreCodes('ENOENT')); // already gone: the row is what is left to mark
        await db('ticket_files').where({ id: r.id }).update({ state: 'purged', purged_at: now });
        await insertAuditEvent(db, now, systemActor('retention'), 'file.purged', { ticketId: Number(r.ticket_id), technicianId: r.technician_id }, { fileId: r.id, name: r.name, retentionDays: deps.retentionDays });
      }
      return old.length;
    },

    /** What crashes left: shares of uploads that no longer run, `.part` files past the upload deadline, stored files no row keeps after a day. */
    async removeLeftovers(): Promise<{ reservations: number; parts: number; orphans: number }> {
      const reservations = await budget.clearStale();
      return { reservations, ...(await removeLeftovers(db, root)) };
    },
  };
}
