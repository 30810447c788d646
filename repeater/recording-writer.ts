// One session's recording, on the relay's thread: `record` copies each
// relayed piece into the open block (that is all the byte path pays); sealed
// blocks go to the encoder thread (encoder-thread.ts) and come back as the
// file's bytes, which are written in order, many blocks to one write.
//
// Nothing is dropped for being slow: past maxBufferBytes waiting (encoded
// or not), the relay is asked to stop reading (`pressure`) until the disk
// has caught up — a burst slows to the recording's pace for a moment, and the
// recording stays whole. (Storing blocks unencoded when behind was tried: on
// compressible screens it costs more — hashing, sealing and writing every
// byte — than the deflate it saves.) Only a disk that takes
// nothing for stallMs while that much waits ends the recording: dropped
// (closed where it got to, and said so) — or, when it is required
// (RECORDING_REQUIRED), the session ends too (`broken`). A session that ends
// abruptly leaves every written block readable.
import { join } from 'node:path';
import { handledElsewhere } from '../lib/expected.ts';
import type { RecordingResult, RecordingState, RecordingTrailer } from '../protocol/repeater.ts';
import type { EncoderThread } from './encoder-thread.ts';
import type { EncoderReply } from './recording-encoder.ts';
import { openFileSink, withDeadline, type RecordingSink } from './recording-sink.ts';
import { RecordBlock, recycleBlock, type SealedBlock } from './record-block.ts';
import { encodeFileHead, recordingFileName, type RecordingHeader } from './recording-format.ts';


export interface RecorderOptions {
  /** Root directory; the file is `<dir>/<yyyy-mm>/<ticket>-<recordingId>.hcrec`. */
  dir: string;
  maxBufferBytes: number;
  /** How long finishing waits for the disk before giving the recording up as dropped; also how long a disk may take nothing while the relay waits for it. */
  finishTimeoutMs: number;
  /** RECORDING_REQUIRED: the relay is held until the file is open (the repeater ends the session when `broken`). */
  required: boolean;
  encoder: EncoderThread;
  openSink?: (path: string) => Promise<RecordingSink>;
  /** Told true when the relay should stop reading (the disk is behind, or a required file is not open yet), false when it may go on. */
  pressure?: (paused: boolean) => void;
  /** Told once when the recording cannot go on (failed, or dropped), with why. */
  broken?: (problem: string) => void;
}

type Phase = 'open' | 'finishing' | 'dropped' | 'failed' | 'closed';

export class Recorder {
  readonly file: string;
  readonly startedAt: number;
  readonly recordingId: string;
  readonly header: RecordingHeader;
  #phase: Phase = 'open';
  #problem: string | null = null;
  readonly #block = new RecordBlock((sealed) => this.#seal(sealed));
  /** Raw bytes handed to the encoder and not yet on disk. */
  #behind = 0;
  #paused = false;
  #lastProgress = Date.now();
  #stallTimer: NodeJS.Timeout | null = null;
  #ready: Buffer[] = [];
  #readyRaw = 0;
  #writing: Promise<void> | null = null;
  #sink: Promise<RecordingSink>;
  #sinkOpened: RecordingSink | null = null;
  #written = 0;
  #records = 0;
  #bytes = [0, 0];
  #finished: ((r: { bytes: number; sha256: string } | null) => void) | null = null;
  #result: Promise<RecordingResult> | null = null;
  /** What the trailer says of the viewer's stream (set by whoever filters it). */
  viewerNotes: Pick<RecordingTrailer, 'keystrokes' | 'keysLeftOut' | 'viewerStreamStopped'> = {};
  private readonly options: RecorderOptions;

  constructor(recordingId: string, header: RecordingHeader, options: RecorderOptions) {
    this.recordingId = recordingId;
    this.header = header;
    this.options = options;
    this.startedAt = header.startedAt;
    this.file = recordingFileName(header.ticketId, recordingId, header.startedAt);
    options.encoder.attach(recordingId, { reply: (r) => this.#reply(r), lost: (m) => this.#fail(m) });
    this.#sink = (options.openSink ?? openFileSink)(join(options.dir, this.file));
    if (options.required) {
      // Nothing is relayed before the file is open: a required recording never misses the start.
      this.#paused = true;
      options.pressure?.(true);
    }
    this.#sink.then(
      (sink) => {
        this.#sinkOpened = sink;
        if (this.#behind <= options.maxBufferBytes / 2) this.#release();
        this.#drain();
      },
      (err: Error) => this.#fail(`cannot open the recording file: ${err.message}`),
    );
    options.encoder.send({ type: 'open', id: recordingId, head: encodeFileHead(header) });
  }

  /** One relayed piece (payload bytes of a frame). Copied: the caller's buffer is the socket's. */
  record(direction: 0 | 1, piece: Buffer): void {
    if (this.#phase !== 'open') return;
    this.#block.add(direction, Math.max(0, Date.now() - this.startedAt), piece);
    this.#records += 1;
    this.#bytes[direction]! += piece.length;
  }

  #seal({ buf, length, firstMs, lastMs }: SealedBlock): void {
    this.#behind += length;
    this.options.encoder.send({ type: 'block', id: this.recordingId, buf, length, firstMs, lastMs }, [buf]);
    if (this.#behind > this.options.maxBufferBytes) this.#fallingBehind();
  }

  /** Too much waits for the disk: the relay stops reading until it has caught up, or until it is clear the disk takes nothing. */
  #fallingBehind(): void {
    if (this.#paused) return;
    this.#paused = true;
    this.options.pressure?.(true);
    this.#lastProgress = Date.now();
    this.#stallTimer = setInterval(() => {
      if (Date.now() - this.#lastProgress < this.options.finishTimeoutMs) return;
      this.#release();
      if (this.#phase !== 'open' && this.#phase !== 'finishing') return;
      const problem = `the disk fell more than ${this.options.maxBufferBytes} bytes behind and took nothing for ${this.options.finishTimeoutMs} ms`;
      if (this.#phase === 'open') {
        this.#phase = 'dropped';
        this.#block.discard();
      }
      this.#problem ??= problem;
      this.options.broken?.(problem);
    }, Math.max(50, Math.min(1_000, this.options.finishTimeoutMs / 4)));
    this.#stallTimer.unref();
  }

  #release(): void {
    if (this.#stallTimer) clearInterval(this.#stallTimer);
    this.#stallTimer = null;
    if (!this.#paused) return;
    this.#paused = false;
    this.options.pressure?.(false);
  }

  #reply(r: EncoderReply): void {
    if (r.type === 'failed') return this.#fail(`encoding the recording failed: ${r.message}`);
    this.#lastProgress = Date.now(); // the encoder moving on is progress too (its thread may be slow to start)
    for (const p of r.parts) this.#ready.push(Buffer.from(p.buf, p.offset, p.length));
    if (r.type === 'bytes') {
      this.#readyRaw += r.rawBytes;
      if (r.spare) recycleBlock(r.spare);
    }
    else this.#finished?.({ bytes: r.bytes, sha256: r.sha256 });
    this.#drain();
  }

  /** Writes whatever is ready in one go; the next write starts when it is done. */
  #drain(): void {
    if (this.#writing || !this.#sinkOpened || this.#ready.length === 0 || this.#phase === 'failed' || this.#phase === 'closed') return;
    const chunks = this.#ready;
    const raw = this.#readyRaw;
    this.#ready = [];
    this.#readyRaw = 0;
    this.#writing = this.#sinkOpened.write(chunks).then(
      () => {
        for (const c of chunks) {
          this.#written += c.length;
          recycleBlock(c.buffer as ArrayBuffer); // ours alone once written
        }
        this.#behind -= raw;
        this.#writing = null;
        this.#lastProgress = Date.now();
        if (this.#paused && this.#behind <= this.options.maxBufferBytes / 2) this.#release();
        this.#drain();
      },
      (err: Error) => {
        this.#writing = null;
        this.#fail(`writing the recording failed: ${err.message}`);
      },
    );
  }

  #fail(problem: string): void {
    if (this.#phase === 'failed' || this.#phase === 'closed') return;
    this.#phase = 'failed';
    this.#problem = problem;
    this.#ready = [];
    this.#block.discard();
    this.#finished?.(null);
    this.#release();
    this.options.broken?.(problem);
  }

  /** Ends the recording: the last block, the trailer and the index are written, the file closed. */
  finish(end: { endedAt: number; reason: string }): Promise<RecordingResult> {
    this.#result ??= this.#finish(end);
    return this.#result;
  }

  async #finish(end: { endedAt: number; reason: string }): Promise<RecordingResult> {
    if (this.#phase === 'open') {
      this.#phase = 'finishing';
      this.#block.seal();
    }
    const durationMs = Math.max(0, end.endedAt - this.startedAt);
    const deadline = Date.now() + this.options.finishTimeoutMs;
    let sha256: string | null = null;
    if (this.#phase !== 'failed') {
      const stateAtEnd: RecordingState = this.#phase === 'finishing' ? 'complete' : 'dropped';
      const trailer: RecordingTrailer = {
        endedAt: end.endedAt,
        durationMs,
        reason: end.reason,
        records: this.#records,
        bytesDesktopToViewer: this.#bytes[0]!,
        bytesViewerToDesktop: this.#bytes[1]!,
        state: stateAtEnd,
        problem: this.#problem,
        ...this.viewerNotes,
      };
      const done = new Promise<{ bytes: number; sha256: string } | null>((resolve) => (this.#finished = resolve));
      this.options.encoder.send({ type: 'finish', id: this.recordingId, trailer });
      const written = await withDeadline(done, deadline);
      const onDisk = written && (await withDeadline(this.#allWritten(), deadline));
      if (!written || !onDisk) {
        if ((this.#phase as Phase) !== 'failed') {
          // The disk does not take the last bytes: the file stays as far as it got (its blocks readable).
          this.#phase = 'dropped';
          this.#problem ??= `the disk did not take the recording's last bytes within ${this.options.finishTimeoutMs} ms`;
        }
      } else sha256 = written.sha256;
    }
    this.#release();
    this.options.encoder.detach(this.recordingId);
    await this.#closeSink();
    const state: RecordingState = this.#phase === 'failed' ? 'failed' : this.#phase === 'dropped' ? 'dropped' : 'complete';
    this.#phase = 'closed';
    return {
      recordingId: this.recordingId,
      ticketId: this.header.ticketId,
      file: this.file,
      state,
      problem: this.#problem,
      bytes: this.#written,
      sha256: state !== 'failed' && sha256 && this.#written > 0 ? sha256 : null,
      startedAt: this.startedAt,
      endedAt: end.endedAt,
      durationMs,
    };
  }

  async #allWritten(): Promise<boolean> {
    while (this.#writing || (this.#ready.length > 0 && this.#sinkOpened)) {
      if (this.#writing) await this.#writing;
      else this.#drain();
    }
    return this.#phase !== 'failed';
  }

  /** Closes the file, also after a finish that timed out (the handle is never left open). */
  async #closeSink(): Promise<void> {
    const sink = await this.#sink.catch(handledElsewhere); // never opened: #fail said why
    if (!sink) return;
    const close = sink.close();
    try {
      const closed = await withDeadline(close.then(() => true), Date.now() + this.options.finishTimeoutMs);
      if (!closed) this.#problem ??= 'the recording file could not be closed in time';
    } catch (err) {
      this.#fail(`closing the recording failed: ${(err as Error).message}`);
    }
  }
}
