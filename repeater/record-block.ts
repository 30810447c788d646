// The block a recording is filling, on the relay's thread: each relayed
// piece is copied in as a record (direction, ms, length, bytes). A block
// starts small and grows (doubling) to BLOCK_BYTES, so an idle session holds
// little — but after a block that filled up, the next starts at full size,
// from a small pool of buffers that come back from the encoder and the disk
// (fresh memory costs page faults on every use). It is sealed when full or
// SEAL_AFTER_MS after its first record; its memory is its own (not Node's
// pool), so it can move whole to the encoder thread.
import { RECORD_HEADER_BYTES } from './recording-format.ts';

const FIRST_BLOCK_BYTES = 32 * 1024;
export const BLOCK_BYTES = 256 * 1024;
const SEAL_AFTER_MS = 1_000;

const POOL_MAX = 64; // 16 MiB at most, idle
const pool: ArrayBuffer[] = [];

/** A full-size block buffer no longer used (back from the encoder or the disk), kept for the next block. */
export function recycleBlock(buf: ArrayBuffer): void {
  if (buf.byteLength === BLOCK_BYTES && pool.length < POOL_MAX) pool.push(buf);
}

function fullBlock(): Buffer {
  const buf = pool.pop();
  return buf ? Buffer.from(buf) : Buffer.allocUnsafeSlow(BLOCK_BYTES);
}

export interface SealedBlock {
  buf: ArrayBuffer;
  length: number;
  firstMs: number;
  lastMs: number;
}

export class RecordBlock {
  #block: Buffer | null = null;
  #length = 0;
  #firstMs = 0;
  #lastMs = 0;
  #timer: NodeJS.Timeout | null = null;
  /** The last block filled up: the next starts at full size. */
  #hot = false;
  private readonly sealed: (block: SealedBlock) => void;

  constructor(sealed: (block: SealedBlock) => void) {
    this.sealed = sealed;
  }

  add(direction: 0 | 1, ms: number, piece: Buffer): void {
    const need = RECORD_HEADER_BYTES + piece.length;
    if (this.#block && this.#length + need > this.#block.length) {
      if (this.#block.length < BLOCK_BYTES) this.#grow(need);
      else {
        this.#hot = true;
        this.seal();
      }
    }
    if (!this.#block) {
      this.#block = this.#hot && need <= BLOCK_BYTES ? fullBlock() : Buffer.allocUnsafeSlow(Math.max(FIRST_BLOCK_BYTES, need));
      this.#length = 0;
      this.#firstMs = ms;
      this.#timer ??= setTimeout(() => {
        this.#timer = null;
        this.seal(true);
      }, SEAL_AFTER_MS);
      this.#timer.unref();
    }
    const block = this.#block;
    let at = this.#length;
    block[at] = direction;
    block.writeUInt32BE(ms, at + 1);
    block.writeUInt32BE(piece.length, at + 5);
    at += RECORD_HEADER_BYTES;
    piece.copy(block, at);
    this.#length = at + piece.length;
    this.#lastMs = ms;
    if (this.#length >= BLOCK_BYTES) {
      this.#hot = true;
      this.seal();
    }
  }

  #grow(need: number): void {
    const old = this.#block!;
    let size = old.length * 2;
    while (size < this.#length + need) size *= 2;
    const bigger = size <= BLOCK_BYTES ? (size === BLOCK_BYTES ? fullBlock() : Buffer.allocUnsafeSlow(size)) : Buffer.allocUnsafeSlow(this.#length + need);
    old.copy(bigger, 0, 0, this.#length);
    this.#block = bigger;
  }

  /** Hands the block on (if it holds anything). A block sealed by its timer was not filling fast: the next starts small. */
  seal(byTimer = false): void {
    const block = this.#block;
    const length = this.#length;
    if (byTimer) this.#hot = false;
    this.discard();
    if (block && length > 0) this.sealed({ buf: block.buffer as ArrayBuffer, length, firstMs: this.#firstMs, lastMs: this.#lastMs });
  }

  /** Forgets the block (the recording stopped). */
  discard(): void {
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = null;
    this.#block = null;
    this.#length = 0;
  }
}
