// Where a recording's bytes go: a file opened once (never over an existing
// one), written with one writev for whatever is ready, synced and closed.
import { mkdir, open, type FileHandle } from 'node:fs/promises';
import { dirname } from 'node:path';
import { ignoreCodes } from '../lib/expected.ts';

/** Where the file's bytes go; a file by default (tests may slow it down). */
export interface RecordingSink {
  write(chunks: Buffer[]): Promise<void>;
  close(): Promise<void>;
}

export async function openFileSink(path: string): Promise<RecordingSink> {
  await mkdir(dirname(path), { recursive: true, mode: 0o750 });
  const handle: FileHandle = await open(path, 'wx', 0o640);
  return {
    write: async (chunks) => {
      let left = chunks;
      while (left.length > 0) {
        let { bytesWritten } = await handle.writev(left);
        const rest: Buffer[] = [];
        for (const c of left) {
          if (bytesWritten >= c.length) bytesWritten -= c.length;
          else {
            rest.push(bytesWritten > 0 ? c.subarray(bytesWritten) : c);
            bytesWritten = 0;
          }
        }
        left = rest;
      }
    },
    close: async () => {
      try {
        await handle.sync().catch(ignoreCodes('EINVAL', 'ENOTSUP', 'EROFS')); // a tmpfs may not sync
      } finally {
        await handle.close();
      }
    },
  };
}

/** `p`'s value, or null once `deadline` (ms since the epoch) has passed. */
export async function withDeadline<T>(p: Promise<T>, deadline: number): Promise<T | null> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<null>((r) => (timer = setTimeout(() => r(null), Math.max(0, deadline - Date.now()))));
  try {
    return await Promise.race([p, late]);
  } finally {
    clearTimeout(timer);
  }
}
