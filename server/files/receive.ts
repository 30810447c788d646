// Receiving an upload: the body streams to a `.part` file with its SHA-256
// computed on the way, never held in memory, then is renamed into place. The
// upload may have at most `allowance.bytes` (the least of every limit, see
// upload-budget.ts): a body declared larger is refused before a byte is read,
// one that grows past it (chunked) is cut off there. Every few MiB the disk is
// measured again (`allowance.stillFits`: DISK_LOW when another writer took the
// room), and an upload must arrive within UPLOAD_DEADLINE_MS (so a reservation
// older than that is no running upload's). Whatever fails, the part written is
// removed: a refused upload leaves nothing on disk.
import { createHash, randomUUID } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { mkdir, rename, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { ignoreCodes } from '../../lib/expected.ts';
import type { Clock } from '../clock.ts';
import { AppError } from '../errors.ts';
import type { Allowance } from './upload-budget.ts';

/** The longest an upload may take, as long as Node's HTTP server gives a whole request (requestTimeout, 300 s). */
export const UPLOAD_DEADLINE_MS = 5 * 60_000;
/** The disk is measured again each time this many more bytes have arrived. */
const CHECK_EVERY_BYTES = 4 * 1024 * 1024;

export interface Received {
  /** Where it is, under the files directory: `<yyyy-mm>/<uuid>`. */
  storage: string;
  size: number;
  sha256: string;
}

export async function receiveUpload(root: string, clock: Clock, body: Readable, declaredLength: number | null, allowance: Allowance): Promise<Received> {
  if (declaredLength !== null && declaredLength > allowance.bytes) throw allowance.refusal(declaredLength);
  const month = new Date(clock.now()).toISOString().slice(0, 7);
  await mkdir(join(root, month), { recursive: true, mode: 0o750 });
  const storage = `${month}/${randomUUID()}`;
  const partial = `${join(root, storage)}.part`;
  const out = createWriteStream(partial, { flags: 'wx', mode: 0o640 });
  const hash = createHash('sha256');
  let size = 0;
  let deadline: NodeJS.Timeout | undefined;
  try {
    await new Promise<void>((resolveDone, reject) => {
      let failed = false;
      let ended = false;
      const fail = (err: unknown) => {
        if (failed) return;
        failed = true;
        body.pause(); // not read further: the answer closes the connection
        reject(err instanceof Error ? err : new Error(String(err)));
      };
      const interrupted = () => fail(new AppError('VALIDATION_FAILED', 'The upload was interrupted'));
      // Reading waits while the file catches up or the disk is measured, and goes on once neither holds it.
      let holds = 0;
      const hold = () => {
        if (holds++ === 0) body.pause();
      };
      const letGo = () => {
        if (--holds === 0 && !failed) body.resume();
      };
      let measuring: Promise<void> = Promise.resolve();
      let nextCheck = CHECK_EVERY_BYTES;
      deadline = setTimeout(() => fail(new AppError('UPLOAD_TIMEOUT', `The upload took longer than ${UPLOAD_DEADLINE_MS / 60_000} minutes: send it again`)), UPLOAD_DEADLINE_MS);
      deadline.unref();
      body.on('data', (chunk: Buffer) => {
        if (failed) return;
        size += chunk.length;
        if (size > allowance.bytes) {
          fail(allowance.refusal(null));
          return;
        }
        hash.update(chunk);
        if (!out.write(chunk)) {
          hold();
          out.once('drain', letGo);
        }
        if (size >= nextCheck) {
          nextCheck = size + CHECK_EVERY_BYTES;
          hold();
          measuring = allowance.stillFits(size).then(letGo, fail);
        }
      });
      body.once('end', () => {
        ended = true;
        void measuring.then(() => {
          if (!failed) out.end(() => resolveDone());
        });
      });
      body.once('aborted', interrupted);
      body.once('close', () => {
        if (!ended) interrupted();
      });
      body.once('error', fail);
      out.once('error', fail);
    });
    if (declaredLength !== null && size !== declaredLength) throw new AppError('VALIDATION_FAILED', `The upload was cut short: ${size} of ${declaredLength} bytes arrived`);
    await rename(partial, join(root, storage));
    return { storage, size, sha256: hash.digest('hex') };
  } catch (err) {
    // Closed first: a file still being opened would otherwise appear after the unlink.
    if (!out.closed) await new Promise<void>((closed) => out.once('close', () => closed()).destroy());
    await unlink(partial).catch(ignoreCodes('ENOENT')); // may never have been made: nothing to remove then
    throw err;
  } finally {
    clearTimeout(deadline);
  }
}
