// Pongs a leg owes its client, bounded by that client's own reading: while the
// leg's outgoing buffer is past the high-water mark a ping is not answered at
// once — the leg stops being read instead, and once its client has read its
// backlog only the latest ping is answered (RFC 6455 §5.5.3 allows it). A
// client that pings and never reads holds at most the high-water mark.
import type { Socket } from 'node:net';
import { Opcode, controlFrame } from './frames.ts';

export class PongBudget {
  /** The leg must not be read until its socket drains. */
  held = false;
  #owed: Buffer | null = null;

  /** Answers a ping now, or owes it (then `held` is set: the caller pauses the socket). */
  answer(socket: Socket, payload: Buffer, limit: number): void {
    if (socket.writableLength > limit) {
      this.#owed = Buffer.from(payload);
      this.held = true;
      return;
    }
    socket.write(controlFrame(Opcode.PONG, payload));
  }

  /** The socket drained: the owed pong goes out and the hold is lifted (true when it was held). */
  drained(socket: Socket, limit: number): boolean {
    if (!this.held || socket.writableLength > limit >>> 1) return false;
    this.held = false;
    const pong = this.#owed;
    this.#owed = null;
    if (pong && socket.writable) socket.write(controlFrame(Opcode.PONG, pong));
    return true;
  }

  forget(): void {
    this.#owed = null;
  }
}
