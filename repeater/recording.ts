// Session recording where the bytes are: the repeater writes both RFB byte
// streams of a session, with their timing, to a framed file. It never parses
// RFB; the player does (admin-web/public/player.js).
//
// File format, version 1 (".hcrec"; every integer big-endian):
//   magic    8 bytes  "HCREC01\n"
//   header   u32 length, then that many bytes of JSON (RecordingHeader)
//   block*   u8 0x42 'B' | u8 codec (0 stored, 1 deflate-raw) | u32 firstMs |
//            u32 lastMs | u32 rawLength | u32 storedLength | storedLength bytes
//   trailer  u8 0x45 'E' | u32 length | JSON (RecordingTrailer)   (absent when cut short)
// A block's raw bytes are whole records:
//   record   u8 direction (0 desktop→viewer, 1 viewer→desktop) | u32 ms since
//            start | u32 length | length bytes
//
// Blocks are sealed at BLOCK_BYTES or SEAL_AFTER_MS after their first record,
// and appended in order, so a session that ends abruptly (a killed process)
// leaves every sealed block readable, at most about a second short. Blocks
// whose sample looks already compressed (Tight and ZRLE payloads are zlib
// output) are stored as they are; others are deflated in zlib's thread pool.
// Memory is bounded: when the disk falls behind by more than maxBufferBytes
// the recording is dropped (closed where it got to), never the session.
import { handledElsewhere, ignoreCodes } from '../lib/expected.ts';
import { createHash, type Hash } from 'node:crypto';
import { mkdir, open, type FileHandle } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import type { RecordingResult, RecordingState, RecordingTrailer } from '../protocol/repeater.ts';
import { constants as zlibConstants, deflateRaw, inflateRawSync } from 'node:zlib';

export const RECORDING_MAGIC = Buffer.from('HCREC01\n', 'latin1');
export const RECORDING_FORMAT_VERSION = 1;
export const Direction = { DESKTOP_TO_VIEWER: 0, VIEWER_TO_DESKTOP: 1 } as const;
export const BLOCK_TAG = 0x42;
export const TRAILER_TAG = 0x45;
export const Codec = { STORED: 0, DEFLATE_RAW: 1 } as const;
export const BLOCK_HEADER_BYTES = 18;
export const RECORD_HEADER_BYTES = 9;
const BLOCK_BYTES = 64 * 1024;
const SEAL_AFTER_MS = 1_000;
/** Sampled bytes with more entropy than this (bits per byte) are taken as already compressed. */
const STORE_ABOVE_ENTROPY = 7.0;
const SAMPLE_STRIDE = 64;

export interface RecordingHeader {
  format: 'helpdesk-session-recording';
  version: number;
  recordingId: string;
  ticketId: string;
  /** The remote session's id as the repeater named it (remote_sessions.session_uid). */
  remoteSession: string;
  startedAt: number;
  /** Whatever the server knows of the two ends (noVNC's and x11vnc's versions, view-only). */
  meta: Record<string, string | number | boolean | null>;
}

/** Where the encoded bytes go; a file by default (tests may slow it down). */
export interface RecordingSink {
  write(chunk: Buffer): Promise<void>;
  close(): Promise<void>;
}

export interface RecorderOptions {
  /** Root directory; the file is `<dir>/<yyyy-mm>/<ticket>-<recordingId>.hcrec`. */
  dir: string;
  maxBufferBytes: number;
  /** How long finishing waits for the disk before giving the recording up as dropped. */
  finishTimeoutMs: number;
  openSink?: (path: string) => Promise<RecordingSink>;
}

async function openFileSink(path: string): Promise<RecordingSink> {
  await mkdir(dirname(path), { recursive: true, mode: 0o750 });
  const handle: FileHandle = await open(path, 'wx', 0o640);
  return {
    write: async (chunk) => {
      let at = 0;
      while (at < chunk.length) at += (await handle.write(chunk, at, chunk.length - at)).bytesWritten;
    },
    close: async () => {
      await handle.sync().catch(ignoreCodes('EINVAL', 'ENOTSUP', 'EROFS')); // a tmpfs may not sync
      await handle.close();
    },
  };
}

/** The path of a recording relative to the recordings directory. */
export function recordingFileName(ticketId: string, recordingId: string, startedAt: number): string {
  const month = new Date(startedAt).toISOString().slice(0, 7);
  return `${month}/${ticketId}-${recordingId}.hcrec`;
}

const histogram = new Uint32Array(256);

/** Shannon entropy (bits per byte) of every SAMPLE_STRIDE-th byte. */
export function sampledEntropy(buf: Buffer, length: number): number {
  histogram.fill(0);
  let n = 0;
  for (let i = 0; i < length; i += SAMPLE_STRIDE, n++) histogram[buf[i]!]!++;
  if (n === 0) return 0;
  let bits = 0;
  for (let b = 0; b < 256; b++) {
    const c = histogram[b]!;
    if (c > 0) {
      const p = c / n;
      bits -= p * Math.log2(p);
    }
  }
  return bits;
}

function deflate(raw: Buffer): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    deflateRaw(raw, { level: 1, strategy: zlibConstants.Z_DEFAULT_STRATEGY }, (err, out) => (err ? reject(err) : resolve(out)));
  });
}

/**
 * One session's recording. `record` is called on the relay's byte path for
 * every piece relayed; everything slow (compression, hashing, the disk)
 * happens off it, in order.
 */
export class Recorder {
  readonly file: string;
  readonly startedAt: number;
  #state: 'open' | 'finishing' | 'dropped' | 'failed' | 'closed' = 'open';
  #problem: string | null = null;
  #block: Buffer | null = null;
  #blockLength = 0;
  #firstMs = 0;
  #lastMs = 0;
  #sealTimer: NodeJS.Timeout | null = null;
  /** Encoded chunks (or their coming) in file order. */
  #queue: { chunk: Promise<Buffer>; rawBytes: number }[] = [];
  #queuedBytes = 0;
  #pumping: Promise<void> | null = null;
  #sink: Promise<RecordingSink>;
  #hash: Hash = createHash('sha256');
  #written = 0;
  #records = 0;
  #bytes = [0, 0];
  #result: Promise<RecordingResult> | null = null;

  readonly recordingId: string;
  readonly header: RecordingHeader;
  private readonly options: RecorderOptions;

  constructor(
    recordingId: string,
    header: RecordingHeader,
    options: RecorderOptions,
  ) {
    this.recordingId = recordingId;
    this.header = header;
    this.options = options;
    this.startedAt = header.startedAt;
    this.file = recordingFileName(header.ticketId, recordingId, header.startedAt);
    const json = Buffer.from(JSON.stringify(header));
    const head = Buffer.allocUnsafe(RECORDING_MAGIC.length + 4 + json.length);
    RECORDING_MAGIC.copy(head, 0);
    head.writeUInt32BE(json.length, RECORDING_MAGIC.length);
    json.copy(head, RECORDING_MAGIC.length + 4);
    this.#sink = (options.openSink ?? openFileSink)(join(options.dir, this.file));
    // An unopenable file fails the recording at once (the session goes on).
    this.#sink.catch((err: Error) => this.#fail(`cannot open the recording file: ${err.message}`));
    this.#enqueue(Promise.resolve(head), head.length);
  }

  /** Still taking records (not dropped, failed or finished). */
  get recording(): boolean {
    return this.#state === 'open';
  }

  /** One relayed piece (the unmasked payload bytes of a frame). Copied: the caller's buffer is the socket's. */
  record(direction: 0 | 1, piece: Buffer): void {
    if (this.#state !== 'open') return;
    const ms = Math.max(0, Date.now() - this.startedAt);
    const need = RECORD_HEADER_BYTES + piece.length;
    if (this.#block && this.#blockLength + need > this.#block.length) this.#seal();
    if (!this.#block) {
      this.#block = Buffer.allocUnsafe(Math.max(BLOCK_BYTES, need));
      this.#blockLength = 0;
      this.#firstMs = ms;
      this.#sealTimer ??= setTimeout(() => {
        this.#sealTimer = null;
        this.#seal();
      }, SEAL_AFTER_MS);
      this.#sealTimer.unref();
    }
    const block = this.#block;
    let at = this.#blockLength;
    block[at] = direction;
    block.writeUInt32BE(ms, at + 1);
    block.writeUInt32BE(piece.length, at + 5);
    at += RECORD_HEADER_BYTES;
    piece.copy(block, at);
    this.#blockLength = at + piece.length;
    this.#lastMs = ms;
    this.#records += 1;
    this.#bytes[direction]! += piece.length;
    if (this.#blockLength >= BLOCK_BYTES) this.#seal();
  }

  /** Seals the current block: encoded off the byte path, queued for the file in order. */
  #seal(): void {
    if (this.#sealTimer) {
      clearTimeout(this.#sealTimer);
      this.#sealTimer = null;
    }
    const block = this.#block;
    if (!block || this.#blockLength === 0) return;
    const raw = block.subarray(0, this.#blockLength);
    this.#block = null;
    const firstMs = this.#firstMs;
    const lastMs = this.#lastMs;
    const framed = (codec: number, stored: Buffer): Buffer[] => {
      const h = Buffer.allocUnsafe(BLOCK_HEADER_BYTES);
      h[0] = BLOCK_TAG;
      h[1] = codec;
      h.writeUInt32BE(firstMs, 2);
      h.writeUInt32BE(lastMs, 6);
      h.writeUInt32BE(raw.length, 10);
      h.writeUInt32BE(stored.length, 14);
      return [h, stored];
    };
    const store = sampledEntropy(raw, raw.length) > STORE_ABOVE_ENTROPY;
    const encoded = store
      ? Promise.resolve(Buffer.concat(framed(Codec.STORED, raw)))
      : deflate(raw).then((out) => Buffer.concat(out.length < raw.length ? framed(Codec.DEFLATE_RAW, out) : framed(Codec.STORED, raw)));
    this.#enqueue(encoded, raw.length);
  }

  #enqueue(chunk: Promise<Buffer>, rawBytes: number): void {
    this.#queue.push({ chunk, rawBytes });
    this.#queuedBytes += rawBytes;
    chunk.catch(handledElsewhere); // its failure is met by the pump, in order
    if (this.#queuedBytes > this.options.maxBufferBytes && this.#state === 'open') {
      // The disk is not keeping up: stop recording here, keep what is queued.
      this.#state = 'dropped';
      this.#problem = `the disk fell more than ${this.options.maxBufferBytes} bytes behind`;
      this.#discardBlock();
    }
    this.#pumping ??= this.#pump();
  }

  async #pump(): Promise<void> {
    try {
      const sink = await this.#sink;
      while (this.#queue.length > 0) {
        const next = this.#queue.shift()!;
        const chunk = await next.chunk;
        await sink.write(chunk);
        this.#hash.update(chunk);
        this.#written += chunk.length;
        this.#queuedBytes -= next.rawBytes;
      }
    } catch (err) {
      this.#fail(`writing the recording failed: ${(err as Error).message}`);
    } finally {
      this.#pumping = null;
    }
  }

  #fail(problem: string): void {
    if (this.#state === 'failed' || this.#state === 'closed') return;
    this.#state = 'failed';
    this.#problem = problem;
    this.#queue = [];
    this.#queuedBytes = 0;
    this.#discardBlock();
  }

  #discardBlock(): void {
    if (this.#sealTimer) clearTimeout(this.#sealTimer);
    this.#sealTimer = null;
    this.#block = null;
    this.#blockLength = 0;
  }

  /** Ends the recording: the last block and the trailer are written, the file closed. Resolves once on disk. */
  finish(end: { endedAt: number; reason: string }): Promise<RecordingResult> {
    this.#result ??= this.#finish(end);
    return this.#result;
  }

  async #finish(end: { endedAt: number; reason: string }): Promise<RecordingResult> {
    if (this.#state === 'open') {
      this.#state = 'finishing';
      this.#seal();
    }
    const stateAtEnd: RecordingState = this.#state === 'finishing' ? 'complete' : this.#state === 'dropped' ? 'dropped' : 'failed';
    const durationMs = Math.max(0, end.endedAt - this.startedAt);
    if (stateAtEnd !== 'failed') {
      const trailer: RecordingTrailer = {
        endedAt: end.endedAt,
        durationMs,
        reason: end.reason,
        records: this.#records,
        bytesDesktopToViewer: this.#bytes[0]!,
        bytesViewerToDesktop: this.#bytes[1]!,
        state: stateAtEnd,
      };
      const json = Buffer.from(JSON.stringify(trailer));
      const t = Buffer.allocUnsafe(5 + json.length);
      t[0] = TRAILER_TAG;
      t.writeUInt32BE(json.length, 1);
      json.copy(t, 5);
      this.#queue.push({ chunk: Promise.resolve(t), rawBytes: 0 });
      this.#pumping ??= this.#pump();
    }
    const deadline = Date.now() + this.options.finishTimeoutMs;
    while (this.#pumping) {
      const left = deadline - Date.now();
      let timer: NodeJS.Timeout | undefined;
      const stuck = await Promise.race([
        this.#pumping.then(() => false),
        new Promise<boolean>((r) => (timer = setTimeout(() => r(true), Math.max(0, left)))),
      ]);
      clearTimeout(timer);
      if (stuck) {
        // The disk does not take the last bytes: the file stays as far as it got (its blocks readable).
        this.#state = 'dropped';
        this.#problem ??= `the disk did not take the recording's last bytes within ${this.options.finishTimeoutMs} ms`;
        this.#queue = [];
        return this.#resultOf('dropped', end.endedAt, durationMs);
      }
    }
    let sink: RecordingSink | null = null;
    try {
      sink = await this.#sink;
    } catch {
      // never opened: #fail said why
    }
    if (sink) {
      try {
        await sink.close();
      } catch (err) {
        this.#fail(`closing the recording failed: ${(err as Error).message}`);
      }
    }
    const failed = (this.#state as string) === 'failed';
    return this.#resultOf(failed ? 'failed' : stateAtEnd, end.endedAt, durationMs);
  }

  #resultOf(state: RecordingState, endedAt: number, durationMs: number): RecordingResult {
    this.#state = 'closed';
    return {
      recordingId: this.recordingId,
      ticketId: this.header.ticketId,
      file: this.file,
      state,
      problem: this.#problem,
      bytes: this.#written,
      sha256: this.#written > 0 ? this.#hash.copy().digest('hex') : null,
      startedAt: this.startedAt,
      endedAt,
      durationMs,
    };
  }
}

// ---------------------------------------------------------------- reading (Node: tests, tools)

export interface RecordedPiece {
  direction: 0 | 1;
  ms: number;
  data: Buffer;
}

export interface ParsedRecording {
  header: RecordingHeader;
  pieces: RecordedPiece[];
  trailer: RecordingTrailer | null;
  /** Bytes after the last whole block that could not be read (a file cut short). */
  truncatedBytes: number;
}

/** Reads a whole recording file; a file cut short yields what its whole blocks hold. */
export function parseRecording(file: Buffer): ParsedRecording {
  if (file.length < RECORDING_MAGIC.length + 4 || !file.subarray(0, RECORDING_MAGIC.length).equals(RECORDING_MAGIC)) {
    throw new Error('Not a helpdesk session recording (bad magic)');
  }
  let at = RECORDING_MAGIC.length;
  const headerLength = file.readUInt32BE(at);
  at += 4;
  const header = JSON.parse(file.subarray(at, at + headerLength).toString('utf8')) as RecordingHeader;
  at += headerLength;
  if (header.version !== RECORDING_FORMAT_VERSION) throw new Error(`Unsupported recording version ${header.version}`);
  const pieces: RecordedPiece[] = [];
  let trailer: RecordingTrailer | null = null;
  while (at < file.length) {
    const tag = file[at];
    if (tag === TRAILER_TAG && at + 5 <= file.length) {
      const len = file.readUInt32BE(at + 1);
      if (at + 5 + len > file.length) break;
      trailer = JSON.parse(file.subarray(at + 5, at + 5 + len).toString('utf8')) as RecordingTrailer;
      at += 5 + len;
      continue;
    }
    if (tag !== BLOCK_TAG || at + BLOCK_HEADER_BYTES > file.length) break;
    const codec = file[at + 1];
    const rawLength = file.readUInt32BE(at + 10);
    const storedLength = file.readUInt32BE(at + 14);
    if (at + BLOCK_HEADER_BYTES + storedLength > file.length) break;
    const stored = file.subarray(at + BLOCK_HEADER_BYTES, at + BLOCK_HEADER_BYTES + storedLength);
    const raw = codec === Codec.DEFLATE_RAW ? inflateRawSync(stored) : stored;
    if (raw.length !== rawLength) throw new Error(`Block at byte ${at} decodes to ${raw.length} bytes, not ${rawLength}`);
    for (let r = 0; r < raw.length; ) {
      const len = raw.readUInt32BE(r + 5);
      pieces.push({ direction: raw[r] as 0 | 1, ms: raw.readUInt32BE(r + 1), data: raw.subarray(r + RECORD_HEADER_BYTES, r + RECORD_HEADER_BYTES + len) });
      r += RECORD_HEADER_BYTES + len;
    }
    at += BLOCK_HEADER_BYTES + storedLength;
  }
  return { header, pieces, trailer, truncatedBytes: file.length - at };
}
