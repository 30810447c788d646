// What a crash leaves in the files directory, for housekeeping to remove: a
// `.part` file whose upload died with its server (older than the upload
// deadline, no running upload's is), and a stored file no row keeps (renamed
// into place, then the server died before recording it; or a refused or purged
// file whose delete failed) once it is a day old. The budgets count from the
// database and never see these: left alone, they would stay for ever. Only the
// names this service writes (`<yyyy-mm>/<uuid>` and `.part`) are touched. A
// file's age is its modification time, the file system's clock, so it is
// measured against the real time, not the service's clock.
import type { Dirent } from 'node:fs';
import { lstat, readdir, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import type { Knex } from 'knex';
import { ignoreCodes } from '../../lib/expected.ts';
import { systemClock } from '../clock.ts';
import { RESERVATION_STALE_MS, keptStates } from './upload-budget.ts';

const DAY_MS = 24 * 3_600_000;
const MONTH = /^\d{4}-\d{2}$/;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
/** Stored names asked about per query. */
const BATCH = 500;

/** A directory's entries; none when it is gone. */
async function entries(dir: string): Promise<Dirent[]> {
  return (await readdir(dir, { withFileTypes: true }).catch(ignoreCodes('ENOENT'))) ?? []; // not made yet: nothing in it
}

/** How long ago a file was last written; null when it is gone already. */
async function age(path: string, now: number): Promise<number | null> {
  const stats = await lstat(path).catch(ignoreCodes('ENOENT')); // removed meanwhile (its upload failed, or was recorded and refused)
  return stats ? now - stats.mtimeMs : null;
}

const remove = (path: string) => unlink(path).catch(ignoreCodes('ENOENT')); // removed meanwhile: nothing left to do

/** Removes what crashes left under `root`; says how many of each. */
export async function removeLeftovers(db: Knex, root: string): Promise<{ parts: number; orphans: number }> {
  const now = systemClock.now();
  let parts = 0;
  const oldStored: string[] = [];
  for (const month of await entries(root)) {
    if (!month.isDirectory() || !MONTH.test(month.name)) continue;
    for (const file of await entries(join(root, month.name))) {
      const part = file.name.endsWith('.part');
      if (!file.isFile() || !UUID.test(part ? file.name.slice(0, -'.part'.length) : file.name)) continue;
      const storage = `${month.name}/${file.name}`;
      const since = await age(join(root, storage), now);
      if (since === null) continue;
      if (part && since > RESERVATION_STALE_MS) {
        await remove(join(root, storage));
        parts++;
      } else if (!part && since > DAY_MS) oldStored.push(storage);
    }
  }
  let orphans = 0;
  for (let i = 0; i < oldStored.length; i += BATCH) {
    const batch = oldStored.slice(i, i + BATCH);
    const rows = (await db('ticket_files').whereIn('storage', batch).whereIn('state', keptStates).select('storage')) as { storage: string }[];
    const kept = new Set(rows.map((r) => r.storage));
    for (const storage of batch) {
      if (kept.has(storage)) continue;
      await remove(join(root, storage));
      orphans++;
    }
  }
  return { parts, orphans };
}
