// The session recording's file format: constants, the framing of its parts,
// and the limits a reader holds a file to. The writer (recording-writer.ts),
// the Node reader (recording-reader.ts) and the browser's player
// (admin-web/public/recording-file.js, checked against this by
// tech-viewer/recording-format.test.ts) all follow this comment.
//
// ".hcrec", every integer big-endian.
//
// Version 2:
//   magic     8 bytes  "HCREC02\n"
//   header    u32 length (≤ MAX_JSON_BYTES), then that many bytes of JSON (RecordingHeader)
//   block*    28-byte block header, then storedLength bytes of payload:
//               0  u8  0x42 'B'
//               1  u8  codec (0 stored, 1 deflate-raw)
//               2  u8  flags (bit 0: the payload is encrypted)
//               3  u8  0
//               4  u32 seq (0, 1, 2, … in file order)
//               8  u32 firstMs  12 u32 lastMs (ms since the header's startedAt)
//              16  u32 rawLength (≤ MAX_RAW_BYTES; the decoded bytes: whole records)
//              20  u32 storedLength (≤ MAX_STORED_BYTES)
//              24  u32 CRC-32 (zlib's) of bytes 0–23 of this header and the payload
//             An encrypted payload is iv (12) | AES-256-GCM ciphertext | tag (16) of the
//             encoded bytes; the additional data is bytes 0–23 of the block header,
//             then "<recordingId>\n<keyId>" (UTF-8), so a block opens only in its own
//             place of its own recording; the key is the one the header's
//             `encryption.keyId` names. In a file whose header names a key, a block
//             that is not encrypted is damage (readers skip it and say so).
//   trailer   u8 0x45 'E' | u32 length (≤ MAX_JSON_BYTES) | JSON (RecordingTrailer)
//   index     u8 0x49 'I' | u32 count | count × (u32 offsetHigh, u32 offsetLow, u32 firstMs,
//             u32 lastMs) | u32 CRC-32 of the index from its tag on
//   footer    "HCRIDX02" | u32 offsetHigh | u32 offsetLow   (where the index's tag is)
//   A file cut short (a killed process) ends after its last whole block: no
//   trailer, index or footer; readers walk its blocks from the start. A block
//   whose CRC does not match is skipped (the reader finds the next block by
//   its header: tag, the next seq, lengths in bounds, a matching CRC) and the
//   gap is reported.
//
// Records (inside a block's raw bytes, whole):
//   u8 direction (0 desktop→viewer, 1 viewer→desktop) | u32 ms since start | u32 length | bytes
//
// Version 1 ("HCREC01\n"): the same header; blocks are u8 0x42 | u8 codec | u32 firstMs |
// u32 lastMs | u32 rawLength | u32 storedLength | payload (no CRC, no encryption);
// then the trailer; no index. Still read, never written.
import type { RecordingTrailer } from '../protocol/repeater.ts';

export const MAGIC_V1 = Buffer.from('HCREC01\n', 'latin1');
export const MAGIC_V2 = Buffer.from('HCREC02\n', 'latin1');
export const FOOTER_MAGIC = Buffer.from('HCRIDX02', 'latin1');
export const RECORDING_FORMAT_VERSION = 2;
export const Direction = { DESKTOP_TO_VIEWER: 0, VIEWER_TO_DESKTOP: 1 } as const;
export const BLOCK_TAG = 0x42;
export const TRAILER_TAG = 0x45;
export const INDEX_TAG = 0x49;
export const Codec = { STORED: 0, DEFLATE_RAW: 1 } as const;
export const BlockFlag = { ENCRYPTED: 1 } as const;
export const BLOCK_HEADER_BYTES = 28;
export const BLOCK_HEADER_BYTES_V1 = 18;
export const RECORD_HEADER_BYTES = 9;
export const INDEX_ENTRY_BYTES = 16;
export const FOOTER_BYTES = 16;
export const GCM_IV_BYTES = 12;
export const GCM_TAG_BYTES = 16;
/** Readers refuse anything larger: a hostile header cannot make them allocate more. */
export const MAX_RAW_BYTES = 16 * 1024 * 1024;
export const MAX_STORED_BYTES = MAX_RAW_BYTES + 1024;
export const MAX_JSON_BYTES = 1024 * 1024;

export interface RecordingHeader {
  format: 'helpdesk-session-recording';
  version: number;
  recordingId: string;
  ticketId: string;
  /** The remote session's id as the repeater named it (remote_sessions.session_uid). */
  remoteSession: string;
  startedAt: number;
  /** Whatever the server knows of the two ends (noVNC's and x11vnc's versions, view-only). */
  meta: Record<string, string | number | boolean | null>;
  /** Version 2: whether the viewer's key events were kept (RECORD_KEYSTROKES). Absent in version 1 (they were). */
  keystrokes?: boolean;
  /** Version 2: how the blocks are encrypted, or null when they are not. */
  encryption?: { alg: 'aes-256-gcm'; keyId: string } | null;
}

export interface BlockHeader {
  codec: number;
  flags: number;
  seq: number;
  firstMs: number;
  lastMs: number;
  rawLength: number;
  storedLength: number;
  crc: number;
}

export interface IndexEntry {
  offset: number;
  firstMs: number;
  lastMs: number;
}

export type { RecordingTrailer };

/** The magic and the header: the first bytes of every file. */
export function encodeFileHead(header: RecordingHeader): Buffer {
  const json = Buffer.from(JSON.stringify(header));
  if (json.length > MAX_JSON_BYTES) throw new RangeError('recording header too large');
  const head = Buffer.allocUnsafe(MAGIC_V2.length + 4 + json.length);
  MAGIC_V2.copy(head, 0);
  head.writeUInt32BE(json.length, MAGIC_V2.length);
  json.copy(head, MAGIC_V2.length + 4);
  return head;
}

/** Bytes 0–23 of a block header (the part the CRC and the cipher's additional data cover). */
export function encodeBlockHeader(h: Omit<BlockHeader, 'crc'>): Buffer {
  const b = Buffer.allocUnsafe(BLOCK_HEADER_BYTES);
  b[0] = BLOCK_TAG;
  b[1] = h.codec;
  b[2] = h.flags;
  b[3] = 0;
  b.writeUInt32BE(h.seq, 4);
  b.writeUInt32BE(h.firstMs, 8);
  b.writeUInt32BE(h.lastMs, 12);
  b.writeUInt32BE(h.rawLength, 16);
  b.writeUInt32BE(h.storedLength, 20);
  return b;
}

/** Reads a version 2 block header; null when it is not one a reader should believe (wrong tag, lengths out of bounds). */
export function decodeBlockHeader(buf: Buffer, at: number): BlockHeader | null {
  if (at + BLOCK_HEADER_BYTES > buf.length || buf[at] !== BLOCK_TAG || buf[at + 3] !== 0) return null;
  const h: BlockHeader = {
    codec: buf[at + 1]!,
    flags: buf[at + 2]!,
    seq: buf.readUInt32BE(at + 4),
    firstMs: buf.readUInt32BE(at + 8),
    lastMs: buf.readUInt32BE(at + 12),
    rawLength: buf.readUInt32BE(at + 16),
    storedLength: buf.readUInt32BE(at + 20),
    crc: buf.readUInt32BE(at + 24),
  };
  if (h.codec > Codec.DEFLATE_RAW || h.flags > BlockFlag.ENCRYPTED) return null;
  if (h.rawLength > MAX_RAW_BYTES || h.storedLength > MAX_STORED_BYTES || h.lastMs < h.firstMs) return null;
  return h;
}

export function encodeTrailer(trailer: RecordingTrailer): Buffer {
  const json = Buffer.from(JSON.stringify(trailer));
  const t = Buffer.allocUnsafe(5 + json.length);
  t[0] = TRAILER_TAG;
  t.writeUInt32BE(json.length, 1);
  json.copy(t, 5);
  return t;
}

const high = (n: number) => Math.floor(n / 2 ** 32);
const low = (n: number) => n >>> 0;

/** The index and the footer, for an index whose tag lands at `indexOffset`. */
export function encodeIndex(entries: readonly IndexEntry[], indexOffset: number, crc32: (b: Buffer) => number): Buffer {
  const size = 5 + entries.length * INDEX_ENTRY_BYTES;
  const out = Buffer.allocUnsafe(size + 4 + FOOTER_BYTES);
  out[0] = INDEX_TAG;
  out.writeUInt32BE(entries.length, 1);
  let at = 5;
  for (const e of entries) {
    out.writeUInt32BE(high(e.offset), at);
    out.writeUInt32BE(low(e.offset), at + 4);
    out.writeUInt32BE(e.firstMs, at + 8);
    out.writeUInt32BE(e.lastMs, at + 12);
    at += INDEX_ENTRY_BYTES;
  }
  out.writeUInt32BE(crc32(out.subarray(0, size)), size);
  at = size + 4;
  FOOTER_MAGIC.copy(out, at);
  out.writeUInt32BE(high(indexOffset), at + 8);
  out.writeUInt32BE(low(indexOffset), at + 12);
  return out;
}

/** The additional data sealing a block binds: its header's first 24 bytes, the recording and the key. */
export function blockAad(header24: Buffer, recordingId: string, keyId: string): Buffer {
  return Buffer.concat([header24, Buffer.from(`${recordingId}\n${keyId}`, 'utf8')]);
}

/** The path of a recording relative to the recordings directory. */
export function recordingFileName(ticketId: string, recordingId: string, startedAt: number): string {
  const month = new Date(startedAt).toISOString().slice(0, 7);
  return `${month}/${ticketId}-${recordingId}.hcrec`;
}
