// Validates a text message's UTF-8 as its pieces arrive, without gathering
// the message: a character split across pieces (fragments may cut anywhere)
// is carried over in at most three bytes. Strict as `ws` is (Node's isUtf8:
// no overlongs, no surrogates, nothing past U+10FFFF).
import { isUtf8 } from 'node:buffer';

/** How many bytes the sequence led by `byte` has (0: not a lead byte). */
function sequenceLength(byte: number): number {
  if (byte < 0x80) return 1;
  if (byte >= 0xc2 && byte <= 0xdf) return 2;
  if (byte >= 0xe0 && byte <= 0xef) return 3;
  if (byte >= 0xf0 && byte <= 0xf4) return 4;
  return 0;
}

export class Utf8Stream {
  readonly #carry = Buffer.alloc(4);
  #carried = 0;

  /** Whether `piece` continues valid UTF-8 (the bytes of an unfinished character are kept for the next piece). */
  push(piece: Buffer): boolean {
    let start = 0;
    if (this.#carried > 0) {
      const need = sequenceLength(this.#carry[0]!);
      while (this.#carried < need && start < piece.length) this.#carry[this.#carried++] = piece[start++]!;
      if (this.#carried < need) return this.#prefixValid();
      const whole = isUtf8(this.#carry.subarray(0, need));
      this.#carried = 0;
      if (!whole) return false;
    }
    const end = piece.length;
    // Find a character cut short at the end of the piece.
    let tail = end;
    for (let i = end - 1; i >= start && i >= end - 3; i--) {
      const b = piece[i]!;
      if ((b & 0xc0) === 0x80) continue; // a continuation byte: look further back
      const need = sequenceLength(b);
      if (need > end - i) tail = i;
      break;
    }
    if (tail > start && !isUtf8(piece.subarray(start, tail))) return false;
    for (let i = tail; i < end; i++) this.#carry[this.#carried++] = piece[i]!;
    return this.#carried === 0 || this.#prefixValid();
  }

  /** The message ended: nothing may be left unfinished. */
  end(): boolean {
    const ok = this.#carried === 0;
    this.#carried = 0;
    return ok;
  }

  reset(): void {
    this.#carried = 0;
  }

  /** A carried, unfinished character could still become valid (its second byte is checked as UTF-8 demands). */
  #prefixValid(): boolean {
    const lead = this.#carry[0]!;
    if (sequenceLength(lead) === 0) return false;
    for (let i = 1; i < this.#carried; i++) if ((this.#carry[i]! & 0xc0) !== 0x80) return false;
    if (this.#carried < 2) return true;
    const second = this.#carry[1]!;
    if (lead === 0xe0) return second >= 0xa0;
    if (lead === 0xed) return second <= 0x9f;
    if (lead === 0xf0) return second >= 0x90;
    if (lead === 0xf4) return second <= 0x8f;
    return true;
  }
}
