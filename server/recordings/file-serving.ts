// A recording's file over HTTP: one byte range of it (RFC 9110's Range), and
// the "opened" representation the player is given. The browser never holds
// a key: for playback, each encrypted block (repeater/recording-format.ts) is
// served opened, in place, with the same byte layout and offsets as on disk:
//   flags = OPENED (bit 1; bit 0 cleared), payload = 12 zero bytes |
//   plaintext (the encoded, maybe deflated bytes) | 16 zero bytes, and the
//   CRC recomputed over the new header bytes 0–23 and the new payload.
// The magic, header, trailer, index and footer are served as they are, so a
// range means the same bytes in both representations. A block that does not
// open (damaged on disk) is served as stored: the player finds its CRC or its
// flags wrong and skips it, in words. Blocks are found from the index for a
// complete file, by walking block headers from the start for one cut short
// (the walk is remembered per file); a range is produced block by block, each
// read whole (a sealed block is opened whole), never the whole file.
import type { FileHandle } from 'node:fs/promises';
import { crc32 } from 'node:zlib';
import { openBytes } from '../../lib/sealed.ts';
import {
  BLOCK_HEADER_BYTES,
  BlockFlag,
  FOOTER_BYTES,
  FOOTER_MAGIC,
  GCM_IV_BYTES,
  GCM_TAG_BYTES,
  INDEX_ENTRY_BYTES,
  INDEX_TAG,
  MAGIC_V2,
  MAX_JSON_BYTES,
  blockAad,
  decodeBlockHeader,
  type RecordingHeader,
} from '../../repeater/recording-format.ts';

/** Block flags bit 1: opened by the server for playback (bit 0 cleared, iv and tag zeroed). The player accepts 0 and this. */
export const OPENED_BLOCK_FLAG = 2;
/** The CRC covers bytes 0–23 of a block header, and the cipher binds them. */
const SEALED_HEADER_BYTES = 24;
const RAW_CHUNK = 64 * 1024;
const INDEX_BATCH = 1024;

/** An inclusive byte range of a file of `size` bytes. */
export interface ByteRange {
  start: number;
  end: number;
}

export type RangeAnswer = { kind: 'whole' } | { kind: 'partial'; range: ByteRange } | { kind: 'unsatisfiable' };

/**
 * What a Range header asks of a file of `size` bytes: one range (a-b, a-, -n)
 * is served 206; several are served whole (200) unless none can be; a header
 * that is not a bytes range is ignored (200), as RFC 9110 says.
 */
export function parseRange(header: string | undefined, size: number): RangeAnswer {
  if (!header) return { kind: 'whole' };
  const m = /^\s*bytes\s*=\s*(.+)$/i.exec(header);
  if (!m) return { kind: 'whole' };
  const ranges: (ByteRange | null)[] = [];
  for (const part of m[1]!.split(',')) {
    const spec = /^\s*(\d*)\s*-\s*(\d*)\s*$/.exec(part);
    if (!spec || (spec[1] === '' && spec[2] === '')) return { kind: 'whole' };
    if (spec[1] === '') {
      const n = Number(spec[2]);
      ranges.push(n === 0 || size === 0 ? null : { start: Math.max(0, size - n), end: size - 1 });
      continue;
    }
    const start = Number(spec[1]);
    const end = spec[2] === '' ? Infinity : Number(spec[2]);
    if (end < start) return { kind: 'whole' };
    ranges.push(start >= size ? null : { start, end: Math.min(end, size - 1) });
  }
  const satisfiable = ranges.filter((r): r is ByteRange => r !== null);
  if (satisfiable.length === 0) return { kind: 'unsatisfiable' };
  if (ranges.length > 1) return { kind: 'whole' };
  return { kind: 'partial', range: satisfiable[0]! };
}

/** What serving the opened representation needs to know of a file. */
export interface RecordingLayout {
  /** Where the first block starts (after the magic and the header). */
  dataStart: number;
  /** The key id the header names for its encrypted blocks, or null: the file is served as stored. */
  keyId: string | null;
  /** The recording's id as its header names it (bound into each sealed block). */
  recordingId: string;
  /** Where the index's tag is (a complete file), or null (cut short: its blocks are walked). */
  index: { offset: number; count: number } | null;
}

async function readAt(handle: FileHandle, position: number, length: number): Promise<Buffer> {
  const buf = Buffer.allocUnsafe(length);
  let got = 0;
  while (got < length) {
    const { bytesRead } = await handle.read(buf, got, length - got, position + got);
    if (bytesRead === 0) break;
    got += bytesRead;
  }
  return got === length ? buf : buf.subarray(0, got);
}

/** The layout of a file; version 1 files, and version 2 files whose header names no key, are served as stored (keyId null). */
export async function readLayout(handle: FileHandle, size: number): Promise<RecordingLayout> {
  const plain: RecordingLayout = { dataStart: 0, keyId: null, recordingId: '', index: null };
  const head = await readAt(handle, 0, MAGIC_V2.length + 4);
  if (head.length < MAGIC_V2.length + 4 || !head.subarray(0, MAGIC_V2.length).equals(MAGIC_V2)) return plain;
  const jsonLength = head.readUInt32BE(MAGIC_V2.length);
  if (jsonLength > MAX_JSON_BYTES) return plain;
  const dataStart = head.length + jsonLength;
  let header: Partial<RecordingHeader> | null;
  try {
    header = JSON.parse((await readAt(handle, head.length, jsonLength)).toString('utf8')) as Partial<RecordingHeader> | null;
  } catch (err) {
    if (err instanceof SyntaxError) return plain; // not a header: served as stored, the player says so
    throw err;
  }
  const keyId = typeof header?.encryption?.keyId === 'string' ? header.encryption.keyId : null;
  if (!keyId) return plain;
  return { dataStart, keyId, recordingId: String(header?.recordingId ?? ''), index: await readIndexPlace(handle, size, dataStart) };
}

async function readIndexPlace(handle: FileHandle, size: number, dataStart: number): Promise<RecordingLayout['index']> {
  if (size < dataStart + FOOTER_BYTES) return null;
  const footer = await readAt(handle, size - FOOTER_BYTES, FOOTER_BYTES);
  if (!footer.subarray(0, FOOTER_MAGIC.length).equals(FOOTER_MAGIC)) return null;
  const offset = footer.readUInt32BE(8) * 2 ** 32 + footer.readUInt32BE(12);
  if (offset < dataStart || offset + 5 > size) return null;
  const tag = await readAt(handle, offset, 5);
  const count = tag.readUInt32BE(1);
  // The index fills the file from its tag to the footer exactly (its CRC is the player's to check).
  if (tag[0] !== INDEX_TAG || offset + 5 + count * INDEX_ENTRY_BYTES + 4 + FOOTER_BYTES !== size) return null;
  return { offset, count };
}

/** Where the blocks of a file are: read from its index, or walked and remembered. */
interface BlockCursor {
  /** The first block to look at for a range beginning at a position (the last one starting at or before it). */
  at: number;
  /** The block after the one at `at` (which ends at `blockEnd`, or is not a block: null), or null when none is known. */
  next(at: number, blockEnd: number | null): Promise<number | null>;
}

function indexedCursor(handle: FileHandle, index: { offset: number; count: number }) {
  let batch: { first: number; entries: Buffer } = { first: 0, entries: Buffer.alloc(0) };
  const offsetOf = async (k: number): Promise<number> => {
    if (k < batch.first || k >= batch.first + batch.entries.length / INDEX_ENTRY_BYTES) {
      const first = k - (k % INDEX_BATCH);
      batch = { first, entries: await readAt(handle, index.offset + 5 + first * INDEX_ENTRY_BYTES, Math.min(INDEX_BATCH, index.count - first) * INDEX_ENTRY_BYTES) };
    }
    const at = (k - batch.first) * INDEX_ENTRY_BYTES;
    return batch.entries.readUInt32BE(at) * 2 ** 32 + batch.entries.readUInt32BE(at + 4);
  };
  return async (position: number): Promise<BlockCursor | null> => {
    if (index.count === 0) return null;
    // The last block starting at or before `position`: a binary search over the index on disk.
    let lo = 0;
    let hi = index.count - 1;
    while (lo < hi) {
      const mid = Math.ceil((lo + hi) / 2);
      if ((await offsetOf(mid)) <= position) lo = mid;
      else hi = mid - 1;
    }
    let k = lo;
    return {
      at: await offsetOf(k),
      async next(at) {
        if (k + 1 >= index.count) return null;
        const following = await offsetOf(++k);
        // An index out of order is not followed: the rest is served as stored.
        return following > at && following < index.offset ? following : null;
      },
    };
  };
}

/** Block offsets of files cut short, walked once and remembered by path, size and time (a finished file does not change). */
const walks = new Map<string, number[]>();
const MAX_WALKS = 16;

function walkedCursor(handle: FileHandle, dataStart: number, size: number, key: string) {
  let offsets = walks.get(key);
  if (!offsets) {
    offsets = [dataStart];
    walks.set(key, offsets);
    if (walks.size > MAX_WALKS) walks.delete(walks.keys().next().value!);
  }
  const known = offsets;
  const blockEndAt = async (at: number): Promise<number | null> => {
    const h = decodeBlockHeader(await readAt(handle, at, BLOCK_HEADER_BYTES), 0);
    return h ? at + BLOCK_HEADER_BYTES + h.storedLength : null;
  };
  return async (position: number): Promise<BlockCursor> => {
    let k = 0;
    for (let lo = 0, hi = known.length - 1; lo <= hi; ) {
      const mid = (lo + hi) >> 1;
      if (known[mid]! <= position) {
        k = mid;
        lo = mid + 1;
      } else hi = mid - 1;
    }
    // Walk on from the last block known to the one holding `position` (offsets are the same for every walker).
    while (k === known.length - 1) {
      const blockEnd = await blockEndAt(known[k]!);
      if (blockEnd === null || blockEnd > position || blockEnd + BLOCK_HEADER_BYTES > size) break;
      if (k === known.length - 1) known.push(blockEnd);
      k += 1;
    }
    return {
      at: known[k]!,
      next(at, blockEnd) {
        if (blockEnd === null || blockEnd + BLOCK_HEADER_BYTES > size) return Promise.resolve(null);
        if (known[k] === at) {
          if (k === known.length - 1) known.push(blockEnd);
          k += 1;
        }
        return Promise.resolve(blockEnd);
      },
    };
  };
}

/** The opened block at `at`, or null when it is not a block or does not open (served as stored then). */
async function openedBlock(handle: FileHandle, at: number, limit: number, key: Buffer, layout: RecordingLayout): Promise<Buffer | null> {
  const h = decodeBlockHeader(await readAt(handle, at, BLOCK_HEADER_BYTES), 0);
  if (!h || at + BLOCK_HEADER_BYTES + h.storedLength > limit) return null;
  const block = await readAt(handle, at, BLOCK_HEADER_BYTES + h.storedLength);
  // Not sealed in a sealed file (put there by someone without the key): served with its CRC broken, so the player skips it as damaged.
  const damaged = () => {
    block.writeUInt32BE((h.crc ^ 0xffffffff) >>> 0, SEALED_HEADER_BYTES);
    return block;
  };
  if (!(h.flags & BlockFlag.ENCRYPTED) || h.storedLength < GCM_IV_BYTES + GCM_TAG_BYTES) return damaged();
  let plain: Buffer;
  try {
    plain = openBytes(key, block.subarray(BLOCK_HEADER_BYTES), blockAad(block.subarray(0, SEALED_HEADER_BYTES), layout.recordingId, layout.keyId!));
  } catch (err) {
    if (err instanceof Error) return damaged(); // changed on disk, or another recording's block: the player finds it damaged
    throw err;
  }
  // In place: the plaintext where the ciphertext was, iv and tag zeroed.
  block[2] = (h.flags & ~BlockFlag.ENCRYPTED) | OPENED_BLOCK_FLAG;
  block.fill(0, BLOCK_HEADER_BYTES, BLOCK_HEADER_BYTES + GCM_IV_BYTES);
  plain.copy(block, BLOCK_HEADER_BYTES + GCM_IV_BYTES);
  block.fill(0, block.length - GCM_TAG_BYTES);
  block.writeUInt32BE(crc32(block.subarray(BLOCK_HEADER_BYTES), crc32(block.subarray(0, SEALED_HEADER_BYTES))), SEALED_HEADER_BYTES);
  return block;
}

/** Bytes [from, to] as stored, in chunks. */
async function* stored(handle: FileHandle, from: number, to: number): AsyncGenerator<Buffer> {
  for (let at = from; at <= to; at += RAW_CHUNK) {
    const chunk = await readAt(handle, at, Math.min(RAW_CHUNK, to - at + 1));
    if (chunk.length === 0) return;
    yield chunk;
  }
}

/**
 * Bytes [range.start, range.end] of the opened representation of a file whose
 * header names a key (`key`). The caller owns the handle; `walkKey` names the
 * file among the remembered walks.
 */
export async function* openedRange(handle: FileHandle, size: number, layout: RecordingLayout, key: Buffer, range: ByteRange, walkKey: string): AsyncGenerator<Buffer> {
  const { end } = range;
  let pos = range.start;
  const blocksEnd = layout.index ? layout.index.offset : size;
  const cursorAt = layout.index ? indexedCursor(handle, layout.index) : walkedCursor(handle, layout.dataStart, size, walkKey);
  const cursor = pos <= end && pos < blocksEnd ? await cursorAt(Math.max(pos, layout.dataStart)) : null;
  let at = cursor?.at ?? null;
  while (cursor && at !== null && pos <= end) {
    if (at > pos) {
      yield* stored(handle, pos, Math.min(end, at - 1));
      pos = Math.min(end + 1, at);
      if (pos > end) break;
    }
    const block = await openedBlock(handle, at, blocksEnd, key, layout);
    const blockEnd = block ? at + block.length : null;
    const next = await cursor.next(at, blockEnd);
    // [at, until) is this block (and whatever lies between it and the next).
    const until = next ?? blockEnd;
    if (until === null) break;
    if (block && blockEnd! > pos) {
      yield block.subarray(pos - at, Math.min(block.length, end - at + 1));
      pos = Math.min(end + 1, blockEnd!);
    }
    if (until > pos && pos <= end) {
      yield* stored(handle, pos, Math.min(end, until - 1));
      pos = Math.min(end + 1, until);
    }
    at = next;
  }
  // The head before the blocks, the trailer, index and footer after them, and whatever could not be followed: as stored.
  if (pos <= end) yield* stored(handle, pos, end);
}
