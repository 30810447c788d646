// Progress of a long migration step (a backfill over every ticket): a reporter
// the process can replace (the benchmark prints it; a server's start leaves
// the default, which writes to stderr only for tables big enough to take a while).
export type MigrationProgress = (step: string, done: number, total: number) => void;

const QUIET_BELOW_ROWS = 50_000;

let reporter: MigrationProgress = (step, done, total) => {
  if (total >= QUIET_BELOW_ROWS) process.stderr.write(`migration ${step}: ${done} of ${total} (${Math.round((done / Math.max(1, total)) * 100)}%)\n`);
};

export function setMigrationProgress(next: MigrationProgress): void {
  reporter = next;
}

export function reportProgress(step: string, done: number, total: number): void {
  reporter(step, done, total);
}

/** Runs `work(fromId, toId)` over the table's id range in chunks, reporting progress after each. */
export async function inIdChunks(step: string, first: number, last: number, total: number, chunk: number, work: (fromId: number, toId: number) => Promise<void>): Promise<void> {
  for (let from = first; from <= last; from += chunk) {
    await work(from, from + chunk - 1);
    reportProgress(step, Math.min(total, Math.round(((from + chunk - first) / Math.max(1, last - first + 1)) * total)), total);
  }
  if (total === 0) reportProgress(step, 0, 0);
}
