// One side of a ticket's session: the upgraded TCP socket, a streaming frame
// reader, and the facts the repeater keeps about it. Its lifecycle is a small
// state machine owned by the repeater:
//   waiting → paired → closed, or waiting → closed.
//
// The byte path, and why it is lean: both legs are websocket clients, so every
// frame arrives masked and leaves unmasked. A paired leg does not reassemble
// messages: its FrameReader parses each read in place and hands on the
// unmasked payload of each frame it holds, which is written to the peer as a
// frame of its own, header and slice corked into one writev. The peer's stream
// is at a frame boundary after every read — a ping or a close can always be
// written. No copy, no per-message closure, no timer per frame.
//
// What one client can make a leg hold: its peer's outgoing buffer up to the
// high-water mark (then this leg is not read), at most WAITING_BUFFER_BYTES
// while waiting, and its own outgoing buffer — pongs — up to the high-water
// mark: past it a ping is not answered at once but stops this leg being read
// until its client has read what it was sent (then the latest ping is
// answered, as RFC 6455 §5.5.3 allows).
import type { Socket } from 'node:net';
import { CloseCode, type CloseCodeId } from '../protocol/close-codes.ts';
import type { LegSide, RecordOrder } from '../protocol/repeater.ts';
import type { Recorder } from './recording.ts';
import { Opcode, closeFrame, controlFrame, frameHeader } from './frames.ts';
import { FrameReader, type FrameHandler } from './frame-reader.ts';

export type LegState = 'waiting' | 'paired' | 'closed';

const legalMoves: Readonly<Record<LegState, readonly LegState[]>> = {
  waiting: ['paired', 'closed'],
  paired: ['closed'],
  closed: [],
};

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
const kLeg = Symbol('leg');
type LegSocket = Socket & { [kLeg]: Leg };

function socketOnError(this: LegSocket, err: Error & { code?: string }): void {
  this[kLeg].errorCode ??= err.code ?? 'ERROR';
}
function socketOnEnd(this: Socket): void {
  this.end();
}
function socketOnClose(this: LegSocket): void {
  Leg.onSocketClose(this[kLeg]);
}
function socketOnDrain(this: LegSocket): void {
  Leg.onSocketDrain(this[kLeg]);
}
function socketOnData(this: LegSocket, chunk: Buffer): void {
  Leg.onSocketData(this[kLeg], chunk);
}
function ignore(): void {}
/** What a waiting leg may send before its socket is paused (x11vnc's greeting is 12 bytes). */
const WAITING_BUFFER_BYTES = 64 * 1024;
/** A read at least this large is bulk (screen updates): its flush waits for the end of the event-loop turn. */
const BULK_READ_BYTES = 16 * 1024;

export class Leg {
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
  /** The session's recorder (both legs share it), while paired and recorded. */
  recorder: Recorder | null = null;

  #peer: Leg | null = null;
  /** Data frames read while waiting, relayed first once paired. */
  #pending: { fin: boolean; opcode: number; piece: Buffer }[] = [];
  #pendingBytes = 0;
  #heldWhileWaiting = false;
  #corked = false;
  #reading = false;
  #closeSent = false;
  #departed = false;
  #closeTimer: NodeJS.Timeout | null = null;
  #head: Buffer | null;
  #reader: FrameReader | null = null;
  /** Not read because its own client has not read what it was sent (a ping flood that never reads its pongs). */
  #heldForOwnBuffer = false;
  /** The latest ping's payload, answered once the client has read its backlog. */
  #owedPong: Buffer | null = null;

  constructor(
    readonly socket: Socket,
    readonly ticketId: string,
    readonly side: LegSide,
    readonly remoteAddress: string,
    private readonly limits: LegLimitsOptions,
    private readonly hooks: LegHooks,
    head: Buffer,
  ) {
    this.#head = head.length > 0 ? head : null;
    socket.setNoDelay(true);
    socket.setTimeout(0);
    // Shared listeners (no closures per leg): 9,000 idle sessions are 18,000 legs.
    (socket as LegSocket)[kLeg] = this;
    socket.on('error', socketOnError);
    // http.Server sockets allow half-open: a client's FIN is answered with ours.
    socket.on('end', socketOnEnd);
    socket.on('close', socketOnClose);
    socket.on('drain', socketOnDrain);
    // Read once the repeater has placed it (startWaiting or relayTo).
    socket.pause();
  }

  static #uncork(leg: Leg): void {
    leg.#corked = false;
    leg.#peer?.socket.uncork();
  }

  /** Socket listeners (shared by every leg, see the constructor). */
  static onSocketClose(leg: Leg): void {
    if (leg.#closeTimer) clearTimeout(leg.#closeTimer);
    if (!leg.#departed && leg.state !== 'closed') leg.#depart(1006);
    leg.hooks.socketClosed(leg);
  }

  static onSocketDrain(leg: Leg): void {
    leg.#peerMayResume();
    leg.#ownBufferDrained();
  }

  static onSocketData(leg: Leg, chunk: Buffer): void {
    leg.#onData(chunk);
  }

  get peer(): Leg | null {
    return this.#peer;
  }

  transition(next: LegState): void {
    if (!legalMoves[this.state].includes(next)) {
      throw new Error(`illegal leg transition ${this.state} → ${next}`);
    }
    this.state = next;
    if (next !== 'waiting' && this.waitingTimer) {
      clearTimeout(this.waitingTimer);
      this.waitingTimer = null;
    }
  }

  /** Joins this (paired) leg to its peer and starts reading: bytes held while waiting flow first. */
  /**
   * A waiting leg is read into a small bounded buffer (WAITING_BUFFER_BYTES,
   * then its socket is paused), so a client that leaves while waiting is
   * noticed at once, and what it sent first is delivered whole after pairing.
   */
  startWaiting(): void {
    this.#startReading();
  }

  relayTo(peer: Leg): void {
    this.#peer = peer;
    if (this.#pending.length > 0) {
      const sink = peer.socket;
      sink.cork();
      const direction = this.side === 'desktop' ? 0 : 1;
      for (const p of this.#pending) {
        sink.write(frameHeader(p.fin, p.opcode, p.piece.length));
        if (p.piece.length > 0) {
          sink.write(p.piece);
          this.recorder?.record(direction, p.piece);
        }
      }
      sink.uncork();
      this.#pending = [];
      this.#pendingBytes = 0;
    }
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

  ping(): void {
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
    this.#reader ??= new FrameReader(new LegFrames(this), this.limits.maxPayloadBytes);
    const head = this.#head;
    this.#head = null;
    if (head) this.#onData(head);
    this.socket.on('data', socketOnData);
    if (this.#mayRead()) this.socket.resume();
  }

  /** Nothing holds this leg's reading (a leg that sent its close reads on until the FIN). */
  #mayRead(): boolean {
    return this.#closeSent || (!this.heldForBackpressure && !this.#heldWhileWaiting && !this.#heldForOwnBuffer);
  }

  #onData(chunk: Buffer): void {
    if (this.#closeSent) return; // after our close frame, everything but the FIN is ignored
    const peerSocket = this.#peer?.socket;
    if (peerSocket && !this.#corked) {
      // Bulk reads are flushed once per event-loop turn (several reads, one
      // writev); a small read (a key, a pointer move) is flushed at once.
      peerSocket.cork();
      if (chunk.length >= BULK_READ_BYTES) {
        this.#corked = true;
        setImmediate(Leg.#uncork, this);
      } else {
        this.#reader!.push(chunk);
        peerSocket.uncork();
        this.#checkBackpressure(peerSocket);
        return;
      }
    }
    this.#reader!.push(chunk);
    if (peerSocket) this.#checkBackpressure(peerSocket);
    else if (this.#pendingBytes > WAITING_BUFFER_BYTES && !this.#closeSent) {
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
    if (!this.#heldForOwnBuffer || this.socket.writableLength > this.limits.highWaterMarkBytes >>> 1) return;
    this.#heldForOwnBuffer = false;
    const pong = this.#owedPong;
    this.#owedPong = null;
    if (pong && !this.#closeSent && this.socket.writable) this.socket.write(controlFrame(Opcode.PONG, pong));
    if (this.#mayRead()) this.socket.resume();
  }

  /** One piece of a data frame, relayed as a frame of its own (LegFrames). */
  static framePiece(leg: Leg, fin: boolean, opcode: number, piece: Buffer): void {
    leg.#emit(fin, opcode, piece);
  }

  static ping(leg: Leg, payload: Buffer): void {
    const socket = leg.socket;
    if (!socket.writable || leg.#closeSent) return;
    if (socket.writableLength > leg.limits.highWaterMarkBytes) {
      // The client sends pings and does not read the pongs: stop reading it.
      leg.#owedPong = Buffer.from(payload);
      if (!leg.#heldForOwnBuffer) {
        leg.#heldForOwnBuffer = true;
        socket.pause();
      }
      return;
    }
    socket.write(controlFrame(Opcode.PONG, payload));
  }

  static pong(leg: Leg): void {
    leg.alive = true;
  }

  /** The client closed: answered with the same code (none for 1005), as RFC 6455 §5.5.1 suggests. */
  static closeFrame(leg: Leg, code: number): void {
    leg.#sendClose(code, '');
    leg.#depart(code);
  }

  /** A protocol error: the client is told why (1002, 1007, 1009), its peer learns it from the repeater. */
  static protocolError(leg: Leg, code: number, errorCode: string, reason: string): void {
    leg.errorCode = errorCode;
    leg.#sendClose(code, reason);
    leg.#depart(code);
  }

  #emit(fin: boolean, opcode: number, piece: Buffer): void {
    this.bytesIn += piece.length;
    const peer = this.#peer;
    if (!peer) {
      // Waiting: kept (copied, bounded by WAITING_BUFFER_BYTES) until pairing.
      this.#pending.push({ fin, opcode, piece: Buffer.from(piece) });
      this.#pendingBytes += piece.length;
      return;
    }
    const sink = peer.socket;
    if (!sink.writable || peer.#closeSent) return;
    sink.write(frameHeader(fin, opcode, piece.length));
    if (piece.length > 0) {
      sink.write(piece);
      this.recorder?.record(this.side === 'desktop' ? 0 : 1, piece);
    }
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
    this.#owedPong = null;
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
      socket.on('data', ignore);
    }
    socket.resume();
  }
}

/** The reader's handler for one leg: one small object per leg, no closures. */
class LegFrames implements FrameHandler {
  constructor(private readonly leg: Leg) {}
  framePiece(fin: boolean, opcode: number, piece: Buffer): void {
    Leg.framePiece(this.leg, fin, opcode, piece);
  }
  ping(payload: Buffer): void {
    Leg.ping(this.leg, payload);
  }
  pong(): void {
    Leg.pong(this.leg);
  }
  closeFrame(code: number): void {
    Leg.closeFrame(this.leg, code);
  }
  protocolError(code: number, errorCode: string, message: string): void {
    Leg.protocolError(this.leg, code, errorCode, message);
  }
}

/** Why a leg's own connection ended, from the peer's point of view. */
export function departureReason(leg: Leg, code: number): CloseCodeId {
  if (leg.errorCode?.startsWith('WS_ERR_')) return 'PEER_PROTOCOL_ERROR';
  const clean = code === 1000 || code === 1001 || code === 1005 || (code >= 3000 && code <= 4999);
  if (clean && leg.errorCode === null) {
    return leg.side === 'desktop' ? 'DESKTOP_LEFT' : 'VIEWER_LEFT';
  }
  return leg.side === 'desktop' ? 'DESKTOP_LOST' : 'VIEWER_LOST';
}
