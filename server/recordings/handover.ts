// Recordings handed over by repeater nodes that keep their own RECORDINGS_DIR
// (PUT /internal/v1/repeater/recordings/:id; protocol/repeater.ts). Only a
// recording the server ordered from that node is taken: its row names the
// ticket, the file and the node. Refusals that need no body (no length, too
// large, unknown, purged, the disk below DATA_MIN_FREE_BYTES) come before a
// byte is read. The body streams to a `.part` beside its place with its size
// and SHA-256 computed on the way; a body that is not what the node hashed is
// refused and nothing stays on disk; else it is renamed into place (the same
// relative path as on the node, which the server derived when the row was
// written, and never one another row names) and the row is closed with the
// size and SHA-256 of what the server keeps. The same file twice changes
// nothing. The route checks that the sending process holds the node's name.
import { createHash, randomUUID } from 'node:crypto';
import { mkdir, open, rename, stat, unlink } from 'node:fs/promises';
import { dirname, isAbsolute, relative, resolve } from 'node:path';
import type { Knex } from 'knex';
import { diskHasRoom } from '../../lib/disk-room.ts';
import { ignoreCodes } from '../../lib/expected.ts';
import type { Logger } from '../../lib/logger.ts';
import type { RecordingHandoverState } from '../../protocol/repeater.ts';
import type { Clock } from '../clock.ts';
import { AppError } from '../errors.ts';
import { systemActor } from '../audit/actor.ts';
import { insertAuditEvent } from '../audit/store.ts';
import { recordingStore } from './store.ts';

export interface HandoverInput {
  node: string;
  recordingId: string;
  ticketId: number;
  /** The participant whose channel was recorded (issue 26); null or absent: the main channel. */
  participantId?: number | null;
  /** The file's path under RECORDINGS_DIR, as the node named it. */
  file: string;
  /** What the node hashed. */
  sha256: string;
  /** Content-Length (null: none was given). */
  declaredLength: number | null;
  end: { state: RecordingHandoverState; problem: string | null; endedAt: number; durationMs: number };
}

export interface HandedOver {
  bytes: number;
  sha256: string;
  state: string;
  /** True when the server already held this very file (a retry): nothing was changed. */
  unchanged: boolean;
}

export type RecordingHandover = ReturnType<typeof createRecordingHandover>;

/** The disk is measured again each time this many more bytes have arrived. */
const CHECK_EVERY_BYTES = 16 * 1024 * 1024;
const closedStates = new Set(['complete', 'dropped', 'failed']);

export function createRecordingHandover(deps: {
  db: Knex;
  clock: Clock;
  logger: Logger;
  dir: string;
  /** RECORDING_UPLOAD_MAX_BYTES. */
  maxBytes: number;
  /** DATA_MIN_FREE_BYTES (0: off). */
  minFreeBytes: number;
  /** Resolves once the events of a ticket received so far are handled (the row of its recording is written then). */
  ticketSettled?: (ticketId: number) => Promise<void>;
}) {
  const { db, clock } = deps;
  const log = deps.logger.child({ component: 'recording-handover' });
  const root = resolve(deps.dir);

  function pathOf(file: string): string {
    const full = resolve(root, file);
    const rel = relative(root, full);
    if (!rel || rel.startsWith('..') || isAbsolute(rel)) throw new AppError('VALIDATION_FAILED', 'The recording\'s file name leads outside the recordings directory', { fields: [{ field: 'file', message: 'outside the recordings directory' }] });
    return full;
  }

  async function sizeOf(path: string): Promise<number | null> {
    try {
      return (await stat(path)).size;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
      throw err;
    }
  }

  async function ordered(input: HandoverInput) {
    await deps.ticketSettled?.(input.ticketId);
    const row = await recordingStore.get(db, input.recordingId);
    if (!row || row.ticketId !== input.ticketId || row.participantId !== (input.participantId ?? null) || row.file !== input.file || row.node !== input.node) {
      throw new AppError('RECORDING_NOT_FOUND', `No recording ${input.recordingId} of ticket ${input.ticketId} in ${input.file} was ordered from repeater node ${input.node}`);
    }
    // Its file is its own: never renamed over one another row names (recordings.file is unique too, migration 018).
    const other = (await db('recordings').where({ file: row.file }).whereNot({ id: row.id }).first('id')) as { id: string } | undefined;
    if (other) throw new AppError('RECORDING_NOT_FOUND', `The file ${row.file} belongs to another recording (${other.id}): recording ${input.recordingId} is not handed over there`);
    if (row.state === 'purged') throw new AppError('RECORDING_PURGED', `Recording ${input.recordingId} was deleted here (${row.purgeReason ?? 'purged'}); the node need not keep it`);
    return row;
  }

  /** Streams the body to `temp` (created, never overwritten): exactly `declared` bytes, the disk measured on the way. */
  async function write(body: AsyncIterable<Buffer>, temp: string, declared: number): Promise<{ size: number; sha256: string }> {
    const handle = await open(temp, 'wx', 0o640);
    const hash = createHash('sha256');
    let size = 0;
    let nextCheck = CHECK_EVERY_BYTES;
    try {
      for await (const chunk of body) {
        size += chunk.length;
        if (size > declared) throw new AppError('VALIDATION_FAILED', `The body is longer than its Content-Length (${declared} bytes)`);
        hash.update(chunk);
        let at = 0;
        while (at < chunk.length) at += (await handle.write(chunk, at, chunk.length - at)).bytesWritten;
        if (size >= nextCheck) {
          nextCheck = size + CHECK_EVERY_BYTES;
          if (!(await diskHasRoom(root, deps.minFreeBytes, declared - size))) throw diskLow();
        }
      }
      await handle.sync().catch(ignoreCodes('EINVAL', 'ENOTSUP', 'EROFS')); // a tmpfs may not sync
    } finally {
      await handle.close();
    }
    if (size !== declared) throw new AppError('VALIDATION_FAILED', `The recording was cut short: ${size} of ${declared} bytes arrived`);
    return { size, sha256: hash.digest('hex') };
  }

  const diskLow = () => new AppError('DISK_LOW', 'The server\'s recordings disk is below DATA_MIN_FREE_BYTES: the node keeps the recording and hands it over later');

  return {
    async receive(input: HandoverInput, body: AsyncIterable<Buffer>): Promise<HandedOver> {
      if (input.declaredLength === null) throw new AppError('LENGTH_REQUIRED', 'A recording is handed over with its Content-Length');
      if (input.declaredLength > deps.maxBytes) throw new AppError('FILE_TOO_LARGE', `The recording (${input.declaredLength} bytes) is larger than RECORDING_UPLOAD_MAX_BYTES (${deps.maxBytes})`);
      const path = pathOf(input.file);
      await ordered(input);
      if (!(await diskHasRoom(root, deps.minFreeBytes, input.declaredLength))) throw diskLow();

      await mkdir(dirname(path), { recursive: true, mode: 0o750 });
      const temp = `${path}.${randomUUID()}.part`;
      let received: { size: number; sha256: string };
      try {
        received = await write(body, temp, input.declaredLength);
        if (received.sha256 !== input.sha256) {
          throw new AppError('RECORDING_HASH_MISMATCH', `The recording that arrived (${received.size} bytes, SHA-256 ${received.sha256}) is not the one the node hashed (${input.sha256}): send it again`);
        }
      } catch (err) {
        await unlink(temp).catch(ignoreCodes('ENOENT'));
        throw err;
      }

      const row = await ordered(input);
      const same = row.state !== 'recording' && row.sha256 === received.sha256 && row.bytes === received.size;
      if (same || closedStates.has(row.state)) {
        // A retry of what the row already says: kept once (a copy gone missing here is put back), the row untouched.
        if (same && (await sizeOf(path)) !== received.size) await rename(temp, path);
        else await unlink(temp).catch(ignoreCodes('ENOENT'));
        if (!same) throw new AppError('RECORDING_ALREADY_CLOSED', `Recording ${row.id} is already ${row.state} with another file (SHA-256 ${row.sha256 ?? 'none'})`);
        return { bytes: received.size, sha256: received.sha256, state: row.state, unchanged: true };
      }
      await rename(temp, path);
      const { end } = input;
      const written = await recordingStore.close(
        db,
        row.id,
        { state: end.state, endedAt: end.endedAt, durationMs: end.durationMs, bytes: received.size, sha256: received.sha256, problem: end.state === 'complete' ? null : end.problem },
        ['recording', 'incomplete'],
      );
      if (written) {
        const action = end.state === 'complete' ? 'recording.saved' : `recording.${end.state}`;
        await insertAuditEvent(db, clock.now(), systemActor('repeater'), action, { ticketId: row.ticketId, technicianId: row.technicianId }, {
          recordingId: row.id,
          bytes: received.size,
          durationMs: end.durationMs,
          sha256: received.sha256,
          node: input.node,
          handedOver: true,
          ...(end.problem && end.state !== 'complete' ? { problem: end.problem } : {}),
        });
        log.info({ recordingId: row.id, node: input.node, bytes: received.size, state: end.state }, 'recording handed over');
      }
      const now = (await recordingStore.get(db, row.id)) ?? row;
      return { bytes: now.bytes ?? received.size, sha256: now.sha256 ?? received.sha256, state: now.state, unchanged: false };
    },
  };
}
