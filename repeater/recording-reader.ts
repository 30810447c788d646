// Reading a session recording in Node (tests, tools, the server's checks):
// both versions of recording-format.ts. A damaged version 2 block is skipped
// and reported, the reader finding the next block by its header; a block
// claiming more than the format's bounds is refused before anything is
// allocated for it; deflated blocks are inflated no further than they claim.
import { crc32, inflateRawSync } from 'node:zlib';
import { openBytes, type KeyRing } from '../lib/sealed.ts';
import {
  BLOCK_HEADER_BYTES,
  BLOCK_HEADER_BYTES_V1,
  BLOCK_TAG,
  BlockFlag,
  Codec,
  MAGIC_V1,
  MAGIC_V2,
  MAX_JSON_BYTES,
  MAX_RAW_BYTES,
  MAX_STORED_BYTES,
  RECORD_HEADER_BYTES,
  TRAILER_TAG,
  blockAad,
  decodeBlockHeader,
  type BlockHeader,
  type RecordingHeader,
  type RecordingTrailer,
} from './recording-format.ts';

export interface RecordedPiece {
  direction: 0 | 1;
  ms: number;
  data: Buffer;
}

export interface ParsedRecording {
  header: RecordingHeader;
  pieces: RecordedPiece[];
  trailer: RecordingTrailer | null;
  /** Bytes after the last whole block that could not be read (a file cut short). */
  truncatedBytes: number;
  /** Version 2 blocks skipped: where, and why. */
  damaged: { offset: number; reason: string }[];
}

/** The bytes of a recording as given to the player: encrypted blocks need the key ring. */
export interface ReadOptions {
  keyRing?: KeyRing | null;
}

function readJson<T>(file: Buffer, at: number, what: string): { value: T; end: number } | null {
  if (at + 4 > file.length) return null;
  const length = file.readUInt32BE(at);
  if (length > MAX_JSON_BYTES) throw new Error(`The recording's ${what} claims ${length} bytes, more than ${MAX_JSON_BYTES}`);
  if (at + 4 + length > file.length) return null;
  return { value: JSON.parse(file.subarray(at + 4, at + 4 + length).toString('utf8')) as T, end: at + 4 + length };
}

/** Reads a whole recording file; a file cut short yields what its whole blocks hold. */
export function parseRecording(file: Buffer, options: ReadOptions = {}): ParsedRecording {
  const magic = file.subarray(0, MAGIC_V2.length);
  const version = magic.equals(MAGIC_V2) ? 2 : magic.equals(MAGIC_V1) ? 1 : 0;
  if (version === 0) throw new Error('Not a helpdesk session recording (bad magic)');
  const head = readJson<RecordingHeader>(file, MAGIC_V2.length, 'header');
  if (!head) throw new Error('The recording is cut short inside its header');
  const header = head.value;
  if (header.version !== version) throw new Error(`Unsupported recording version ${header.version}`);
  const out: ParsedRecording = { header, pieces: [], trailer: null, truncatedBytes: 0, damaged: [] };
  let at = head.end;
  let seq = 0;
  while (at < file.length) {
    const tag = file[at];
    if (tag === TRAILER_TAG) {
      const t = readJson<RecordingTrailer>(file, at + 1, 'trailer');
      if (!t) break;
      out.trailer = t.value;
      at = t.end;
      break; // the index and footer follow: the blocks have all been read
    }
    if (version === 1) {
      const next = readBlockV1(file, at, out);
      if (next < 0) break;
      at = next;
      continue;
    }
    const h = decodeBlockHeader(file, at);
    const end = h ? at + BLOCK_HEADER_BYTES + h.storedLength : -1;
    if (h && end > file.length) break; // cut short inside the block
    if (h && h.seq === seq && blockCrc(file, at, h) === h.crc) {
      readBlock(file, at, h, header, options, out);
      seq += 1;
      at = end;
      continue;
    }
    const found = resync(file, at + 1, seq);
    out.damaged.push({ offset: at, reason: h ? (h.seq !== seq ? `block ${h.seq} where ${seq} was due` : 'its CRC does not match') : 'not a block header' });
    if (!found) {
      at = file.length;
      break;
    }
    seq = found.seq + 1;
    readBlock(file, found.at, found.h, header, options, out);
    at = found.at + BLOCK_HEADER_BYTES + found.h.storedLength;
  }
  out.truncatedBytes = out.trailer ? 0 : file.length - at;
  return out;
}

/** A block whose checksum holds but whose bytes do not decode (a lying length, not deflate data) is skipped and reported too; a missing key is not damage: it stops the read, in words. */
function readBlock(file: Buffer, at: number, h: BlockHeader, header: RecordingHeader, options: ReadOptions, out: ParsedRecording): void {
  try {
    readRecords(decode(file, at, h, header, options), out);
  } catch (err) {
    if (err instanceof KeyMissing) throw err;
    out.damaged.push({ offset: at, reason: `it does not decode: ${(err as Error).message}` });
  }
}

class KeyMissing extends Error {}

function blockCrc(file: Buffer, at: number, h: BlockHeader): number {
  const head = file.subarray(at, at + 24);
  return crc32(file.subarray(at + BLOCK_HEADER_BYTES, at + BLOCK_HEADER_BYTES + h.storedLength), crc32(head));
}

/** Damage hides at most this many blocks: a later seq than that is taken for noise, not a header. */
const RESYNC_SEQ_WINDOW = 64;

/** The next whole block after damage: its tag, a seq just after, bounds and CRC all right. */
function resync(file: Buffer, from: number, seq: number): { at: number; h: BlockHeader; seq: number } | null {
  for (let at = file.indexOf(BLOCK_TAG, from); at >= 0; at = file.indexOf(BLOCK_TAG, at + 1)) {
    const h = decodeBlockHeader(file, at);
    if (!h || h.seq < seq || h.seq >= seq + RESYNC_SEQ_WINDOW || at + BLOCK_HEADER_BYTES + h.storedLength > file.length) continue;
    if (blockCrc(file, at, h) === h.crc) return { at, h, seq: h.seq };
  }
  return null;
}

function decode(file: Buffer, at: number, h: BlockHeader, header: RecordingHeader, options: ReadOptions): Buffer {
  let stored = file.subarray(at + BLOCK_HEADER_BYTES, at + BLOCK_HEADER_BYTES + h.storedLength);
  const keyId = header.encryption?.keyId;
  if (keyId && !(h.flags & BlockFlag.ENCRYPTED)) throw new Error('a block not sealed in a sealed recording');
  if (h.flags & BlockFlag.ENCRYPTED) {
    const key = keyId ? options.keyRing?.keys.get(keyId) : undefined;
    if (!key) throw new KeyMissing(`The recording is encrypted with key "${keyId ?? '?'}", which ${options.keyRing ? 'the key ring does not hold' : 'was not given'}`);
    stored = openBytes(key, stored, blockAad(file.subarray(at, at + 24), header.recordingId, keyId!));
  }
  return inflated(h.codec, stored, h.rawLength, at);
}

function inflated(codec: number, stored: Buffer, rawLength: number, at: number): Buffer {
  if (codec === Codec.STORED) {
    if (stored.length !== rawLength) throw new Error(`Block at byte ${at} holds ${stored.length} bytes, not ${rawLength}`);
    return stored;
  }
  if (codec !== Codec.DEFLATE_RAW) throw new Error(`Block at byte ${at} has unknown codec ${codec}`);
  // Never more than it claims (and the claim is bounded): a lying block cannot grow memory.
  const raw = inflateRawSync(stored, { maxOutputLength: Math.max(1, rawLength) });
  if (raw.length !== rawLength) throw new Error(`Block at byte ${at} decodes to ${raw.length} bytes, not ${rawLength}`);
  return raw;
}

function readBlockV1(file: Buffer, at: number, out: ParsedRecording): number {
  if (file[at] !== BLOCK_TAG || at + BLOCK_HEADER_BYTES_V1 > file.length) return -1;
  const rawLength = file.readUInt32BE(at + 10);
  const storedLength = file.readUInt32BE(at + 14);
  if (rawLength > MAX_RAW_BYTES || storedLength > MAX_STORED_BYTES) throw new Error(`Block at byte ${at} claims more than ${MAX_RAW_BYTES} bytes`);
  if (at + BLOCK_HEADER_BYTES_V1 + storedLength > file.length) return -1;
  const stored = file.subarray(at + BLOCK_HEADER_BYTES_V1, at + BLOCK_HEADER_BYTES_V1 + storedLength);
  readRecords(inflated(file[at + 1]!, stored, rawLength, at), out);
  return at + BLOCK_HEADER_BYTES_V1 + storedLength;
}

function readRecords(raw: Buffer, out: ParsedRecording): void {
  for (let r = 0; r + RECORD_HEADER_BYTES <= raw.length; ) {
    const len = raw.readUInt32BE(r + 5);
    if (r + RECORD_HEADER_BYTES + len > raw.length) throw new Error('A record runs past the end of its block');
    out.pieces.push({ direction: raw[r] as 0 | 1, ms: raw.readUInt32BE(r + 1), data: raw.subarray(r + RECORD_HEADER_BYTES, r + RECORD_HEADER_BYTES + len) });
    r += RECORD_HEADER_BYTES + len;
  }
}
