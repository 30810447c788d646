// Reading a recording's blocks for playback, ahead of the player's feeder
// (player-feed.js): a pump reads blocks (recording-file.js's walker) while the
// feeder feeds what was read before, and hands them over as pieces.
//
// A piece (PieceBuilder) is the records of consecutive blocks, a couple of
// hundred KiB at a time, split by direction: the desktop's bytes in one
// buffer of their own, which RFB takes whole without another copy; the
// viewer's bytes in another; and a table of the records. Blocks are inflated
// into one kept buffer and their records copied into kept arenas: three
// buffers are made a piece, not one or more a block (making buffers, not
// copying bytes, is what thousands of small blocks cost). A walk holds no
// more than its read-ahead: up to READ_AHEAD_BYTES of pieces the feeder has
// not taken yet, then the pump waits for the feeder to take them.
import { BlockWalker } from './recording-file.js';
import { httpSource } from './recording-source.js';

/** Bytes of pieces read ahead of the feeder, at most. */
const READ_AHEAD_BYTES = 2 * 1024 * 1024;
/** A piece is sent once it holds this many bytes (or sooner: before the network is waited on, with damage, at the end). */
const PIECE_BYTES = 192 * 1024;
/** The feeder tells the reader what it has taken every this many bytes. */
const ACK_BYTES = 256 * 1024;
const u32 = (b, at) => ((b[at] << 24) | (b[at + 1] << 16) | (b[at + 2] << 8) | b[at + 3]) >>> 0;
/** `arena` with room for `length` items, its first `used` kept. */
function room(arena, used, length) {
  if (arena.length >= length) return arena;
  const grown = new arena.constructor(Math.max(length, 2 * arena.length));
  grown.set(arena.subarray(0, used));
  return grown;
}

/** Blocks' records gathered into a piece: { type: 'block', desk, client, table, count } (`table`: ms, direction, start in desk or client, length; four a record). */
class PieceBuilder {
  #desk = new Uint8Array(256 * 1024);
  #client = new Uint8Array(4 * 1024);
  #table = new Uint32Array(4 * 1024);
  #d = 0;
  #c = 0;
  count = 0;

  get bytes() {
    return this.#d + this.#c + 16 * this.count;
  }

  /** Adds a block's records (its `raw`: copied at once, so a view the walker will reuse is fine). */
  add(raw) {
    for (let r = 0; r + 9 <= raw.length; ) {
      const len = u32(raw, r + 5);
      const bytes = raw.subarray(r + 9, r + 9 + len);
      this.#table = room(this.#table, 4 * this.count, 4 * this.count + 4);
      const i = 4 * this.count++;
      this.#table[i] = u32(raw, r + 1);
      this.#table[i + 1] = raw[r];
      this.#table[i + 3] = len;
      if (raw[r] === 0) {
        this.#table[i + 2] = this.#d;
        this.#desk = room(this.#desk, this.#d, this.#d + len);
        this.#desk.set(bytes, this.#d);
        this.#d += len;
      } else {
        this.#table[i + 2] = this.#c;
        this.#client = room(this.#client, this.#c, this.#c + len);
        this.#client.set(bytes, this.#c);
        this.#c += len;
      }
      r += 9 + len;
    }
  }

  /** The piece, in buffers of its own; the builder starts the next. */
  take() {
    const piece = { type: 'block', desk: this.#desk.slice(0, this.#d), client: this.#client.slice(0, this.#c), table: this.#table.slice(0, 4 * this.count), count: this.count };
    this.#d = this.#c = this.count = 0;
    return piece;
  }
}

/** What a piece holds, as the read-ahead counts it. */
const sizeOf = (piece) => piece.desk.length + piece.client.length + piece.table.byteLength;

/**
 * Reads the blocks of `file` through `source` into pieces and gives them,
 * with damage and the end as the walker tells them, to `give(items)`;
 * `waiting()` before the network is waited on (what is read is given first).
 * Stays within READ_AHEAD_BYTES of `w.acked` (w.wake() when it grows); ends
 * once `w.stopped`.
 */
async function pump(w, source, file, give, waiting) {
  const walker = new BlockWalker(source, file, 0, { reuse: true });
  const pieces = new PieceBuilder();
  const send = (also = null) => {
    if (w.stopped) return;
    const items = [];
    if (pieces.count > 0) {
      const piece = pieces.take();
      w.sent += sizeOf(piece);
      items.push(piece);
    }
    if (also) items.push(also);
    if (items.length > 0) give(items);
  };
  source.beforeFetch = () => {
    send();
    if (!w.stopped) waiting();
  };
  for (;;) {
    while (!w.stopped && w.sent - w.acked >= READ_AHEAD_BYTES) await new Promise((resolve) => (w.wake = resolve));
    if (w.stopped) return;
    const got = await walker.next();
    if (w.stopped) return;
    if (got.type !== 'block') {
      send(got);
      if (got.type === 'end') return;
    } else {
      pieces.add(got.raw);
      if (pieces.bytes >= PIECE_BYTES) send();
    }
  }
}

/**
 * A walk over one recording's blocks from the first, read ahead by a pump:
 * `next()` resolves as recording-file.js's walker does, the blocks as pieces;
 * `onWait()` is called when the reading waits for the network (the feeder
 * shows what it has fed); `stop()` ends the pump.
 */
class Walk {
  onWait = null;
  #w = { sent: 0, acked: 0, wake: null, stopped: false };
  #queue = [];
  #at = 0;
  #wake = null;
  #error = null;
  #taken = 0;

  constructor(http, file) {
    const source = httpSource(http, { readAhead: true });
    const give = (items) => {
      this.#queue.push(...items);
      this.#wake?.();
    };
    pump(this.#w, source, file, give, () => this.onWait?.()).catch((err) => {
      this.#error = err;
      this.#wake?.();
    });
  }

  stop() {
    this.#w.stopped = true;
    this.#w.wake?.();
  }

  async next() {
    while (this.#at >= this.#queue.length && !this.#error) {
      await new Promise((resolve) => (this.#wake = resolve));
      this.#wake = null;
    }
    if (this.#at >= this.#queue.length) throw this.#error;
    const got = this.#queue[this.#at++];
    if (this.#at === this.#queue.length) {
      this.#queue = [];
      this.#at = 0;
    }
    if (got.type === 'block') {
      this.#taken += sizeOf(got);
      if (this.#taken >= ACK_BYTES) {
        this.#w.acked += this.#taken;
        this.#taken = 0;
        this.#w.wake?.();
      }
    }
    return got;
  }
}

/** The blocks of one recording (httpFile's `http`, the layout `file`), read for playback: `walk()` starts a walk from the first block and ends the one before (one feeder, one walk). */
export function blockReader(http, file) {
  let current = null;
  return {
    walk() {
      current?.stop();
      current = new Walk(http, file);
      return current;
    },
  };
}
