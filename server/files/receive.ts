// Receiving an upload: the body streams to a `.part` file with its SHA-256
// computed on the way, never held in memory, then is renamed into place. The
// upload may have at most `allowance.bytes` (the least of every limit, see
// upload-budget.ts): a body declared larger is refused before a byte is read,
// one that grows past it (chunked) is cut off there. Whatever fails, the part
// written is removed: a refused upload leaves nothing on disk.
import { createHash, randomUUID } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { mkdir, rename, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { ignoreCodes } from '../../lib/expected.ts';
import type { Clock } from '../clock.ts';
import { AppError } from '../errors.ts';
import type { Allowance } from './upload-budget.ts';

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
  try {
    await new Promise<void>((resolveDone, reject) => {
      body.on('data', (chunk: Buffer) => {
        size += chunk.length;
        if (size > allowance.bytes) {
          body.pause();
          reject(allowance.refusal(null));
          return;
        }
        hash.update(chunk);
        if (!out.write(chunk)) {
          body.pause();
          out.once('drain', () => body.resume());
        }
      });
      body.once('end', () => out.end(() => resolveDone()));
      body.once('aborted', () => reject(new AppError('VALIDATION_FAILED', 'The upload was interrupted')));
      body.once('error', reject);
      out.once('error', reject);
    });
    if (declaredLength !== null && size !== declaredLength) throw new AppError('VALIDATION_FAILED', `The upload was cut short: ${size} of ${declaredLength} bytes arrived`);
    await rename(partial, join(root, storage));
    return { storage, size, sha256: hash.digest('hex') };
  } catch (err) {
    // Closed first: a file still being opened would otherwise appear after the unlink.
    if (!out.closed) await new Promise<void>((closed) => out.once('close', () => closed()).destroy());
    await unlink(partial).catch(ignoreCodes('ENOENT')); // may never have been made: nothing to remove then
    throw err;
  }
}
