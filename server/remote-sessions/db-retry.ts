// Transactions of the shared state that several servers may run at once on
// the same rows (a session's events, a node's claim): run again when the
// database chose them as a deadlock victim, timed out on a lock, or (SQLite)
// found the file busy — transient errors only. A constraint violation is no
// reason to try again: the same work breaks it again (a session's event that
// breaks one is that event's refusal, session-events.ts). The one exception is
// opt-in (`insertRace`): a transaction that inserts a row only after finding
// none (a node's first claim) meets the row another server inserted
// meanwhile, and the next attempt finds it.
const transient = new Set(['ER_LOCK_DEADLOCK', 'ER_LOCK_WAIT_TIMEOUT', 'SQLITE_BUSY', 'SQLITE_BUSY_SNAPSHOT']);
const insertRaces = new Set(['ER_DUP_ENTRY', 'SQLITE_CONSTRAINT_PRIMARYKEY', 'SQLITE_CONSTRAINT_UNIQUE']);

export async function retrying<T>(work: () => Promise<T>, options: { attempts?: number; insertRace?: boolean } = {}): Promise<T> {
  const attempts = options.attempts ?? 5;
  for (let attempt = 1; ; attempt++) {
    try {
      return await work();
    } catch (err) {
      const code = (err as { code?: string }).code;
      const retryable = !!code && (transient.has(code) || (options.insertRace === true && insertRaces.has(code)));
      if (attempt >= attempts || !retryable) throw err;
      await new Promise((r) => setTimeout(r, 10 * attempt + Math.floor(Math.random() * 20)));
    }
  }
}
