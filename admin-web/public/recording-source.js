// Where the recording reader (recording-file.js) gets its bytes: a window
// over a file that fetches only what it lacks, from memory or over HTTP with
// Range requests (the recordings API answers them, 206). No dependencies.

/**
 * A window over a file of `size` bytes; `fetchRange(offset, length)` resolves
 * to those bytes. Each fetch takes at least `chunk` bytes; with `readAhead`
 * the next chunk is asked for as soon as one arrives (one chunk, no more).
 * `beforeFetch()`, when set, is called before a read waits for bytes not held.
 */
export class ByteSource {
  #ahead = null;
  beforeFetch = null;

  constructor(size, fetchRange, { chunk = 256 * 1024, readAhead = false } = {}) {
    this.size = size;
    this.fetchRange = fetchRange;
    this.chunk = chunk;
    this.readAhead = readAhead;
    this.start = 0;
    this.buf = new Uint8Array(0);
  }

  /** Bytes [offset, offset + length) (fewer at the end of the file), as a view valid until the next call. */
  async bytes(offset, length) {
    const end = Math.min(this.size, offset + length);
    if (end <= offset) return new Uint8Array(0);
    const held = this.start + this.buf.length;
    if (offset >= this.start && end <= held) return this.buf.subarray(offset - this.start, end - this.start);
    const keep = offset >= this.start && offset < held ? this.buf.subarray(offset - this.start) : new Uint8Array(0);
    const from = offset + keep.length;
    const to = Math.min(this.size, Math.max(end, offset + this.chunk));
    this.beforeFetch?.();
    const got = await this.#fetch(from, to - from);
    const buf = new Uint8Array(keep.length + got.length);
    buf.set(keep);
    buf.set(got, keep.length);
    this.buf = buf;
    this.start = offset;
    if (this.readAhead && to < this.size) {
      const ahead = { from: to, bytes: this.fetchRange(to, Math.min(this.chunk, this.size - to)) };
      ahead.bytes.catch((_notNeededYet) => null); // met when used
      this.#ahead = ahead;
    }
    return buf.subarray(0, end - offset);
  }

  async #fetch(from, length) {
    const ahead = this.#ahead;
    this.#ahead = null;
    let got = ahead && ahead.from === from ? await ahead.bytes : new Uint8Array(0);
    if (got.length > length) got = got.subarray(0, length);
    if (got.length < length) {
      const more = await this.fetchRange(from + got.length, length - got.length);
      if (more.length !== length - got.length) throw new Error(`read ${more.length} bytes at ${from + got.length}, not ${length - got.length}`);
      if (got.length === 0) return more;
      const both = new Uint8Array(length);
      both.set(got);
      both.set(more, got.length);
      got = both;
    }
    return got;
  }
}

/** A ByteSource over bytes in memory. */
export const memorySource = (bytes, options) => new ByteSource(bytes.length, (offset, length) => Promise.resolve(bytes.subarray(offset, offset + length)), options);

/**
 * Range requests for the file at `url` (the last bytes as a suffix range);
 * `file.size` is learnt from the first answer when not known.
 */
export function rangeFetcher(url, file) {
  return async (offset, length) => {
    const suffix = file.size !== null && offset > 0 && offset + length === file.size;
    const res = await fetch(url, { credentials: 'same-origin', headers: { range: suffix ? `bytes=-${length}` : `bytes=${offset}-${offset + length - 1}` } });
    if (res.status !== 206) {
      const body = await res.json().catch((_notJson) => null);
      throw Object.assign(new Error(body?.error?.message ?? `status ${res.status}`), { status: res.status });
    }
    file.size ??= Number(/\/(\d+)$/.exec(res.headers.get('content-range') ?? '')?.[1] ?? NaN);
    return new Uint8Array(await res.arrayBuffer());
  };
}

/**
 * The recording's file from the recordings API, one Range request at a time:
 * resolves to { size, fetchRange, first } once the first `firstBytes` are read.
 */
export async function httpFile(url, firstBytes = 64 * 1024) {
  const file = { size: null };
  const fetchRange = rangeFetcher(url, file);
  const first = await fetchRange(0, firstBytes);
  if (!Number.isFinite(file.size)) throw new Error('the server did not say how large the file is');
  return { size: file.size, fetchRange, first };
}

/** A source over an HTTP file whose window starts with the bytes already read. */
export function httpSource({ size, fetchRange, first }, options) {
  const source = new ByteSource(size, fetchRange, options);
  if (first) source.buf = first;
  return source;
}
