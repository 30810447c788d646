// Which repeater may open and close which recording's row (event-effects.ts,
// session-events.ts). A `paired` names its recording's file, but the server
// derives the name itself — ticket, recording id, start month
// (`recordingFileName`, the writer's own rule) — and refuses another: a node
// never points its row at a file that is another's. A `recordingClosed` is
// taken only from the sender whose row it is (the node that opened it, or the
// embedded repeater for its own: node null), of the row's ticket and session,
// for the row's file. And a node's close that carries a SHA-256 is taken only
// for a file the server holds, that size and that hash (a node sharing the
// directory, RECORDINGS_UPLOAD=off): a node that hands its recordings over
// closes them by the hand-over (recordings/handover.ts), and its own
// `recordingClosed` carries none (a file that failed or went missing).
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { isAbsolute, relative, resolve } from 'node:path';
import type { Knex } from 'knex';
import type { WireEvent } from '../../protocol/repeater.ts';
import { recordingFileName } from '../../repeater/recording-format.ts';
import { parseChannel } from '../../protocol/participants.ts';
import { ignoreCodes } from '../../lib/expected.ts';
import { AppError } from '../errors.ts';
import { recordingStore } from '../recordings/store.ts';
import type { Runner } from './store.ts';

type Paired = Extract<WireEvent, { type: 'paired' }>;
type Closed = Extract<WireEvent, { type: 'recordingClosed' }>;

/** A `paired` whose recording's file is not the one the server derives is refused (that event only). */
export function checkPairedRecording(e: Paired): void {
  if (!e.recording) return;
  const expected = recordingFileName(e.ticketId, e.recording.id, e.at);
  if (e.recording.file !== expected) {
    throw new AppError('VALIDATION_FAILED', `Recording ${e.recording.id} of ticket ${e.ticketId} begun at ${new Date(e.at).toISOString()} is written to ${expected}, not ${e.recording.file}: refused`, {
      fields: [{ field: 'recording.file', message: `must be ${expected}` }],
    });
  }
}

async function sha256Of(path: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(path)) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

/** Refuses (AppError) a `recordingClosed` from anyone but the row's own sender, or carrying a SHA-256 of a file the server does not hold. */
export async function checkRecordingClosed(trx: Knex, source: Runner, recordingsDir: string | null, e: Closed): Promise<void> {
  const row = await recordingStore.get(trx, e.recordingId);
  const notYours = () => new AppError('RECORDING_NOT_FOUND', `No recording ${e.recordingId} of ticket ${e.ticketId} in ${e.file} was begun by ${source.node === null ? 'the embedded repeater' : `repeater node ${source.node}`}: its close is refused`);
  // The event names the channel ("42" or "42.p7", issue 26); the row, its ticket and participant.
  const channel = parseChannel(e.ticketId);
  if (!row || row.node !== source.node || row.ticketId !== channel?.ticketId || row.participantId !== channel.participantId || row.file !== e.file) throw notYours();
  if (row.remoteSessionId !== null && e.sessionId !== e.recordingId) {
    // (An outbox entry of an older node names no session: it reports the recording's id instead.)
    const session = (await trx('remote_sessions').where({ id: row.remoteSessionId }).first('session_uid')) as { session_uid: string | null } | undefined;
    if (session?.session_uid && session.session_uid !== e.sessionId) throw notYours();
  }
  if (source.node === null || e.sha256 === null) return; // the embedded repeater writes into the server's own directory
  const root = recordingsDir === null ? null : resolve(recordingsDir);
  const path = root === null ? null : resolve(root, row.file);
  const rel = root === null || path === null ? '..' : relative(root, path);
  const size = path === null || rel.startsWith('..') || isAbsolute(rel) ? undefined : await stat(path).then((s) => s.size, ignoreCodes('ENOENT'));
  if (size === undefined || size !== e.bytes || (await sha256Of(path!)) !== e.sha256) {
    throw new AppError('RECORDING_HASH_MISMATCH', `Recording ${e.recordingId}: the server holds no file of ${e.bytes} bytes with SHA-256 ${e.sha256} at ${row.file}; a recording the node keeps is closed by handing it over`);
  }
}
