// What a leg's client sends while it waits for its peer: kept (copied, since
// the reader's pieces are views into a socket read) up to a small bound, then
// the leg is not read; relayed first, whole and in order, once it is paired.
import type { Socket } from 'node:net';
import { frameHeader } from './frames.ts';

/** What a waiting leg may send before its socket is paused (x11vnc's greeting is 12 bytes). */
export const WAITING_BUFFER_BYTES = 64 * 1024;
/** What keeping one frame costs beyond its payload (its record and buffer): empty frames are not free. */
const FRAME_COST_BYTES = 128;

export class WaitingFrames {
  #frames: { fin: boolean; opcode: number; piece: Buffer }[] = [];
  #bytes = 0;

  /** Past the bound: the leg must stop being read. */
  get full(): boolean {
    return this.#bytes > WAITING_BUFFER_BYTES;
  }

  keep(fin: boolean, opcode: number, piece: Buffer): void {
    this.#frames.push({ fin, opcode, piece: Buffer.from(piece) });
    this.#bytes += piece.length + FRAME_COST_BYTES;
  }

  /** Writes what was kept to the peer's socket, as frames, in one writev; `each` sees every payload (the recorder). */
  flushTo(sink: Socket, each: (piece: Buffer) => void): void {
    if (this.#frames.length === 0) return;
    sink.cork();
    for (const p of this.#frames) {
      sink.write(frameHeader(p.fin, p.opcode, p.piece.length));
      if (p.piece.length > 0) {
        sink.write(p.piece);
        each(p.piece);
      }
    }
    sink.uncork();
    this.#frames = [];
    this.#bytes = 0;
  }
}
