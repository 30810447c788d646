// How a leg's frames leave for its peer. A small read (a key, a pointer move,
// a small screen update) leaves at once as one write: its frames are gathered
// into a single buffer, one syscall, no cork. A bulk read (screen updates) is
// written as header and payload views, corked until the end of the event-loop
// turn, so several reads leave in one writev without a copy.
import type { Socket } from 'node:net';
import { frameHeader } from './frames.ts';

/** A read at least this large is bulk: its flush waits for the end of the event-loop turn. */
export const BULK_READ_BYTES = 16 * 1024;

function uncork(out: PeerOutput): void {
  out.corked = false;
  out.socket.uncork();
}

export class PeerOutput {
  corked = false;
  #small: Buffer[] | null = null;
  readonly #gathered: Buffer[] = [];

  constructor(readonly socket: Socket) {}

  /** Before a read is parsed: how its frames will leave. */
  begin(readBytes: number): void {
    if (readBytes < BULK_READ_BYTES && !this.corked) {
      this.#small = this.#gathered;
    } else if (!this.corked) {
      this.socket.cork();
      this.corked = true;
      setImmediate(uncork, this);
    }
  }

  write(fin: boolean, opcode: number, piece: Buffer): void {
    const header = frameHeader(fin, opcode, piece.length);
    if (this.#small) {
      this.#small.push(header, piece);
      return;
    }
    this.socket.write(header);
    if (piece.length > 0) this.socket.write(piece);
  }

  /** After the read (or before anything else goes to the peer): what was gathered leaves as one buffer. */
  flush(): void {
    const out = this.#small;
    if (!out) return;
    this.#small = null;
    if (out.length > 0 && this.socket.writable) this.socket.write(Buffer.concat(out));
    out.length = 0;
  }
}
