// One side of a ticket's session: the upgraded TCP socket, a streaming frame
// reader, and the facts the repeater keeps about it. Its lifecycle is a small
// state machine owned by the repeater:
//   waiting → paired → closed, or waiting → closed.
//
// The byte path, and why it is lean: both legs are websocket clients, so every
// frame arrives masked and leaves unmasked. A paired leg does not reassemble
// messages: each read from the socket is parsed in place, the payload bytes of
// each frame it holds are unmasked in place (bufferutil) and written to the
// peer as a frame of their own, header and slice corked into one writev. A
// frame whose payload spans several reads leaves as several fragments of the
// same message, so the receiver gets the same messages, byte for byte, and
// the peer's stream is at a frame boundary after every read — a ping or a close
// can always be written. No copy, no per-message closure, no timer per frame.
import type { Socket } from 'node:net';
import { CloseCode, type CloseCodeId } from '../protocol/close-codes.ts';
import type { LegSide, RecordOrder } from '../protocol/repeater.ts';
import type { Recorder } from './recording.ts';
import { Opcode, clientHeaderSize, closeFrame, controlFrame, frameHeader, unmaskPiece } from './frames.ts';

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
const NO_MASK = Buffer.alloc(4);
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
const EMPTY = Buffer.alloc(0);
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

  // Frame reader state.
  /** A header split across reads is gathered here (allocated on first need: idle legs stay small). */
  #header: Buffer | null = null;
  #headerLength = 0;
  #remaining = 0;
  #inPayload = false;
  #opcode = 0;
  #fin = false;
  #firstPiece = false;
  #mask: Buffer = NO_MASK;
  #maskOffset = 0;
  #inMessage = false;
  #messageBytes = 0;
  #control: Buffer | null = null;
  #controlLength = 0;

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
      if (!this.heldForBackpressure && !this.#closeSent) this.socket.resume();
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
    const head = this.#head;
    this.#head = null;
    if (head) this.#onData(head);
    this.socket.on('data', socketOnData);
    if (!this.heldForBackpressure || this.#closeSent) this.socket.resume();
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
        this.#parse(chunk);
        peerSocket.uncork();
        this.#checkBackpressure(peerSocket);
        return;
      }
    }
    this.#parse(chunk);
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
    if (source.state === 'paired' || source.#closeSent) source.socket.resume();
  }

  #parse(chunk: Buffer): void {
    const end = chunk.length;
    let pos = 0;
    while (pos < end && !this.#closeSent) {
      if (this.#inPayload) {
        pos = this.#readPayload(chunk, pos, end);
        continue;
      }
      // Header: parsed in place when whole in this read, else gathered.
      if (this.#headerLength === 0 && end - pos >= 2) {
        const size = clientHeaderSize(chunk[pos + 1]!);
        if (end - pos >= size) {
          this.#onHeader(chunk, pos);
          pos += size;
          continue;
        }
      }
      const header = (this.#header ??= Buffer.allocUnsafe(14));
      while (pos < end) {
        header[this.#headerLength++] = chunk[pos++]!;
        if (this.#headerLength >= 2 && this.#headerLength === clientHeaderSize(header[1]!)) {
          this.#headerLength = 0;
          this.#onHeader(header, 0);
          break;
        }
      }
    }
  }

  #onHeader(buf: Buffer, at: number): void {
    const first = buf[at]!;
    const second = buf[at + 1]!;
    const fin = (first & 0x80) !== 0;
    const opcode = first & 0x0f;
    if (first & 0x70) return this.#fail(1002, 'WS_ERR_UNEXPECTED_RSV', 'Reserved bits must be clear');
    if (!(second & 0x80)) return this.#fail(1002, 'WS_ERR_EXPECTED_MASK', 'Client frames must be masked');
    let length = second & 0x7f;
    let maskAt = at + 2;
    if (length === 126) {
      length = buf.readUInt16BE(at + 2);
      maskAt += 2;
    } else if (length === 127) {
      const high = buf.readUInt32BE(at + 2);
      if (high > 0x1fffff) return this.#fail(1009, 'WS_ERR_UNSUPPORTED_MESSAGE_LENGTH', 'Frame too large');
      length = high * 0x1_0000_0000 + buf.readUInt32BE(at + 6);
      maskAt += 8;
    }
    if (this.#mask === NO_MASK) this.#mask = Buffer.allocUnsafe(4);
    buf.copy(this.#mask, 0, maskAt, maskAt + 4);
    this.#maskOffset = 0;
    this.#fin = fin;
    this.#opcode = opcode;
    this.#remaining = length;

    if (opcode >= 0x8) {
      if (opcode > Opcode.PONG) return this.#fail(1002, 'WS_ERR_INVALID_OPCODE', `Invalid opcode ${opcode}`);
      if (!fin) return this.#fail(1002, 'WS_ERR_EXPECTED_FIN', 'Control frames must not be fragmented');
      if (length > 125) return this.#fail(1002, 'WS_ERR_INVALID_CONTROL_PAYLOAD_LENGTH', 'Control frame payload too long');
      this.#control = length > 0 ? Buffer.allocUnsafe(length) : EMPTY;
      this.#controlLength = 0;
      if (length === 0) return this.#onControl();
      this.#inPayload = true;
      return;
    }
    if (opcode === Opcode.CONTINUATION) {
      if (!this.#inMessage) return this.#fail(1002, 'WS_ERR_INVALID_OPCODE', 'Continuation frame without a message');
    } else if (opcode === Opcode.TEXT || opcode === Opcode.BINARY) {
      if (this.#inMessage) return this.#fail(1002, 'WS_ERR_INVALID_OPCODE', 'New message before the last one finished');
      this.#inMessage = true;
      this.#messageBytes = 0;
    } else {
      return this.#fail(1002, 'WS_ERR_INVALID_OPCODE', `Invalid opcode ${opcode}`);
    }
    this.#messageBytes += length;
    if (this.#messageBytes > this.limits.maxPayloadBytes) {
      return this.#fail(1009, 'WS_ERR_UNSUPPORTED_MESSAGE_LENGTH', 'Message too big');
    }
    if (fin) this.#inMessage = false;
    this.#firstPiece = true;
    if (length === 0) {
      this.#emit(fin, opcode, EMPTY);
      return;
    }
    this.#inPayload = true;
  }

  #readPayload(chunk: Buffer, pos: number, end: number): number {
    const n = Math.min(this.#remaining, end - pos);
    if (this.#opcode >= 0x8) {
      chunk.copy(this.#control!, this.#controlLength, pos, pos + n);
      this.#controlLength += n;
      this.#remaining -= n;
      if (this.#remaining === 0) {
        this.#inPayload = false;
        unmaskPiece(this.#control!, this.#mask, 0);
        this.#onControl();
      }
      return pos + n;
    }
    const piece = chunk.subarray(pos, pos + n);
    unmaskPiece(piece, this.#mask, this.#maskOffset);
    this.#maskOffset += n;
    this.#remaining -= n;
    const last = this.#remaining === 0;
    if (last) this.#inPayload = false;
    this.#emit(last && this.#fin, this.#firstPiece ? this.#opcode : Opcode.CONTINUATION, piece);
    this.#firstPiece = false;
    return pos + n;
  }

  /** One piece of a data frame, relayed as a frame of its own. */
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

  #onControl(): void {
    const payload = this.#control!;
    this.#control = null;
    switch (this.#opcode) {
      case Opcode.PING:
        if (this.socket.writable) this.socket.write(controlFrame(Opcode.PONG, payload));
        return;
      case Opcode.PONG:
        this.alive = true;
        return;
      case Opcode.CLOSE: {
        if (payload.length === 1) return this.#fail(1002, 'WS_ERR_INVALID_CONTROL_PAYLOAD_LENGTH', 'Invalid close frame');
        const code = payload.length >= 2 ? payload.readUInt16BE(0) : 1005;
        // Answered with the same code, as RFC 6455 §5.5.1 suggests.
        this.#sendClose(code, '');
        this.#depart(code);
        return;
      }
    }
  }

  /** A protocol error: the client is told why (1002, 1009), its peer learns it from the repeater. */
  #fail(code: number, errorCode: string, reason: string): void {
    this.errorCode = errorCode;
    this.#inPayload = false;
    this.#sendClose(code, reason);
    this.#depart(code);
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

/** Why a leg's own connection ended, from the peer's point of view. */
export function departureReason(leg: Leg, code: number): CloseCodeId {
  if (leg.errorCode?.startsWith('WS_ERR_')) return 'PEER_PROTOCOL_ERROR';
  const clean = code === 1000 || code === 1001 || code === 1005 || (code >= 3000 && code <= 4999);
  if (clean && leg.errorCode === null) {
    return leg.side === 'desktop' ? 'DESKTOP_LEFT' : 'VIEWER_LEFT';
  }
  return leg.side === 'desktop' ? 'DESKTOP_LOST' : 'VIEWER_LOST';
}
