// One side of a ticket's session: the upgraded TCP socket, a streaming frame
// reader, and the facts the repeater keeps about it. Its lifecycle
// (leg-state.ts) is owned by the repeater.
//
// The byte path, and why it is lean: both legs are websocket clients, so every
// frame arrives masked and leaves unmasked. A paired leg does not reassemble
// messages: its FrameReader parses each read in place and hands on the
// unmasked payload of each frame it holds, which is written to the peer as a
// frame of its own (peer-output.ts: one buffer for a small read, header and
// slice views in one writev for bulk). The peer's stream is at a frame
// boundary after every read — a ping or a close can always be written.
// What one client can make a leg hold: its peer's outgoing buffer up to the
// high-water mark (then this leg is not read), a small bound while waiting
// (waiting-frames.ts), its own outgoing buffer of pongs (pong-budget.ts). A
// required recording that is behind holds both legs' reading too.
import type { Socket } from 'node:net';
import { CloseCode, type CloseCodeId } from '../protocol/close-codes.ts';
import type { LegSide, RecordOrder } from '../protocol/repeater.ts';
import type { SessionRecording } from './session-recordings.ts';
import { Opcode, closeFrame, controlFrame } from './frames.ts';
import { PeerOutput } from './peer-output.ts';
import { FrameReader, type FrameHandler } from './frame-reader.ts';
import { legalMoves, type LegState } from './leg-state.ts';
import { WaitingFrames } from './waiting-frames.ts';
import { PongBudget } from './pong-budget.ts';
import { drainLegSocket, readLegSocket, wireLegSocket, type LegSocketEvents } from './leg-socket.ts';

export { departureReason, type LegState } from './leg-state.ts';

export interface LegHooks {
  /** The leg's client left: a close frame (its code), a protocol error, or a lost socket (1006). */
  departed(leg: Leg, code: number): void;
  /** The socket is gone (every leg, whatever ended it). */
  socketClosed(leg: Leg): void;
}

export interface LegLimitsOptions {
  maxPayloadBytes: number;
  highWaterMarkBytes: number;
  closeTimeoutMs: number;
}

const PING = controlFrame(Opcode.PING, Buffer.alloc(0));

/** A leg is its own frame reader's handler (framePiece, ping, pong, closeFrame, protocolError). */
export class Leg implements FrameHandler, LegSocketEvents {
  state: LegState = 'waiting';
  /** Cleared by each heartbeat ping, set again by the pong. */
  alive = true;
  /** True while the repeater holds this leg's reading because its peer's buffer is full. */
  heldForBackpressure = false;
  /** The error code (WS_ERR_… for protocol errors, a socket code, HEARTBEAT_TIMEOUT) seen before the close, if any. */
  errorCode: string | null = null;
  waitingTimer: NodeJS.Timeout | null = null;
  /** Payload bytes received from this leg's client and relayed to its peer. */
  bytesIn = 0;
  readonly openedAt = Date.now();
  /** The server's order to record this leg's session, from its authorization. */
  recordOrder: RecordOrder | null = null;
  /** The session's recording (both legs share it), while paired and recorded. */
  recorder: SessionRecording | null = null;

  #peer: Leg | null = null;
  /** Data frames read while waiting, relayed first once paired. */
  #waiting: WaitingFrames | null = new WaitingFrames();
  #heldWhileWaiting = false;
  #heldForRecording = false;
  #reading = false;
  #closeSent = false;
  #departed = false;
  #closeTimer: NodeJS.Timeout | null = null;
  #head: Buffer | null;
  #reader: FrameReader | null = null;
  /** How frames leave for the peer, once paired. */
  #out: PeerOutput | null = null;
  /** Pongs owed (held: not read until its client reads what it was sent). */
  readonly #pongs = new PongBudget();

  readonly socket: Socket;
  readonly ticketId: string;
  readonly side: LegSide;
  readonly remoteAddress: string;
  private readonly limits: LegLimitsOptions;
  private readonly hooks: LegHooks;

  constructor(
    socket: Socket,
    ticketId: string,
    side: LegSide,
    remoteAddress: string,
    limits: LegLimitsOptions,
    hooks: LegHooks,
    head: Buffer,
  ) {
    this.socket = socket;
    this.ticketId = ticketId;
    this.side = side;
    this.remoteAddress = remoteAddress;
    this.limits = limits;
    this.hooks = hooks;
    this.#head = head.length > 0 ? head : null;
    // Read once the repeater has placed it (startWaiting or relayTo).
    wireLegSocket(socket, this);
  }

  /** The socket's events (leg-socket.ts). */
  socketError(code: string): void {
    this.errorCode ??= code;
  }

  socketClosed(): void {
    if (this.#closeTimer) clearTimeout(this.#closeTimer);
    if (!this.#departed && this.state !== 'closed') this.#depart(1006);
    this.hooks.socketClosed(this);
  }

  socketDrained(): void {
    this.#peerMayResume();
    this.#ownBufferDrained();
  }

  socketData(chunk: Buffer): void {
    this.#onData(chunk);
  }

  get peer(): Leg | null {
    return this.#peer;
  }

  transition(next: LegState): void {
    if (!legalMoves[this.state].includes(next)) throw new Error(`illegal leg transition ${this.state} → ${next}`);
    this.state = next;
    if (next !== 'waiting' && this.waitingTimer) {
      clearTimeout(this.waitingTimer);
      this.waitingTimer = null;
    }
  }

  /** A waiting leg is read into a small bounded buffer (then paused): a client leaving while waiting is noticed at once, and what it sent first is delivered whole after pairing. */
  startWaiting(): void {
    this.#startReading();
  }

  /** Joins this (paired) leg to its peer and starts reading: bytes held while waiting flow first. */
  relayTo(peer: Leg): void {
    this.#peer = peer;
    this.#out = new PeerOutput(peer.socket);
    const direction = this.side === 'desktop' ? 0 : 1;
    this.#waiting?.flushTo(peer.socket, (piece) => this.recorder?.record(direction, piece));
    this.#waiting = null;
    if (!this.#reading) this.#startReading();
    else if (this.#heldWhileWaiting) {
      this.#heldWhileWaiting = false;
      if (this.#mayRead()) this.socket.resume();
    }
  }

  /** Closes with one of the repeater's codes (a leg that was held is read again, so the handshake completes). */
  closeWith(id: CloseCodeId): void {
    if (this.state !== 'closed') this.transition('closed');
    this.#sendClose(CloseCode[id], id);
  }

  /** The heartbeat's ping (a pong sets `alive` again). */
  sendPing(): void {
    if (!this.#closeSent && this.socket.writable) this.socket.write(PING);
  }

  /** Drops the connection at once (a peer that stopped answering). */
  terminate(errorCode: string): void {
    this.errorCode ??= errorCode;
    this.socket.destroy();
  }

  #startReading(): void {
    if (this.#reading) return;
    this.#reading = true;
    this.#reader ??= new FrameReader(this, this.limits.maxPayloadBytes);
    const head = this.#head;
    this.#head = null;
    if (head) this.#onData(head);
    readLegSocket(this.socket);
    if (this.#mayRead()) this.socket.resume();
  }

  /** Nothing holds this leg's reading (a leg that sent its close reads on until the FIN). */
  #mayRead(): boolean {
    return this.#closeSent || (!this.heldForBackpressure && !this.#heldWhileWaiting && !this.#pongs.held && !this.#heldForRecording);
  }

  /** A required recording is behind (or not yet open): reading waits for it. */
  holdForRecording(held: boolean): void {
    this.#heldForRecording = held;
    if (held) this.socket.pause();
    else if (this.#reading && this.#mayRead()) this.socket.resume();
  }

  #onData(chunk: Buffer): void {
    if (this.#closeSent) return; // after our close frame, everything but the FIN is ignored
    const out = this.#out;
    out?.begin(chunk.length);
    this.#reader!.push(chunk);
    if (out) {
      out.flush();
      this.#checkBackpressure(out.socket);
    } else if (this.#waiting?.full && !this.#closeSent) {
      this.#heldWhileWaiting = true;
      this.socket.pause();
    }
  }

  #checkBackpressure(peerSocket: Socket): void {
    if (!this.heldForBackpressure && !this.#closeSent && peerSocket.writableLength > this.limits.highWaterMarkBytes) {
      this.heldForBackpressure = true;
      this.socket.pause();
    }
  }

  /** This socket flushed: a peer held because of it may read again. */
  #peerMayResume(): void {
    const source = this.#peer;
    if (!source || !source.heldForBackpressure) return;
    if (this.socket.writableLength > this.limits.highWaterMarkBytes >>> 1) return;
    source.heldForBackpressure = false;
    source.alive = true;
    if ((source.state === 'paired' && source.#mayRead()) || source.#closeSent) source.socket.resume();
  }

  /** This leg's client read its backlog: the owed pong goes out and reading resumes. */
  #ownBufferDrained(): void {
    if (this.#closeSent || !this.#pongs.drained(this.socket, this.limits.highWaterMarkBytes)) return;
    if (this.#mayRead()) this.socket.resume();
  }

  ping(payload: Buffer): void {
    if (!this.socket.writable || this.#closeSent) return;
    this.#pongs.answer(this.socket, payload, this.limits.highWaterMarkBytes);
    if (this.#pongs.held) this.socket.pause();
  }

  pong(): void {
    this.alive = true;
  }

  /** The client closed: answered with the same code (none for 1005), as RFC 6455 §5.5.1 suggests. */
  closeFrame(code: number): void {
    this.#out?.flush();
    this.#sendClose(code, '');
    this.#depart(code);
  }

  /** A protocol error: the client is told why (1002, 1007, 1009), its peer learns it from the repeater. */
  protocolError(code: number, errorCode: string, reason: string): void {
    this.errorCode = errorCode;
    this.#out?.flush();
    this.#sendClose(code, reason);
    this.#depart(code);
  }

  /** One piece of a data frame, relayed as a frame of its own (the reader calls this, ping, pong, closeFrame, protocolError). */
  framePiece(fin: boolean, opcode: number, piece: Buffer): void {
    this.bytesIn += piece.length;
    const peer = this.#peer;
    if (!peer) {
      this.#waiting?.keep(fin, opcode, piece);
      return;
    }
    if (!peer.socket.writable || peer.#closeSent) return;
    this.#out!.write(fin, opcode, piece);
    if (piece.length > 0) this.recorder?.record(this.side === 'desktop' ? 0 : 1, piece);
  }

  #depart(code: number): void {
    if (this.#departed) return;
    this.#departed = true;
    this.hooks.departed(this, code);
  }

  /** Writes a close frame, half-closes, keeps reading until the client's FIN, and gives up after closeTimeoutMs. */
  #sendClose(code: number, reason: string): void {
    if (this.#closeSent) return;
    this.#closeSent = true;
    this.#reader?.stop();
    this.#pongs.forget();
    const socket = this.socket;
    if (socket.destroyed) return;
    if (socket.writable) socket.end(closeFrame(code, reason));
    this.#closeTimer = setTimeout(() => socket.destroy(), this.limits.closeTimeoutMs);
    // Reading until the FIN lets the client's close frame be consumed (an
    // unread socket closed by us would answer with RST and could lose our
    // close frame at the client).
    if (!this.#reading) {
      this.#reading = true;
      this.#head = null;
      drainLegSocket(socket);
    }
    socket.resume();
  }
}
