// The block a recording is filling, on the relay's thread: each relayed
// piece is copied in as a record (direction, ms, length, bytes). A block
// starts small and grows (doubling) to BLOCK_BYTES, so an idle session holds
// little; it is sealed when full or SEAL_AFTER_MS after its first record,
// and its memory is its own (not Node's pool), so it can move whole to the
// encoder thread.
import { RECORD_HEADER_BYTES } from './recording-format.ts';

const FIRST_BLOCK_BYTES = 32 * 1024;
export const BLOCK_BYTES = 256 * 1024;
const SEAL_AFTER_MS = 1_000;

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
  private readonly sealed: (block: SealedBlock) => void;

  constructor(sealed: (block: SealedBlock) => void) {
    this.sealed = sealed;
  }

  add(direction: 0 | 1, ms: number, piece: Buffer): void {
    const need = RECORD_HEADER_BYTES + piece.length;
    if (this.#block && this.#length + need > this.#block.length) {
      if (this.#block.length < BLOCK_BYTES) this.#grow(need);
      else this.seal();
    }
    if (!this.#block) {
      this.#block = Buffer.allocUnsafeSlow(Math.max(FIRST_BLOCK_BYTES, need));
      this.#length = 0;
      this.#firstMs = ms;
      this.#timer ??= setTimeout(() => {
        this.#timer = null;
        this.seal();
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
    if (this.#length >= BLOCK_BYTES) this.seal();
  }

  #grow(need: number): void {
    const old = this.#block!;
    let size = old.length * 2;
    while (size < this.#length + need) size *= 2;
    const bigger = Buffer.allocUnsafeSlow(Math.min(Math.max(size, BLOCK_BYTES), Math.max(BLOCK_BYTES, this.#length + need)));
    old.copy(bigger, 0, 0, this.#length);
    this.#block = bigger;
  }

  /** Hands the block on (if it holds anything). */
  seal(): void {
    const block = this.#block;
    const length = this.#length;
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
