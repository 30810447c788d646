// The browser's reader of session recordings (".hcrec", both versions of
// repeater/recording-format.ts, whose header comment is the spec; checked
// against it by tech-viewer/recording-format.test.ts). No dependencies.
//
// It reads through a ByteSource (recording-source.js: a window over the
// file that fetches what it lacks), so a file of hours is never held whole.
// Version 2 blocks are checked (CRC-32, seq, flags); a damaged one is skipped
// and reported, and the reader finds the next block by its header (tag, one
// of the next seqs, lengths in bounds, a matching CRC). A block claiming more
// than the format's bounds is refused before anything is allocated for it,
// and a deflated block is inflated no further than its rawLength claims
// (recording-codec.js). Blocks the server did not open (flags bit 0:
// encrypted) are refused: the browser never holds keys; the server serves
// them opened (flags 2, iv and tag zeroed; server/recordings/file-serving.ts).

export const MAX_RAW_BYTES = 16 * 1024 * 1024;
export const MAX_STORED_BYTES = MAX_RAW_BYTES + 1024;
export const MAX_JSON_BYTES = 1024 * 1024;
const MAGICS = { 'HCREC01\n': 1, 'HCREC02\n': 2 };
const FOOTER_MAGIC = 'HCRIDX02';
const BLOCK_TAG = 0x42;
const TRAILER_TAG = 0x45;
const INDEX_TAG = 0x49;
const FLAG_ENCRYPTED = 1;
const FLAG_OPENED = 2;
const IV_BYTES = 12;
const TAG_BYTES = 16;
const RESYNC_SEQ_SPAN = 64; // as the Node reader: damage is followed by the next few blocks, not any later one
/** How much of the end is fetched for the footer, the index and the trailer before it: one request for a recording of hours (more when the index is bigger). */
export const TAIL_BYTES = 256 * 1024;
/** How far before its end a trailer is looked for: first this close (a trailer is a few hundred bytes, and these are already held), then TRAILER_SEARCH_BYTES. */
const TRAILER_NEAR_BYTES = 4 * 1024;
const TRAILER_SEARCH_BYTES = 64 * 1024;

import { crc32, inflateExactly, zlibReady } from './recording-codec.js';

const text = new TextDecoder();
const u32 = (b, at) => ((b[at] << 24) | (b[at + 1] << 16) | (b[at + 2] << 8) | b[at + 3]) >>> 0;

/** Why a file is not a recording this reader plays (`code`: notRecording, badVersion). */
export class RecordingError extends Error {
  constructor(code, message, params = {}) {
    super(message);
    this.code = code;
    this.params = params;
  }
}

/** The magic and the header: { version, header, dataStart }. */
export async function readHead(source) {
  const head = await source.bytes(0, 12);
  const version = head.length === 12 ? MAGICS[text.decode(head.subarray(0, 8))] : undefined;
  if (!version) throw new RecordingError('notRecording', 'not a helpdesk session recording');
  const length = u32(head, 8);
  if (length > MAX_JSON_BYTES) throw new RecordingError('notRecording', 'the header claims more than the format allows');
  const header = JSON.parse(text.decode(await source.bytes(12, length)));
  if (header.version !== version) throw new RecordingError('badVersion', `version ${header.version}`, { version: header.version });
  return { version, header, dataStart: 12 + length };
}

/** The index of a complete version 2 file (checked: tag, size, CRC, order), or null. */
export async function readIndex(source, dataStart) {
  const size = source.size;
  if (size < dataStart + 16 + 9) return null;
  const tailStart = Math.max(0, size - TAIL_BYTES);
  const tail = await source.bytes(tailStart, size - tailStart);
  const footer = tail.subarray(tail.length - 16);
  if (text.decode(footer.subarray(0, 8)) !== FOOTER_MAGIC) return null;
  const offset = u32(footer, 8) * 2 ** 32 + u32(footer, 12);
  const count = (size - 16 - 4 - 5 - offset) / 16;
  if (offset < dataStart || !Number.isInteger(count) || count < 0) return null;
  // An index that did not fit in the tail is fetched with the bytes before it (where findTrailer looks first).
  const from = offset >= tailStart ? offset : Math.max(dataStart, offset - TRAILER_NEAR_BYTES);
  const bytes = (await source.bytes(from, size - 16 - from)).subarray(offset - from);
  if (bytes[0] !== INDEX_TAG || u32(bytes, 1) !== count || crc32(bytes.subarray(0, bytes.length - 4)) !== u32(bytes, bytes.length - 4)) return null;
  const index = { offset, count, offsets: new Float64Array(count), firstMs: new Uint32Array(count), lastMs: new Uint32Array(count) };
  for (let k = 0, at = 5; k < count; k++, at += 16) {
    index.offsets[k] = u32(bytes, at) * 2 ** 32 + u32(bytes, at + 4);
    index.firstMs[k] = u32(bytes, at + 8);
    index.lastMs[k] = u32(bytes, at + 12);
    if (index.offsets[k] < (k ? index.offsets[k - 1] + 28 : dataStart) || index.offsets[k] >= offset) return null;
  }
  return index;
}

/** A trailer ending exactly at `endAt` (the index of a complete file, or the end of one without), found in the bytes before it; or null. */
export async function findTrailer(source, dataStart, endAt = source.size) {
  for (const back of [TRAILER_NEAR_BYTES, TRAILER_SEARCH_BYTES]) {
    const from = Math.max(dataStart, endAt - back);
    const tail = await source.bytes(from, endAt - from);
    for (let p = tail.length - 7; p >= 0; p--) {
      if (tail[p] !== TRAILER_TAG || u32(tail, p + 1) !== tail.length - p - 5 || tail[p + 5] !== 0x7b) continue;
      try {
        return JSON.parse(text.decode(tail.subarray(p + 5)));
      } catch (err) {
        if (!(err instanceof SyntaxError)) throw err;
      }
    }
    if (from === dataStart) break; // the whole of the data was looked at
  }
  return null;
}

/** A block header at `at` of `b`, or null when it is not one to believe; `tooLarge` when it claims more than the bounds. */
function blockHeader(b, at, version) {
  if (b[at] !== BLOCK_TAG) return null;
  if (version === 1) {
    if (b.length - at < 18) return null;
    return bounded({ codec: b[at + 1], flags: 0, seq: -1, firstMs: u32(b, at + 2), lastMs: u32(b, at + 6), rawLength: u32(b, at + 10), storedLength: u32(b, at + 14), crc: 0, size: 18 });
  }
  if (b.length - at < 28 || b[at + 3] !== 0 || b[at + 1] > 1 || b[at + 2] > FLAG_OPENED) return null;
  const h = { codec: b[at + 1], flags: b[at + 2], seq: u32(b, at + 4), firstMs: u32(b, at + 8), lastMs: u32(b, at + 12), rawLength: u32(b, at + 16), storedLength: u32(b, at + 20), crc: u32(b, at + 24), size: 28 };
  return h.lastMs < h.firstMs ? null : bounded(h);
}
const bounded = (h) => Object.assign(h, { tooLarge: h.rawLength > MAX_RAW_BYTES || h.storedLength > MAX_STORED_BYTES });

/** Whether `raw` is whole records (u8 direction | u32 ms | u32 length | bytes). */
function wholeRecords(raw) {
  let r = 0;
  while (r + 9 <= raw.length) r += 9 + u32(raw, r + 5);
  return r === raw.length;
}

/** Calls `each(direction, ms, bytes)` for every record of a block's raw bytes (`bytes` a view). */
export function forEachRecord(raw, each) {
  for (let r = 0; r + 9 <= raw.length; ) {
    const len = u32(raw, r + 5);
    each(raw[r], u32(raw, r + 1), raw.subarray(r + 9, r + 9 + len));
    r += 9 + len;
  }
}

/**
 * Walks a file's blocks in order from block `from` (an index entry; with no
 * index, from the first). With `reuse`, a block's `raw` is a view of a buffer
 * the walker keeps (or of the source's window), valid until the next call:
 * for a reader that takes what it needs at once, no buffer is made per block.
 * `next()` resolves to
 *   { type: 'block', n, offset, firstMs, lastMs, raw }
 *   { type: 'damaged', offset, until, reason, firstMs?, lastMs? }  (skipped; reason: crc, notBlock,
 *       tooLarge, encrypted, inflate, records, seq)
 *   { type: 'end', trailer, cut }  (cut: the file stops without its trailer)
 */
export class BlockWalker {
  #scratch = null;

  constructor(source, { version, dataStart, index = null, header = null }, from = 0, { reuse = false } = {}) {
    this.reuse = reuse;
    this.source = source;
    this.version = version;
    this.header = header;
    this.index = index;
    this.k = from;
    this.at = index ? (from < index.count ? index.offsets[from] : index.offset) : dataStart;
    this.end = index ? index.offset : source.size;
    this.seq = from;
    this.lastEnd = null;
    this.lastMs = 0;
    this.n = from;
  }

  async next() {
    const { index } = this;
    if (index) {
      if (this.k >= index.count) return { type: 'end', trailer: await this.#trailerAt(this.lastEnd ?? this.at), cut: false };
      const k = this.k++;
      const until = k + 1 < index.count ? index.offsets[k + 1] : index.offset;
      const got = await this.#block(index.offsets[k], until, k);
      if (got.type === 'damaged') return { ...got, until, firstMs: index.firstMs[k], lastMs: index.lastMs[k] };
      return got;
    }
    const at = this.at;
    const b = await this.source.bytes(at, 28);
    if (b.length === 0) return { type: 'end', trailer: null, cut: true };
    if (b[0] === TRAILER_TAG) return { type: 'end', trailer: await this.#trailerAt(at), cut: false };
    const h = blockHeader(b, 0, this.version);
    if (!h && b.length < (this.version === 1 ? 18 : 28) && b[0] === BLOCK_TAG) return { type: 'end', trailer: null, cut: true };
    if (h && !h.tooLarge && at + h.size + h.storedLength > this.end) {
      // A block cut off by the end of the file, or a damaged header claiming too much: a whole block after it tells.
      const found = this.version === 2 ? await this.#resync(at, null) : null;
      if (found === null) return { type: 'end', trailer: null, cut: true };
      this.at = found;
      return { type: 'damaged', offset: at, until: found, reason: 'notBlock', firstMs: this.lastMs };
    }
    const got = h && !h.tooLarge ? await this.#block(at, this.end, this.seq) : { type: 'damaged', offset: at, reason: h ? 'tooLarge' : 'notBlock' };
    if (got.type === 'block' || got.framed) {
      this.at = at + h.size + h.storedLength;
      return got.type === 'block' ? got : { ...got, until: this.at, firstMs: this.lastMs };
    }
    // Unframed damage: find the next block by its header (version 1 cannot: it ends there).
    const found = this.version === 2 ? await this.#resync(at, h) : null;
    this.at = found ?? this.end;
    return { ...got, until: this.at, firstMs: this.lastMs };
  }

  /** The block at `at` (ending by `limit`), expected to be `seq`: decoded, or damaged (`framed`: its lengths can be trusted to step over it). */
  async #block(at, limit, seq) {
    const b = await this.source.bytes(at, 28);
    const h = blockHeader(b, 0, this.version);
    const damaged = (reason, framed = false) => ({ type: 'damaged', offset: at, reason, framed });
    if (!h) return damaged('notBlock');
    if (h.tooLarge) return damaged('tooLarge');
    if (at + h.size + h.storedLength > limit) return damaged('notBlock');
    if (h.codec === 1) await zlibReady(); // before the block's bytes are taken from the window
    const block = await this.source.bytes(at, h.size + h.storedLength);
    let payload = block.subarray(h.size);
    if (this.version === 2) {
      if (crc32(payload, crc32(block.subarray(0, 24))) !== h.crc) return damaged('crc');
      if (h.seq !== seq) return damaged('seq', true);
      if (h.flags & FLAG_ENCRYPTED) return damaged('encrypted', true);
      // A sealed recording's blocks reach the browser opened by the server; one that was never sealed was put there by someone without the key.
      if (this.header?.encryption && !(h.flags & FLAG_OPENED)) return damaged('notSealed', true);
      if (h.flags & FLAG_OPENED) {
        if (payload.length < IV_BYTES + TAG_BYTES) return damaged('notBlock', true);
        payload = payload.subarray(IV_BYTES, payload.length - TAG_BYTES);
      }
      this.seq = h.seq + 1;
    }
    // The next read may replace the source's window: what the block needs is inflated out of it (at once), or copied unless reused.
    const raw = h.codec === 1 ? inflateExactly(payload, h.rawLength, this.reuse ? this.#room(h.rawLength) : null) : payload.length === h.rawLength ? (this.reuse ? payload : payload.slice()) : null;
    this.lastEnd = at + h.size + h.storedLength;
    if (!raw) return damaged('inflate', true);
    if (!wholeRecords(raw)) return damaged('records', true);
    this.lastMs = h.lastMs;
    return { type: 'block', n: this.n++, offset: at, firstMs: h.firstMs, lastMs: h.lastMs, raw };
  }

  /** The kept buffer, at least `length` long (≤ MAX_RAW_BYTES: the header was checked). */
  #room(length) {
    if (!this.#scratch || this.#scratch.length < length) this.#scratch = new Uint8Array(Math.max(length, Math.min(MAX_RAW_BYTES, 2 * (this.#scratch?.length ?? 32 * 1024))));
    return this.#scratch;
  }

  /** The next block after damage at `from`: a header with a following seq, lengths in bounds, a matching CRC. */
  async #resync(from, h) {
    const candidates = [];
    if (h && !h.tooLarge) candidates.push(from + 28 + h.storedLength); // the damage was inside the payload: try where the block claims to end
    for (const c of candidates) if (await this.#believable(c)) return c;
    for (let pos = from + 1; pos + 28 <= this.end; ) {
      const win = await this.source.bytes(pos, 64 * 1024);
      let hit = -1;
      for (let i = 0; i + 28 <= win.length; i++) {
        if (win[i] !== BLOCK_TAG || win[i + 3] !== 0) continue;
        const c = blockHeader(win, i, 2);
        if (c && !c.tooLarge && c.seq >= this.seq && c.seq < this.seq + RESYNC_SEQ_SPAN && pos + i + 28 + c.storedLength <= this.end) {
          hit = pos + i;
          break;
        }
      }
      if (hit < 0) {
        pos += Math.max(1, win.length - 27);
        continue;
      }
      if (await this.#believable(hit)) return hit;
      pos = hit + 1;
    }
    return null;
  }

  /** Whether a whole, unchanged block with a following seq is at `at` (if so, it is the seq expected next). */
  async #believable(at) {
    if (at + 28 > this.end) return false;
    const h = blockHeader(await this.source.bytes(at, 28), 0, 2);
    if (!h || h.tooLarge || h.seq < this.seq || h.seq >= this.seq + RESYNC_SEQ_SPAN || at + 28 + h.storedLength > this.end) return false;
    const block = await this.source.bytes(at, 28 + h.storedLength);
    if (crc32(block.subarray(28), crc32(block.subarray(0, 24))) !== h.crc) return false;
    this.seq = h.seq;
    return true;
  }

  async #trailerAt(at) {
    const b = await this.source.bytes(at, 5);
    if (b.length < 5 || b[0] !== TRAILER_TAG || u32(b, 1) > MAX_JSON_BYTES) return null;
    const json = await this.source.bytes(at + 5, u32(b, 1));
    try {
      return JSON.parse(text.decode(json));
    } catch (err) {
      if (err instanceof SyntaxError) return null;
      throw err;
    }
  }
}

/** Reads a whole recording through `source`: { version, header, index, records, trailer, cut, damaged } (records hold views of their blocks). */
export async function readRecording(source) {
  const { version, header, dataStart } = await readHead(source);
  const index = version === 2 ? await readIndex(source, dataStart) : null;
  const walker = new BlockWalker(source, { version, dataStart, index, header });
  const out = { version, header, index, records: [], trailer: null, cut: false, damaged: [] };
  for (;;) {
    const got = await walker.next();
    if (got.type === 'end') return Object.assign(out, { trailer: got.trailer, cut: got.cut });
    if (got.type === 'damaged') out.damaged.push({ offset: got.offset, until: got.until, reason: got.reason });
    else forEachRecord(got.raw, (dir, ms, data) => out.records.push({ dir, ms, data }));
  }
}
