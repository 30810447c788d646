// An incremental reader of the frames a websocket client sends (RFC 6455 §5),
// shaped like `ws`'s Receiver but without reassembly: no sockets, no timers,
// no copies of data. Each chunk is parsed in place; the payload of each data
// frame it holds is unmasked in place and handed on as a piece (a frame whose
// payload spans several chunks is handed on as several pieces). Control frames
// are gathered (at most 125 bytes) and handed on whole. Every check `ws` makes
// on a server's input is made here, in the same order, with the same close
// code (the differential test in frame-reader.test.ts holds it to that); a
// text message is checked as UTF-8 piece by piece, and an invalid one is not
// handed on past the point where it went wrong.
import { isValidStatusCode } from './ws-validation.ts';
import { Opcode, clientHeaderSize, unmaskPiece } from './frames.ts';
import { Utf8Stream } from './utf8-stream.ts';

export interface FrameHandler {
  /** A piece of a data frame (unmasked, a view into the chunk): `opcode` is the frame's on its first piece, CONTINUATION after. */
  framePiece(fin: boolean, opcode: number, piece: Buffer): void;
  ping(payload: Buffer): void;
  pong(payload: Buffer): void;
  /** A valid close frame: its code (1005 when it had none) and reason. Nothing after it is read. */
  closeFrame(code: number, reason: Buffer): void;
  /** The client broke the protocol: the code to close with (1002, 1007, 1009) and `ws`'s error code. Nothing after it is read. */
  protocolError(code: number, errorCode: string, message: string): void;
}

const NO_MASK = Buffer.alloc(4);
const EMPTY = Buffer.alloc(0);

export class FrameReader {
  #stopped = false;
  /** A header split across chunks is gathered here (allocated on first need: idle legs stay small). */
  #header: Buffer | null = null;
  #headerLength = 0;
  #inPayload = false;
  #remaining = 0;
  #opcode = 0;
  #fin = false;
  #firstPiece = false;
  #mask: Buffer = NO_MASK;
  #maskOffset = 0;
  /** The opcode of the message under way (TEXT or BINARY), 0 between messages. */
  #messageOpcode = 0;
  #messageBytes = 0;
  /** The text message under way broke UTF-8: its pieces are no longer handed on, 1007 at its end. */
  #badText = false;
  #utf8: Utf8Stream | null = null;
  #control: Buffer | null = null;
  #controlLength = 0;

  private readonly handler: FrameHandler;
  private readonly maxPayloadBytes: number;

  constructor(
    handler: FrameHandler,
    maxPayloadBytes: number,
  ) {
    this.handler = handler;
    this.maxPayloadBytes = maxPayloadBytes;
  }

  get stopped(): boolean {
    return this.#stopped;
  }

  /** Nothing more is read (the repeater sent its close frame). */
  stop(): void {
    this.#stopped = true;
  }

  push(chunk: Buffer): void {
    const end = chunk.length;
    let pos = 0;
    while (pos < end && !this.#stopped) {
      if (this.#inPayload) {
        pos = this.#readPayload(chunk, pos, end);
        continue;
      }
      // A header whole in this chunk is parsed in place, else gathered.
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
        // Checked as soon as `ws` would check them, so a cut-short header fails the same way.
        if (this.#headerLength === 2 && !(this.#firstByteValid(header[0]!) && this.#secondByteValid(header[0]!, header[1]!))) break;
        if (this.#headerLength >= 2 && this.#headerLength === clientHeaderSize(header[1]!) - 4 && this.#length(header, 0) < 0) break;
        if (this.#headerLength >= 2 && this.#headerLength === clientHeaderSize(header[1]!)) {
          this.#headerLength = 0;
          this.#onHeader(header, 0);
          break;
        }
      }
    }
  }

  /** `ws`'s checks on the first byte: reserved bits, opcode, fragmentation. */
  #firstByteValid(first: number): boolean {
    const fin = (first & 0x80) !== 0;
    const opcode = first & 0x0f;
    if (first & 0x30) return this.#fail(1002, 'WS_ERR_UNEXPECTED_RSV_2_3', 'RSV2 and RSV3 must be clear');
    if (first & 0x40) return this.#fail(1002, 'WS_ERR_UNEXPECTED_RSV_1', 'RSV1 must be clear');
    if (opcode === Opcode.CONTINUATION) {
      if (this.#messageOpcode === 0) return this.#fail(1002, 'WS_ERR_INVALID_OPCODE', 'invalid opcode 0');
    } else if (opcode === Opcode.TEXT || opcode === Opcode.BINARY) {
      if (this.#messageOpcode !== 0) return this.#fail(1002, 'WS_ERR_INVALID_OPCODE', `invalid opcode ${opcode}`);
    } else if (opcode === Opcode.CLOSE || opcode === Opcode.PING || opcode === Opcode.PONG) {
      if (!fin) return this.#fail(1002, 'WS_ERR_EXPECTED_FIN', 'FIN must be set');
    } else {
      return this.#fail(1002, 'WS_ERR_INVALID_OPCODE', `invalid opcode ${opcode}`);
    }
    return true;
  }

  /** `ws`'s checks on the second byte: control payload length, the mask every client frame carries. */
  #secondByteValid(first: number, second: number): boolean {
    const opcode = first & 0x0f;
    const len7 = second & 0x7f;
    if (opcode >= 0x8 && (len7 > 125 || (opcode === Opcode.CLOSE && len7 === 1))) {
      return this.#fail(1002, 'WS_ERR_INVALID_CONTROL_PAYLOAD_LENGTH', `invalid payload length ${len7}`);
    }
    if (!(second & 0x80)) return this.#fail(1002, 'WS_ERR_EXPECTED_MASK', 'MASK must be set');
    return true;
  }

  #onHeader(buf: Buffer, at: number): void {
    const first = buf[at]!;
    const second = buf[at + 1]!;
    if (!this.#firstByteValid(first) || !this.#secondByteValid(first, second)) return;
    const length = this.#length(buf, at);
    if (length < 0) return;
    const fin = (first & 0x80) !== 0;
    const opcode = first & 0x0f;
    const maskAt = at + clientHeaderSize(second) - 4;
    if (this.#mask === NO_MASK) this.#mask = Buffer.allocUnsafe(4);
    buf.copy(this.#mask, 0, maskAt, maskAt + 4);
    this.#maskOffset = 0;
    this.#fin = fin;
    this.#opcode = opcode;
    this.#remaining = length;

    if (opcode >= 0x8) {
      this.#control = length > 0 ? Buffer.allocUnsafe(length) : EMPTY;
      this.#controlLength = 0;
      if (length === 0) return this.#onControl();
      this.#inPayload = true;
      return;
    }
    if (opcode !== Opcode.CONTINUATION) {
      this.#messageOpcode = opcode;
      this.#messageBytes = 0;
    }
    this.#messageBytes += length;
    this.#firstPiece = true;
    if (length === 0) return this.#piece(EMPTY);
    this.#inPayload = true;
  }

  /** The payload length of a header (its length bytes present), or -1 when it is refused as `ws` refuses it. */
  #length(buf: Buffer, at: number): number {
    const first = buf[at]!;
    let length = buf[at + 1]! & 0x7f;
    if (length === 126) length = buf.readUInt16BE(at + 2);
    else if (length === 127) {
      const high = buf.readUInt32BE(at + 2);
      if (high > 0x1fffff) {
        this.#fail(1009, 'WS_ERR_UNSUPPORTED_DATA_PAYLOAD_LENGTH', 'Unsupported WebSocket frame: payload length > 2^53 - 1');
        return -1;
      }
      length = high * 0x1_0000_0000 + buf.readUInt32BE(at + 6);
    }
    const opcode = first & 0x0f;
    if (opcode < 0x8 && length > 0) {
      const total = (opcode === Opcode.CONTINUATION ? this.#messageBytes : 0) + length;
      if (total > this.maxPayloadBytes) {
        this.#fail(1009, 'WS_ERR_UNSUPPORTED_MESSAGE_LENGTH', 'Max payload size exceeded');
        return -1;
      }
    }
    return length;
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
    if (this.#remaining === 0) this.#inPayload = false;
    this.#piece(piece);
    return pos + n;
  }

  /** Hands on one piece of a data frame; at the end of a message, text is checked whole. */
  #piece(piece: Buffer): void {
    const last = this.#remaining === 0 && this.#fin;
    const opcode = this.#firstPiece ? this.#opcode : Opcode.CONTINUATION;
    this.#firstPiece = false;
    if (this.#messageOpcode === Opcode.TEXT) {
      const utf8 = (this.#utf8 ??= new Utf8Stream());
      if (!this.#badText && !utf8.push(piece)) this.#badText = true;
      if (last) {
        const bad = this.#badText || !utf8.end();
        this.#badText = false;
        utf8.reset();
        this.#messageOpcode = 0;
        if (bad) return void this.#fail(1007, 'WS_ERR_INVALID_UTF8', 'invalid UTF-8 sequence');
      }
      if (this.#badText) return;
    } else if (last) {
      this.#messageOpcode = 0;
    }
    this.handler.framePiece(last, opcode, piece);
  }

  #onControl(): void {
    const payload = this.#control!;
    this.#control = null;
    switch (this.#opcode) {
      case Opcode.PING:
        return this.handler.ping(payload);
      case Opcode.PONG:
        return this.handler.pong(payload);
      default: {
        if (payload.length === 0) {
          this.#stopped = true;
          return this.handler.closeFrame(1005, EMPTY);
        }
        const code = payload.readUInt16BE(0);
        if (!isValidStatusCode(code)) return void this.#fail(1002, 'WS_ERR_INVALID_CLOSE_CODE', `invalid status code ${code}`);
        const reason = payload.subarray(2);
        const utf8 = new Utf8Stream();
        if (!utf8.push(reason) || !utf8.end()) return void this.#fail(1007, 'WS_ERR_INVALID_UTF8', 'invalid UTF-8 sequence');
        this.#stopped = true;
        return this.handler.closeFrame(code, reason);
      }
    }
  }

  #fail(code: number, errorCode: string, message: string): false {
    this.#stopped = true;
    this.#inPayload = false;
    this.handler.protocolError(code, errorCode, message);
    return false;
  }
}
