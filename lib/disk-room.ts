// Free disk space under a directory, for a watermark (DATA_MIN_FREE_BYTES):
// below it, writers that anyone can start (uploads, recordings) stop before
// they fill the disk the database and the logs live on. The directory may not
// exist yet (it is made on first write): then its nearest existing parent is
// measured, the file system it will be made on.
import { statfs } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';

/** Bytes an unprivileged process may still write on the file system that holds `dir`. */
export async function freeDiskBytes(dir: string): Promise<number> {
  let at = resolve(dir);
  for (;;) {
    try {
      const fs = await statfs(at);
      return fs.bavail * fs.bsize;
    } catch (err) {
      const parent = dirname(at);
      if ((err as { code?: unknown }).code !== 'ENOENT' || parent === at) throw err;
      at = parent;
    }
  }
}

/**
 * Whether the file system holding `dir` keeps at least `minFreeBytes` free
 * once `bytes` more are written there. `minFreeBytes` 0 turns the watermark
 * off: always true, and the disk is not asked.
 */
export async function diskHasRoom(dir: string, minFreeBytes: number, bytes = 0): Promise<boolean> {
  if (minFreeBytes <= 0) return true;
  return (await freeDiskBytes(dir)) - bytes >= minFreeBytes;
}
