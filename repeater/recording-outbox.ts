// A repeater process with its own RECORDINGS_DIR hands every recording over
// to the server (RECORDINGS_UPLOAD=on) through its link: PUT
// /internal/v1/repeater/recordings/:id, the file as the body, what the writer
// hashed in a header, how it ended in the query (protocol/repeater.ts). The
// server closes the recording's row with what it wrote, so the node sends no
// `recordingClosed` for a file it hands over: the server never records a
// SHA-256 for a file it does not hold.
//
// The outbox, `<RECORDINGS_DIR>/.outbox/<node>/` (one per node name, so nodes
// sharing a disk never touch each other's):
//   <recordingId>.json   written when the recording begins ({ recordingId,
//                        ticketId, file, startedAt, end: null }) and again,
//                        with how it ended, when it closes
//   <recordingId>.hcrec  the file, moved here from its place when it closes
// Handed over, both are deleted (the server keeps the only copy). A node that
// starts finds what its previous life left: a recording that never closed (the
// process was killed) is handed over as `incomplete`, cut short where its
// last whole block ends; one that closed but was not handed over yet goes as
// it ended. Moving the file first keeps a shared directory safe too: the
// server writes its copy at the original path.
//
// While the server cannot be reached (or its disk is low: 507) the node keeps
// trying, backing off up to 60 s, for as long as it runs; the link reopening
// tries at once. Each recording backs off on its own: one that keeps failing
// (a server error on that file, an upload that times out) goes behind the
// others, which are handed over meanwhile. A refusal (the server answered 4xx: a file it did not order,
// a SHA-256 that does not match) is tried again at most MAX_REFUSALS times,
// then parked (kept in the outbox, logged) until the node starts again.
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { mkdir, readFile, readdir, rename, stat, unlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { ignoreCodes } from '../lib/expected.ts';
import { RECORDING_HEADERS, type RecordingHandoverState } from '../protocol/repeater.ts';
import type { RepeaterLogger, SessionRecordingResult } from './contract.ts';
import type { ServerLink } from './server-link.ts';

interface Entry {
  recordingId: string;
  /** The remote session it records (an entry of an older version has none: the recording's id stands in). */
  sessionId?: string;
  ticketId: string;
  file: string;
  startedAt: number;
  /** How it ended (null while it records); bytes and SHA-256 of what is handed over. */
  end: { state: RecordingHandoverState; problem: string | null; endedAt: number; durationMs: number; bytes: number; sha256: string } | null;
}

export interface RecordingOutboxOptions {
  recordingsDir: string;
  node: string;
  logger: RepeaterLogger;
  /** The link: `putRecording` hands a file over, `report` sends an event (a recording with nothing to hand over still closes there). */
  link: Pick<ServerLink, 'putRecording' | 'report'>;
  /** Resolves true once the events reported so far reached the server (the recording's row is written from them). */
  eventsDelivered: () => Promise<boolean>;
  maxBackoffMs?: number;
}

const MAX_REFUSALS = 5;
const CUT_SHORT = 'the repeater node stopped before the recording was closed; it is kept up to its last whole block';

type Outcome = 'done' | 'retry' | 'refused';

export class RecordingOutbox {
  readonly #o: Required<RecordingOutboxOptions>;
  readonly #box: string;
  readonly #log: RepeaterLogger;
  /** Recordings to hand over, in order; one that failed goes behind the others. */
  readonly #queue: string[] = [];
  readonly #refusals = new Map<string, number>();
  /** Each failed recording's own backoff: when it is due again, and the wait after its next failure. */
  readonly #retry = new Map<string, { at: number; backoff: number }>();
  /** Each recording's outbox writes, in order (its close waits for its beginning). */
  readonly #writes = new Map<string, Promise<void>>();
  #running = false;
  #wake: (() => void) | null = null;
  #current: AbortController | null = null;
  #closed = false;

  constructor(options: RecordingOutboxOptions) {
    this.#o = { maxBackoffMs: 60_000, ...options };
    // Node names may hold "." and ":": one safe folder name per node.
    this.#box = join(options.recordingsDir, '.outbox', options.node.replace(/[^A-Za-z0-9_-]/g, (c) => `%${c.charCodeAt(0).toString(16)}`));
    this.#log = options.logger.child({ component: 'recording-outbox' });
  }

  /** Recordings not handed over yet. */
  get pending(): number {
    return this.#queue.length;
  }

  /** Takes up what the node's previous life left (see above), then hands it over. */
  async start(): Promise<void> {
    const names = await readdir(this.#box).catch(ignoreCodes('ENOENT')); // made with the first recording
    for (const name of (names ?? []).filter((n) => n.endsWith('.json')).sort()) {
      let entry: Entry;
      try {
        entry = JSON.parse(await readFile(join(this.#box, name), 'utf8')) as Entry;
      } catch (err) {
        this.#log.error({ err, entry: name }, 'an outbox entry cannot be read; left where it is');
        continue;
      }
      if (!entry.end) {
        const moved = await this.#moveIn(entry);
        if (moved === null) {
          this.#log.warn({ recordingId: entry.recordingId, file: entry.file }, 'a recording cut short left no file; nothing to hand over');
          await this.#forget(entry.recordingId);
          continue;
        }
        const { bytes, sha256, mtimeMs } = await this.#measure(entry.recordingId);
        if (bytes === 0) {
          await unlink(moved).catch(ignoreCodes('ENOENT'));
          await this.#forget(entry.recordingId);
          continue;
        }
        const endedAt = Math.max(entry.startedAt, Math.floor(mtimeMs));
        entry.end = { state: 'incomplete', problem: CUT_SHORT, endedAt, durationMs: endedAt - entry.startedAt, bytes, sha256 };
        await this.#save(entry);
        this.#log.warn({ recordingId: entry.recordingId, bytes }, 'a recording cut short by the node\'s last stop will be handed over as incomplete');
      }
      this.#enqueue(entry.recordingId);
    }
  }

  /** A recording began (the session paired): its entry, so a kill leaves a trace. */
  begun(recording: { id: string; file: string }, ticketId: string, startedAt: number, sessionId: string): void {
    this.#serial(recording.id, () => this.#save({ recordingId: recording.id, sessionId, ticketId, file: recording.file, startedAt, end: null }));
  }

  /** A recording closed: its file moves into the outbox and is handed over (nothing written: the close goes as an event). */
  closed(result: SessionRecordingResult): void {
    this.#serial(result.recordingId, async () => {
      const entry: Entry = { recordingId: result.recordingId, sessionId: result.sessionId, ticketId: result.ticketId, file: result.file, startedAt: result.startedAt, end: null };
      if (result.bytes === 0 || !result.sha256) {
        // Nothing was written (a recording that failed at once): its close goes as an event.
        this.#o.link.report({ type: 'recordingClosed', ...result });
        await this.#forget(result.recordingId);
        return;
      }
      if ((await this.#moveIn(entry)) === null) {
        this.#missing(result, 'when it closed');
        return;
      }
      entry.end = { state: result.state, problem: result.problem, endedAt: result.endedAt, durationMs: result.durationMs, bytes: result.bytes, sha256: result.sha256 };
      await this.#save(entry);
      this.#enqueue(result.recordingId);
    });
  }

  /** Try now (the link is back): every recording waiting out its backoff is due at once. */
  kick(): void {
    for (const retry of this.#retry.values()) retry.at = 0;
    this.#wake?.();
  }

  /** Resolves once everything queued is handed over, or after `timeoutMs` (what is left stays for the next start). */
  async drain(timeoutMs: number): Promise<boolean> {
    const deadline = Date.now() + timeoutMs;
    await Promise.all([...this.#writes.values()]);
    while (this.#queue.length > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    return this.#queue.length === 0;
  }

  close(): void {
    this.#closed = true;
    this.#current?.abort(new Error('the node is stopping'));
    this.#wake?.();
  }

  #serial(id: string, work: () => Promise<void>): void {
    const next = (this.#writes.get(id) ?? Promise.resolve()).then(work).catch((err: unknown) => this.#log.error({ err, recordingId: id }, 'the recording outbox could not note a recording'));
    this.#writes.set(id, next);
    void next.then(() => {
      if (this.#writes.get(id) === next) this.#writes.delete(id);
    });
  }

  #enqueue(id: string): void {
    if (!this.#queue.includes(id)) this.#queue.push(id);
    this.#pump();
  }

  #pump(): void {
    if (this.#running || this.#closed) return;
    this.#running = true;
    void this.#run().finally(() => {
      this.#running = false;
      if (this.#queue.length > 0) this.#pump();
    });
  }

  async #run(): Promise<void> {
    while (this.#queue.length > 0 && !this.#closed) {
      // The first recording that is due: one that keeps failing waits out its own backoff, the later ones go meanwhile.
      const now = Date.now();
      const id = this.#queue.find((q) => (this.#retry.get(q)?.at ?? 0) <= now);
      if (id === undefined) {
        await this.#sleep(Math.min(...this.#queue.map((q) => this.#retry.get(q)?.at ?? now)) - now);
        continue;
      }
      const outcome = await this.#attempt(id).catch((err: unknown): Outcome => {
        this.#log.warn({ err: (err as Error).message, recordingId: id }, 'handing a recording over failed; will try again');
        return 'retry';
      });
      if (outcome === 'done') {
        this.#dequeue(id);
        continue;
      }
      if (outcome === 'refused') {
        const refusals = (this.#refusals.get(id) ?? 0) + 1;
        this.#refusals.set(id, refusals);
        if (refusals >= MAX_REFUSALS) {
          this.#log.error({ recordingId: id, refusals }, 'the server refused this recording again and again: parked in the outbox until the node starts again');
          this.#dequeue(id);
          continue;
        }
      }
      if (this.#closed) return;
      const backoff = this.#retry.get(id)?.backoff ?? 500;
      this.#retry.set(id, { at: Date.now() + backoff, backoff: Math.min(this.#o.maxBackoffMs, backoff * 2) });
      // Behind the others: the next recording due goes first.
      this.#queue.splice(this.#queue.indexOf(id), 1);
      this.#queue.push(id);
    }
  }

  #dequeue(id: string): void {
    const at = this.#queue.indexOf(id);
    if (at >= 0) this.#queue.splice(at, 1);
    this.#refusals.delete(id);
    this.#retry.delete(id);
  }

  /** Waits `ms`, or until kicked (the link is back) or closed. */
  async #sleep(ms: number): Promise<void> {
    await new Promise<void>((woken) => {
      const timer = setTimeout(woken, Math.max(0, ms));
      this.#wake = () => {
        clearTimeout(timer);
        woken();
      };
    });
    this.#wake = null;
  }

  async #attempt(id: string): Promise<Outcome> {
    const entry = JSON.parse(await readFile(join(this.#box, `${id}.json`), 'utf8')) as Entry;
    const end = entry.end!;
    // Its row is written from the events reported before (`paired`): they go first.
    if (!(await this.#o.eventsDelivered())) return 'retry';
    const path = join(this.#box, `${id}.hcrec`);
    const size = await stat(path).then((s) => s.size, ignoreCodes('ENOENT'));
    if (size === undefined) {
      this.#missing({ ...entry, ...end }, 'in the outbox');
      return 'done';
    }
    // The bytes the writer hashed (a file that grew after its close is handed over as it was then).
    if (size < end.bytes) {
      const measured = await this.#measure(id);
      this.#log.error({ recordingId: id, expected: end.bytes, found: measured.bytes }, 'the recording on disk is shorter than when it closed: handed over as it is');
      entry.end = { ...end, bytes: measured.bytes, sha256: measured.sha256 };
      await this.#save(entry);
      return this.#attempt(id);
    }
    const query = new URLSearchParams({ state: end.state, endedAt: String(end.endedAt), durationMs: String(end.durationMs), ...(end.problem ? { problem: end.problem.slice(0, 1000) } : {}) });
    this.#current = new AbortController();
    const headers = { [RECORDING_HEADERS.ticket]: entry.ticketId, [RECORDING_HEADERS.file]: entry.file, [RECORDING_HEADERS.sha256]: end.sha256 };
    const { status, body } = await this.#o.link.putRecording(id, query, path, end.bytes, headers, this.#current.signal).finally(() => (this.#current = null));
    if (status === 200 || status === 410) {
      if (status === 410) this.#log.warn({ recordingId: id, answer: body }, 'the server no longer keeps this recording: the node\'s copy is deleted');
      else this.#log.info({ recordingId: id, bytes: end.bytes }, 'recording handed over');
      await unlink(path).catch(ignoreCodes('ENOENT'));
      await this.#forget(id);
      return 'done';
    }
    const transient = status === 401 || status === 408 || status === 429 || status >= 500;
    this.#log[transient ? 'warn' : 'error']({ recordingId: id, status, answer: body.slice(0, 500) }, transient ? 'the server cannot take the recording now; will try again' : 'the server refused the recording');
    return transient ? 'retry' : 'refused';
  }

  /** A recording whose file is gone (removed by hand?): closed as failed, so the server records no SHA-256 for it. */
  #missing(r: { recordingId: string; sessionId?: string; ticketId: string; file: string; startedAt: number; endedAt: number; durationMs: number }, where: string): void {
    this.#log.error({ recordingId: r.recordingId, file: r.file }, `a recording's file is not on the node's disk ${where}`);
    const { recordingId, ticketId, file, startedAt, endedAt, durationMs } = r;
    this.#o.link.report({ type: 'recordingClosed', sessionId: r.sessionId ?? recordingId, recordingId, ticketId, file, startedAt, endedAt, durationMs, state: 'failed', problem: `the file was not on the repeater node's disk ${where}`, bytes: 0, sha256: null });
    void this.#forget(recordingId).catch((err: unknown) => this.#log.error({ err, recordingId }, 'an outbox entry could not be removed'));
  }

  /** Moves a recording's file into the outbox (already there: fine); null when it is nowhere. */
  async #moveIn(entry: Entry): Promise<string | null> {
    const target = join(this.#box, `${entry.recordingId}.hcrec`);
    await mkdir(this.#box, { recursive: true, mode: 0o750 });
    if (await rename(join(this.#o.recordingsDir, entry.file), target).then(() => true, ignoreCodes('ENOENT'))) return target;
    return (await stat(target).then(() => target, ignoreCodes('ENOENT'))) ?? null;
  }

  async #measure(id: string): Promise<{ bytes: number; sha256: string; mtimeMs: number }> {
    const path = join(this.#box, `${id}.hcrec`);
    const { mtimeMs } = await stat(path);
    const hash = createHash('sha256');
    let bytes = 0;
    for await (const chunk of createReadStream(path)) {
      hash.update(chunk as Buffer);
      bytes += (chunk as Buffer).length;
    }
    return { bytes, sha256: hash.digest('hex'), mtimeMs };
  }

  async #save(entry: Entry): Promise<void> {
    const path = join(this.#box, `${entry.recordingId}.json`);
    await mkdir(this.#box, { recursive: true, mode: 0o750 });
    await writeFile(`${path}.tmp`, JSON.stringify(entry), { mode: 0o640 });
    await rename(`${path}.tmp`, path);
  }

  async #forget(id: string): Promise<void> {
    await unlink(join(this.#box, `${id}.json`)).catch(ignoreCodes('ENOENT'));
  }
}
