// Repeater events applied at most once and in order per remote session,
// whichever server receives them (several servers behind one internal door;
// a node's consecutive batches may reach different ones, and a retry may
// reach a second): each session has a high-water mark (remote_session_events:
// the last seq applied), locked and moved in the same transaction as the
// event's effect (event-effects.ts). An event at or below it is a repeat (a
// recording's close is still taken: it is idempotent by its row's state); one
// beyond the next waits, stored (remote_session_events_held), until the gap
// fills — then the held ones follow in order — or gapMs passes, when the gap
// is skipped in words. One refused (its ticket is unknown, it breaks a
// constraint: a recording id or file already taken) is logged, skipped past,
// and said in its result; the others are applied. Only transient errors
// (deadlock, lock wait, a busy SQLite) run the transaction again.
import type { Knex } from 'knex';
import type { WireEvent } from '../../protocol/repeater.ts';
import type { Clock } from '../clock.ts';
import { AppError } from '../errors.ts';
import { retrying } from './db-retry.ts';
import { applyEffect, recordingClosed, type EffectDeps, type LiveEvent } from './event-effects.ts';
import { checkRecordingClosed } from './recording-senders.ts';
import type { Runner } from './store.ts';

/** An event's refusal: an AppError, or a constraint it breaks (no retry makes it pass: it is that event's fault, not the batch's). */
function asRefusal(err: unknown): AppError | null {
  if (err instanceof AppError) return err;
  const code = (err as { code?: unknown } | null)?.code;
  if (typeof code === 'string' && (code.startsWith('SQLITE_CONSTRAINT') || code === 'ER_DUP_ENTRY' || code.startsWith('ER_NO_REFERENCED_ROW') || code.startsWith('ER_ROW_IS_REFERENCED') || code === 'ER_BAD_NULL_ERROR')) {
    return new AppError('VALIDATION_FAILED', `The event conflicts with what the server holds (${code}): refused`);
  }
  return null;
}

/** What an applied event leaves: work for after the commit, or a live event recorded last in the transaction. */
type Queued = (() => unknown) | LiveEvent;

export type Received = { outcome: 'applied' | 'held' | 'repeat' } | { outcome: 'refused'; error: AppError };

export type SessionEvents = ReturnType<typeof createSessionEvents>;

/** How long a session's high-water mark is kept after its last event (a later replay of it is then new to the server). */
const KEEP_MARKS_MS = 7 * 24 * 3_600_000;

interface HeldRow {
  seq: number;
  node: string | null;
  instance: string | null;
  payload: string;
  received_at: number;
}

export function createSessionEvents(deps: EffectDeps & { db: Knex; clock: Clock; gapMs: number }) {
  const { db, clock } = deps;
  const log = deps.logger.child({ component: 'session-events' });

  /** Applies one event in a savepoint: refused (an AppError), it leaves nothing and the session moves past it. */
  async function applyOne(trx: Knex.Transaction, now: number, source: Runner, e: WireEvent, after: Queued[]): Promise<AppError | null> {
    const mine: (() => unknown)[] = [];
    const live: LiveEvent[] = [];
    try {
      await trx.transaction((sp) => applyEffect(deps, { trx: sp, now, source, after: mine, live }, e));
    } catch (caught) {
      const err = asRefusal(caught);
      if (!err) throw caught;
      log.error({ sessionId: e.sessionId, seq: e.seq, type: e.type, ticketId: e.ticketId, code: err.code, err: err.message }, 'a repeater event was refused: skipped');
      return err;
    }
    after.push(...mine, ...live);
    return null;
  }

  /** Applies the held events that now follow `applied`, in order; returns the new mark. */
  async function drain(trx: Knex.Transaction, now: number, sessionUid: string, applied: number, after: Queued[]): Promise<number> {
    for (;;) {
      const next = (await trx('remote_session_events_held').where({ session_uid: sessionUid, seq: applied + 1 }).first()) as HeldRow | undefined;
      if (!next) return applied;
      await trx('remote_session_events_held').where({ session_uid: sessionUid, seq: next.seq }).delete();
      await applyOne(trx, now, { node: next.node, instance: next.instance }, JSON.parse(next.payload) as WireEvent, after);
      applied = Number(next.seq);
    }
  }

  /** Locks a session's mark (made at its first event) and returns it. */
  async function markOf(trx: Knex.Transaction, sessionUid: string, now: number): Promise<number> {
    await trx('remote_session_events').insert({ session_uid: sessionUid, applied_seq: 0, updated_at: now }).onConflict('session_uid').ignore();
    const head = (await trx('remote_session_events').where({ session_uid: sessionUid }).forUpdate().first('applied_seq')) as { applied_seq: number };
    return Number(head.applied_seq);
  }

  /** Runs `work` in a transaction (again when it must), its live events recorded last in it, then what its events queued for after the commit. */
  async function transact<T>(work: (trx: Knex.Transaction, after: Queued[]) => Promise<T>): Promise<T> {
    let after: Queued[] = [];
    const result = await retrying(() => {
      after = [];
      return db.transaction(async (trx) => {
        const done = await work(trx, after);
        for (const q of after) if (typeof q !== 'function') await deps.bus.record(trx, q[0], q[1] as never);
        return done;
      });
    });
    for (const run of after) if (typeof run === 'function') await run();
    return result;
  }

  return {
    /** One event from `source` (a node's process, or the embedded repeater). */
    receive(source: Runner, e: WireEvent): Promise<Received> {
      return transact(async (trx, after) => {
        const now = clock.now();
        let applied = await markOf(trx, e.sessionId, now);
        if (e.seq <= applied) {
          if (e.type !== 'recordingClosed') return { outcome: 'repeat' };
          // A recording's close is taken even as a repeat, with the same checks as in order (its sender's, its file's).
          try {
            await trx.transaction(async (sp) => {
              await checkRecordingClosed(sp, source, deps.recordingsDir ?? null, e);
              await recordingClosed(sp, now, e);
            });
          } catch (caught) {
            const error = asRefusal(caught);
            if (!error) throw caught;
            log.error({ sessionId: e.sessionId, seq: e.seq, type: e.type, ticketId: e.ticketId, code: error.code, err: error.message }, 'a repeated recordingClosed was refused');
            return { outcome: 'refused', error };
          }
          return { outcome: 'repeat' };
        }
        if (e.seq > applied + 1) {
          await trx('remote_session_events_held')
            .insert({ session_uid: e.sessionId, seq: e.seq, node: source.node, instance: source.instance, payload: JSON.stringify(e), received_at: now })
            .onConflict(['session_uid', 'seq'])
            .ignore();
          return { outcome: 'held' };
        }
        const refused = await applyOne(trx, now, source, e, after);
        applied = await drain(trx, now, e.sessionId, e.seq, after);
        await trx('remote_session_events').where({ session_uid: e.sessionId }).update({ applied_seq: applied, updated_at: now });
        return refused ? { outcome: 'refused', error: refused } : { outcome: 'applied' };
      });
    },

    /** Sessions whose oldest held event waited past gapMs: the missing events are given up on, the held ones applied. */
    async sweepGaps(): Promise<number> {
      const before = clock.now() - deps.gapMs;
      const stale = (await db('remote_session_events_held').where('received_at', '<', before).distinct('session_uid')) as { session_uid: string }[];
      let skipped = 0;
      for (const { session_uid: sessionUid } of stale) {
        await transact(async (trx, after) => {
          const now = clock.now();
          let applied = await markOf(trx, sessionUid, now);
          await trx('remote_session_events_held').where({ session_uid: sessionUid }).where('seq', '<=', applied).delete();
          const first = (await trx('remote_session_events_held').where({ session_uid: sessionUid }).orderBy('seq').first()) as HeldRow | undefined;
          if (!first || Number(first.received_at) >= before) return; // filled (or skipped) meanwhile
          log.warn({ sessionId: sessionUid, missing: `${applied + 1}…${Number(first.seq) - 1}`, waitedMs: now - Number(first.received_at) }, 'repeater events never arrived: skipped, the later ones applied');
          applied = await drain(trx, now, sessionUid, Number(first.seq) - 1, after);
          await trx('remote_session_events').where({ session_uid: sessionUid }).update({ applied_seq: applied, updated_at: now });
          skipped += 1;
        });
      }
      return skipped;
    },

    /** Forgets the marks of sessions not heard from for a week. */
    async purge(): Promise<number> {
      return db('remote_session_events').where('updated_at', '<', clock.now() - KEEP_MARKS_MS).delete();
    },
  };
}
