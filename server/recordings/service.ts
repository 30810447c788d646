// Session recordings on the server's side: rows for what the repeater writes
// (its events arrive through the repeater bridge), who may play and download
// them (administrators, and the technician who held the session), every play
// and download audited, and retention (days, then a total size cap; a purge
// deletes the file and keeps the row).
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { open as openFile, unlink, type FileHandle } from 'node:fs/promises';
import { Readable } from 'node:stream';
import { isAbsolute, relative, resolve } from 'node:path';
import type { Knex } from 'knex';
import type { RecordingResult } from '../../protocol/repeater.ts';
import type { Logger } from '../../lib/logger.ts';
import type { Clock } from '../clock.ts';
import { AppError } from '../errors.ts';
import { systemActor, type ActorContext } from '../audit/actor.ts';
import { insertAuditEvent } from '../audit/store.ts';
import { recordingStore, type RecordingView } from './store.ts';
import { openedRange, parseRange, readLayout, type ByteRange } from './file-serving.ts';
import type { KeyRing } from '../../lib/sealed.ts';

export type { RecordingView };

/** What the ticket API lists of a recording. */
export interface RecordingSummary {
  id: string;
  /** The technician who held the session (they and administrators may play it). */
  technicianId: number | null;
  /** That technician's display name (the ticket page lists each recording with its person). */
  technicianName: string | null;
  /** The participant whose channel this is (issue 26); null: the holder's main channel. */
  participantId: number | null;
  startedAt: number;
  endedAt: number | null;
  durationMs: number | null;
  bytes: number | null;
  state: RecordingView['state'];
}

export type RecordingService = ReturnType<typeof createRecordingService>;

/** A file to send: all of it or one range (`range` set: 206), or a range past its end (416). */
export type ServedRecording =
  | { kind: 'unsatisfiable'; size: number }
  | { kind: 'bytes'; stream: Readable; size: number; range: ByteRange | null; name: string; view: RecordingView };

interface Viewer {
  id: number;
  role: 'admin' | 'technician';
}

const DAY_MS = 24 * 3_600_000;
/** A player's range requests after its first are not audited again within this long (see `open`). */
const AUDIT_AGAIN_AFTER_MS = 10 * 60_000;

export function createRecordingService(deps: {
  db: Knex;
  clock: Clock;
  logger: Logger;
  dir: string;
  retentionDays: number;
  maxTotalBytes: number;
  /** The keys that open encrypted recordings for playback (null: none; such recordings are refused in words). */
  keyRing?: () => KeyRing | null;
}) {
  const { db, clock } = deps;
  /** When each viewer's access to a recording (per purpose) was last audited, in this process. */
  const audited = new Map<string, number>();
  const log = deps.logger.child({ component: 'recordings' });
  const root = resolve(deps.dir);

  /** The file's absolute path, refusing anything that would leave the recordings directory. */
  function pathOf(file: string): string {
    const full = resolve(root, file);
    const rel = relative(root, full);
    if (!rel || rel.startsWith('..') || isAbsolute(rel)) throw new AppError('RECORDING_FILE_MISSING', 'The recording\'s file path is not under the recordings directory');
    return full;
  }

  async function access(id: string, viewer: Viewer) {
    const row = await recordingStore.get(db, id);
    if (!row) throw new AppError('RECORDING_NOT_FOUND', `No recording with id ${id}`);
    if (viewer.role !== 'admin' && row.technicianId !== viewer.id) {
      throw new AppError('FORBIDDEN', `Only administrators and the technician who held the session may see recording ${id}`);
    }
    return row;
  }

  /** Audits a play or download, unless this one continues an access audited moments ago (see `open`). */
  async function auditAccess(row: RecordingView, viewer: Viewer, purpose: 'playback' | 'download', context: ActorContext, fromTheStart: boolean): Promise<void> {
    const now = clock.now();
    const key = `${viewer.id}:${row.id}:${purpose}`;
    const last = audited.get(key);
    if (!fromTheStart && last !== undefined && now - last < AUDIT_AGAIN_AFTER_MS) return;
    if (audited.size >= 10_000) for (const [k, at] of audited) if (now - at >= AUDIT_AGAIN_AFTER_MS) audited.delete(k);
    audited.set(key, now);
    await insertAuditEvent(db, now, context, purpose === 'playback' ? 'recording.played' : 'recording.downloaded', { ticketId: row.ticketId, technicianId: row.technicianId }, { recordingId: row.id });
  }

  async function deleteFile(file: string): Promise<void> {
    try {
      await unlink(pathOf(file));
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
    }
  }

  async function purgeOne(row: RecordingView & { file: string }, reason: 'retention' | 'size_cap', detail: Record<string, unknown>): Promise<boolean> {
    await deleteFile(row.file);
    const now = clock.now();
    if (!(await recordingStore.markPurged(db, row.id, now, reason))) return false;
    await insertAuditEvent(db, now, systemActor('retention'), 'recording.purged', { ticketId: row.ticketId, technicianId: row.technicianId }, { recordingId: row.id, reason, bytes: row.bytes, ...detail });
    return true;
  }

  return {
    /** The repeater began a recording for a session just paired (its row is written here). */
    async started(e: { id: string; file: string; ticketId: number; remoteSessionId: number | null; technicianId: number | null; node: string | null; startedAt: number }): Promise<void> {
      await recordingStore.insert(db, e);
      await insertAuditEvent(db, clock.now(), systemActor('repeater'), 'recording.started', { ticketId: e.ticketId, technicianId: e.technicianId }, { recordingId: e.id });
    },

    /**
     * The repeater closed a recording's file. A node's close that arrives late
     * (its link was down, and the server closed the row as incomplete when it
     * counted the node lost) still replaces that row: the node saw the file end.
     */
    async closed(r: RecordingResult): Promise<void> {
      const end = { state: r.state, endedAt: r.endedAt, durationMs: r.durationMs, bytes: r.bytes, sha256: r.sha256, problem: r.problem };
      const written = await recordingStore.close(db, r.recordingId, end, ['recording', 'incomplete']);
      if (!written) return;
      const row = await recordingStore.get(db, r.recordingId);
      const action = r.state === 'complete' ? 'recording.saved' : `recording.${r.state}`;
      await insertAuditEvent(db, clock.now(), systemActor('repeater'), action, { ticketId: Number(r.ticketId), technicianId: row?.technicianId ?? null }, {
        recordingId: r.recordingId,
        bytes: r.bytes,
        durationMs: r.durationMs,
        sha256: r.sha256,
        ...(r.problem ? { problem: r.problem } : {}),
      });
    },

    /**
     * A ticket's session was closed because nobody will end it (a crash, a lost
     * node): its recordings still "recording" (that session's only, given its
     * row's id) are kept as incomplete, with the size and SHA-256 of what
     * reached the disk.
     */
    async closeOrphans(ticketId: number, actor: ActorContext, problem: string, remoteSessionId?: number): Promise<number> {
      let closed = 0;
      for (const row of await recordingStore.stillRecording(db, ticketId, remoteSessionId)) {
        let bytes = 0;
        let sha256: string | null = null;
        try {
          // Streamed: a recording of hours is not read into memory to be hashed.
          const hash = createHash('sha256');
          for await (const chunk of createReadStream(pathOf(row.file))) {
            hash.update(chunk as Buffer);
            bytes += (chunk as Buffer).length;
          }
          sha256 = hash.digest('hex');
        } catch (err) {
          bytes = 0;
          log.warn({ err, recordingId: row.id }, 'the file of an interrupted recording cannot be read');
        }
        const endedAt = clock.now();
        if (!(await recordingStore.close(db, row.id, { state: 'incomplete', endedAt, durationMs: Math.max(0, endedAt - row.startedAt), bytes, sha256, problem }))) continue;
        await insertAuditEvent(db, endedAt, actor, 'recording.incomplete', { ticketId, technicianId: row.technicianId }, { recordingId: row.id, bytes, sha256, problem });
        closed += 1;
      }
      return closed;
    },

    async forTicket(ticketId: number): Promise<RecordingSummary[]> {
      return (await recordingStore.forTicket(db, ticketId)).map((r) => ({ id: r.id, technicianId: r.technicianId, technicianName: r.technicianName, participantId: r.participantId, startedAt: r.startedAt, endedAt: r.endedAt, durationMs: r.durationMs, bytes: r.bytes, state: r.state }));
    },

    /** A recording's metadata, for those who may see it. */
    async get(id: string, viewer: Viewer): Promise<RecordingView> {
      const { file: _file, ...view } = await access(id, viewer);
      return view;
    },

    /**
     * Opens the file, or one range of it (`rangeHeader`, RFC 9110), for playback
     * or download; refuses purged, missing and unfinished recordings in words.
     * Playback of an encrypted file is served opened (file-serving.ts); a
     * download is the file as stored. Audited: every request for the whole
     * file or a range from byte 0 (a player's first request, a download), and
     * any other range when this viewer's access for this purpose was not
     * audited in the last ten minutes, so a player fetching hundreds of ranges
     * writes one row per page load, and a range that skips the start is never
     * unaudited.
     */
    async open(id: string, viewer: Viewer, purpose: 'playback' | 'download', context: ActorContext, rangeHeader?: string): Promise<ServedRecording> {
      const row = await access(id, viewer);
      if (row.state === 'purged') {
        throw new AppError('RECORDING_PURGED', `Recording ${id} was deleted on ${new Date(row.purgedAt ?? 0).toISOString().slice(0, 10)} (${row.purgeReason === 'size_cap' ? 'the recordings reached their size limit' : 'retention period over'}); its record is kept`);
      }
      if (row.state === 'recording') throw new AppError('RECORDING_IN_PROGRESS', `Recording ${id} is still being written; it can be played once its session ends`);
      const path = pathOf(row.file);
      let handle: FileHandle;
      try {
        handle = await openFile(path, 'r');
      } catch {
        throw new AppError('RECORDING_FILE_MISSING', `The file of recording ${id} is not in the recordings directory (was it moved or deleted by hand?)`);
      }
      let stream: Readable;
      let answer: ReturnType<typeof parseRange>;
      let size: number;
      try {
        const stats = await handle.stat();
        size = stats.size;
        answer = parseRange(rangeHeader, size);
        if (answer.kind === 'unsatisfiable') {
          await handle.close();
          return { kind: 'unsatisfiable', size };
        }
        const range = answer.kind === 'partial' ? answer.range : { start: 0, end: size - 1 };
        const layout = purpose === 'playback' ? await readLayout(handle, size) : null;
        const key = layout?.keyId ? deps.keyRing?.()?.keys.get(layout.keyId) : undefined;
        if (layout?.keyId && !key) {
          throw new AppError('RECORDING_KEY_MISSING', `Recording ${id} is encrypted with key "${layout.keyId}", which this server's recording key ring (RECORDING_KEY, RECORDING_KEY_FILE) does not hold`, { keyId: layout.keyId });
        }
        await auditAccess(row, viewer, purpose, context, answer.kind === 'whole' || range.start === 0);
        if (size === 0) {
          await handle.close();
          stream = Readable.from([]);
        } else if (layout && key) {
          const opened = Readable.from(openedRange(handle, size, layout, key, range, `${path}:${size}:${stats.mtimeMs}`), { objectMode: false });
          opened.once('close', () => void handle.close().catch((err: unknown) => log.warn({ err, recordingId: id }, 'closing a recording file failed')));
          stream = opened;
        } else {
          stream = handle.createReadStream({ start: range.start, end: range.end }); // closes the handle when done
        }
      } catch (err) {
        await handle.close();
        throw err;
      }
      const { file: _file, ...view } = row;
      return { kind: 'bytes', stream, size, range: answer.kind === 'partial' ? answer.range : null, name: `ticket-${row.ticketId}-${row.id}.hcrec`, view };
    },

    /** Retention: files older than the retention period, then the oldest past the size cap. Rows stay, marked purged. */
    async purge(): Promise<{ expired: number; overCap: number }> {
      const now = clock.now();
      const cutoff = now - deps.retentionDays * DAY_MS;
      let expired = 0;
      let overCap = 0;
      const kept: (RecordingView & { file: string })[] = [];
      for (const row of await recordingStore.onDisk(db)) {
        if (row.startedAt < cutoff) {
          if (await purgeOne(row, 'retention', { retentionDays: deps.retentionDays })) expired += 1;
        } else kept.push(row);
      }
      if (deps.maxTotalBytes > 0) {
        let total = kept.reduce((sum, r) => sum + (r.bytes ?? 0), 0);
        for (const row of kept) {
          if (total <= deps.maxTotalBytes) break;
          if (await purgeOne(row, 'size_cap', { maxTotalBytes: deps.maxTotalBytes })) overCap += 1;
          total -= row.bytes ?? 0;
        }
      }
      if (expired || overCap) log.info({ expired, overCap }, 'recordings purged');
      return { expired, overCap };
    },
  };
}
