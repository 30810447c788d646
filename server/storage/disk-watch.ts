// The administrators' view of the disk watermark (DATA_MIN_FREE_BYTES): which
// of the directories anyone can make the server write to — files sent on
// tickets, session recordings — is short of free space now. Asked as pages
// render (one statfs each); nothing is cached, so it clears as soon as space
// is freed.
import { freeDiskBytes } from '../../lib/disk-room.ts';
import { ignoreCodes } from '../../lib/expected.ts';

export type WatchedData = 'files' | 'recordings';

export interface LowDisk {
  what: WatchedData;
  dir: string;
  freeBytes: number;
  minFreeBytes: number;
}

export type DiskWatch = ReturnType<typeof createDiskWatch>;

export function createDiskWatch(deps: { dirs: Readonly<Record<WatchedData, string>>; minFreeBytes: number }) {
  return {
    /** The watched directories below the watermark (none when it is 0). One the server may not measure is left out. */
    async low(): Promise<LowDisk[]> {
      if (deps.minFreeBytes <= 0) return [];
      const found: LowDisk[] = [];
      for (const what of Object.keys(deps.dirs) as WatchedData[]) {
        const dir = deps.dirs[what];
        const freeBytes = await freeDiskBytes(dir).catch(ignoreCodes('EACCES', 'EPERM', 'ENOTDIR')); // not ours to measure: the writer will say
        if (freeBytes !== undefined && freeBytes < deps.minFreeBytes) found.push({ what, dir, freeBytes, minFreeBytes: deps.minFreeBytes });
      }
      return found;
    },
  };
}
