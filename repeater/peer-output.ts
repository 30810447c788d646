// How a leg's frames leave for its peer. Small frames are gathered and leave
// as one buffer at the end of each read (one write, one syscall, and one
// queued write however many frames a read held: a flood of tiny frames costs
// the peer's buffer what it counts, not a write request per frame). In a bulk
// read (screen updates) a large payload leaves as a view, without a copy,
// corked with the rest of the event-loop turn into one writev.
import type { Socket } from 'node:net';
import { frameHeader } from './frames.ts';

/** A read at least this large is bulk: its flush waits for the end of the event-loop turn. */
export const BULK_READ_BYTES = 16 * 1024;
/** In a bulk read, a payload at least this large leaves as a view of the read. */
const VIEW_BYTES = 4 * 1024;

function uncork(out: PeerOutput): void {
  out.corked = false;
  out.socket.uncork();
}

export class PeerOutput {
  corked = false;
  #bulk = false;
  readonly #gathered: Buffer[] = [];

  readonly socket: Socket;

  constructor(socket: Socket) {
    this.socket = socket;
  }

  /** Before a read is parsed: how its frames will leave. */
  begin(readBytes: number): void {
    this.#bulk = readBytes >= BULK_READ_BYTES;
    if (this.#bulk && !this.corked) {
      this.socket.cork();
      this.corked = true;
      setImmediate(uncork, this);
    }
  }

  write(fin: boolean, opcode: number, piece: Buffer): void {
    this.#gathered.push(frameHeader(fin, opcode, piece.length));
    if (!this.#bulk || piece.length < VIEW_BYTES) {
      if (piece.length > 0) this.#gathered.push(piece);
      return;
    }
    this.flush();
    this.socket.write(piece);
  }

  /** After each read (and before anything else goes to the peer): what was gathered leaves as one buffer. */
  flush(): void {
    const out = this.#gathered;
    if (out.length === 0) return;
    if (this.socket.writable) this.socket.write(out.length === 1 ? out[0]! : Buffer.concat(out));
    out.length = 0;
  }
}
