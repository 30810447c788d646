// The few pieces of RFC 6455 the repeater's byte path needs: the opening
// handshake's answer, outgoing frame headers (server → client frames are never
// masked), close frames, and in-place unmasking with bufferutil's native code.
// The repeater relays frames, it never reassembles messages: see leg.ts.
import { createHash } from 'node:crypto';
import { createRequire } from 'node:module';

export const Opcode = {
  CONTINUATION: 0x0,
  TEXT: 0x1,
  BINARY: 0x2,
  CLOSE: 0x8,
  PING: 0x9,
  PONG: 0xa,
} as const;

const GUID = '258EAFA5-E914-47DA-95CA-C5AB0DC85B11';
const KEY_PATTERN = /^[+/0-9A-Za-z]{22}==$/;
/** RFC 6455 token characters, for subprotocol names. */
const TOKEN_PATTERN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;

type Unmask = (buffer: Buffer, mask: Buffer) => void;

interface BufferUtil {
  unmask: Unmask;
}

function loadBufferUtil(): { unmask: Unmask; native: boolean } {
  try {
    const util = createRequire(import.meta.url)('bufferutil') as BufferUtil;
    // bufferutil falls back to JavaScript when its native build cannot load.
    return { unmask: util.unmask, native: /\[native code\]/.test(Function.prototype.toString.call(util.unmask)) };
  } catch {
    return { unmask: unmaskJs, native: false };
  }
}

const bufferUtil = loadBufferUtil();

/** Whether unmasking runs in bufferutil's native code (the benchmark says so loudly when not). */
export const nativeMasking: boolean = bufferUtil.native;

function unmaskJs(buffer: Buffer, mask: Buffer): void {
  for (let i = 0; i < buffer.length; i++) buffer[i] = buffer[i]! ^ mask[i & 3]!;
}

/**
 * Unmasks `piece` in place; `maskOffset` is how many payload bytes of its
 * frame came before it (a frame's payload may arrive in several reads).
 */
export function unmaskPiece(piece: Buffer, mask: Buffer, maskOffset: number): void {
  const offset = maskOffset & 3;
  const key = offset === 0 ? mask : rotate(mask, offset);
  if (piece.length < 32) unmaskJs(piece, key);
  else bufferUtil.unmask(piece, key);
}

function rotate(mask: Buffer, offset: number): Buffer {
  const out = Buffer.allocUnsafe(4);
  for (let i = 0; i < 4; i++) out[i] = mask[(i + offset) & 3]!;
  return out;
}

/** The header of an unmasked frame carrying `length` payload bytes. */
export function frameHeader(fin: boolean, opcode: number, length: number): Buffer {
  const first = (fin ? 0x80 : 0) | opcode;
  if (length < 126) {
    const header = Buffer.allocUnsafe(2);
    header[0] = first;
    header[1] = length;
    return header;
  }
  if (length < 65536) {
    const header = Buffer.allocUnsafe(4);
    header[0] = first;
    header[1] = 126;
    header.writeUInt16BE(length, 2);
    return header;
  }
  const header = Buffer.allocUnsafe(10);
  header[0] = first;
  header[1] = 127;
  header.writeUInt32BE(Math.floor(length / 0x1_0000_0000), 2);
  header.writeUInt32BE(length >>> 0, 6);
  return header;
}

/** A whole close frame: code (omitted for 1005) and a UTF-8 reason cut to fit 123 bytes, on a character boundary. */
export function closeFrame(code: number, reason = ''): Buffer {
  if (code === 1005) return frameHeader(true, Opcode.CLOSE, 0);
  let text = Buffer.from(reason);
  if (text.length > 123) {
    let cut = 123;
    while (cut > 0 && (text[cut]! & 0xc0) === 0x80) cut--; // never inside a character
    text = text.subarray(0, cut);
  }
  const payload = Buffer.allocUnsafe(2 + text.length);
  payload.writeUInt16BE(code, 0);
  text.copy(payload, 2);
  return Buffer.concat([frameHeader(true, Opcode.CLOSE, payload.length), payload]);
}

export function controlFrame(opcode: number, payload: Buffer): Buffer {
  return Buffer.concat([frameHeader(true, opcode, payload.length), payload]);
}

/** Size of a client frame's header (2 + extended length + 4 mask bytes) from its second byte. */
export function clientHeaderSize(second: number): number {
  const len7 = second & 0x7f;
  return 2 + (len7 === 126 ? 2 : len7 === 127 ? 8 : 0) + (second & 0x80 ? 4 : 0);
}

export interface HandshakeRequest {
  method?: string | undefined;
  headers: Record<string, string | string[] | undefined>;
}

export type HandshakeCheck =
  | { ok: true; accept: string; protocol: string | null }
  | { ok: false; status: number; message: string };

/** Checks an upgrade request as RFC 6455 §4.2.1 asks, before anything is spent on it. */
export function checkHandshake(req: HandshakeRequest): HandshakeCheck {
  if (req.method !== 'GET') return { ok: false, status: 405, message: 'A websocket upgrade must use GET' };
  if (String(req.headers.upgrade ?? '').toLowerCase() !== 'websocket') {
    return { ok: false, status: 400, message: 'The Upgrade header must be "websocket"' };
  }
  const key = req.headers['sec-websocket-key'];
  if (typeof key !== 'string' || !KEY_PATTERN.test(key.trim())) {
    return { ok: false, status: 400, message: 'Missing or invalid Sec-WebSocket-Key header' };
  }
  const version = req.headers['sec-websocket-version'];
  if (version !== '13' && version !== '8') {
    return { ok: false, status: 400, message: 'Missing or unsupported Sec-WebSocket-Version (13 is spoken here)' };
  }
  let protocol: string | null = null;
  const offered = req.headers['sec-websocket-protocol'];
  if (offered !== undefined) {
    const names = String(offered).split(',').map((p) => p.trim());
    if (names.some((p) => !TOKEN_PATTERN.test(p))) return { ok: false, status: 400, message: 'Invalid Sec-WebSocket-Protocol header' };
    protocol = names[0] ?? null;
  }
  const accept = createHash('sha1').update(key.trim() + GUID).digest('base64');
  return { ok: true, accept, protocol };
}

/** The 101 answer for a checked handshake. */
export function switchingProtocols(check: { accept: string; protocol: string | null }): string {
  return (
    'HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n' +
    `Sec-WebSocket-Accept: ${check.accept}\r\n` +
    (check.protocol ? `Sec-WebSocket-Protocol: ${check.protocol}\r\n` : '') +
    '\r\n'
  );
}
