// The recordings' encoder: a worker thread that turns the relay's sealed
// blocks into the file's bytes, so nothing slow runs on the relay's thread.
// For each recording, in the order the blocks come: deflate (unless the
// block looks already compressed), seal (AES-256-GCM, when a
// key is given), CRC-32, the running SHA-256 of the file, and the index.
// It writes nothing: the bytes go back to the recorder, which owns the file.
// Format: recording-format.ts.
import { createHash, type Hash } from 'node:crypto';
import { parentPort, workerData } from 'node:worker_threads';
import { constants as zlibConstants, crc32, deflateRawSync } from 'node:zlib';
import { sealBytes } from '../lib/sealed.ts';
import { BlockFlag, Codec, GCM_IV_BYTES, GCM_TAG_BYTES, blockAad, encodeBlockHeader, encodeIndex, encodeTrailer, type IndexEntry } from './recording-format.ts';
import type { RecordingTrailer } from '../protocol/repeater.ts';

/** What the recorder asks. `buf` is transferred. */
export type EncoderRequest =
  | { type: 'open'; id: string; head: Uint8Array }
  | { type: 'block'; id: string; buf: ArrayBuffer; length: number; firstMs: number; lastMs: number }
  | { type: 'finish'; id: string; trailer: RecordingTrailer }
  | { type: 'forget'; id: string };

/** Bytes of the file: `length` bytes of `buf` from `offset` (the buffer is transferred). */
export interface Part {
  buf: ArrayBuffer;
  offset: number;
  length: number;
}

/** What it answers, in request order per recording. `rawBytes` is what the recorder counted for the request. */
export type EncoderReply =
  | { type: 'bytes'; id: string; parts: Part[]; rawBytes: number; spare?: ArrayBuffer }
  | { type: 'finished'; id: string; parts: Part[]; bytes: number; sha256: string }
  | { type: 'failed'; id: string; message: string };

export const ENCODER_ROLE = 'helpdesk-recording-encoder';

export interface EncoderData {
  role: typeof ENCODER_ROLE;
  /** The key that seals blocks, or null to write them in the clear. */
  seal: { keyId: string; key: Uint8Array } | null;
}

/** Sampled bytes with more entropy than this (bits per byte) are taken as already compressed (Tight and ZRLE are zlib output). */
const STORE_ABOVE_ENTROPY = 7.0;
const SAMPLE_STRIDE = 64;
const histogram = new Uint32Array(256);

/** Shannon entropy (bits per byte) of every SAMPLE_STRIDE-th byte. */
export function sampledEntropy(buf: Uint8Array, length: number): number {
  histogram.fill(0);
  let n = 0;
  for (let i = 0; i < length; i += SAMPLE_STRIDE, n++) histogram[buf[i]!]!++;
  if (n === 0) return 0;
  let bits = 0;
  for (let b = 0; b < 256; b++) {
    const c = histogram[b]!;
    if (c > 0) {
      const p = c / n;
      bits -= p * Math.log2(p);
    }
  }
  return bits;
}

interface Open {
  hash: Hash;
  offset: number;
  seq: number;
  index: IndexEntry[];
}

/**
 * `b` as a part whose buffer can be transferred: the buffer itself when `b`
 * is all of it, or when it is the block the recorder sent (`mine`); else a
 * copy of its bytes — it may be a slice of Node's shared pool, which cannot
 * be transferred (and whose size differs between Node versions).
 */
function own(b: Uint8Array, mine: ArrayBuffer | null): Part {
  if (b.buffer === mine || (b.byteOffset === 0 && b.byteLength === b.buffer.byteLength && b.buffer instanceof ArrayBuffer)) {
    return { buf: b.buffer as ArrayBuffer, offset: b.byteOffset, length: b.byteLength };
  }
  const copy = new Uint8Array(b.byteLength);
  copy.set(b);
  return { buf: copy.buffer, offset: 0, length: b.byteLength };
}

const transferOf = (parts: Part[]) => [...new Set(parts.map((p) => p.buf))];

export class Encoder {
  readonly #open = new Map<string, Open>();
  private readonly seal: { keyId: string; key: Buffer } | null;
  constructor(data: EncoderData) {
    this.seal = data.seal ? { keyId: data.seal.keyId, key: Buffer.from(data.seal.key) } : null;
  }

  handle(req: EncoderRequest): { reply: EncoderReply; transfer: ArrayBuffer[] } | null {
    if (req.type === 'forget') {
      this.#open.delete(req.id);
      return null;
    }
    const rec = req.type === 'open' ? this.#start(req.id) : this.#open.get(req.id);
    if (!rec) return { reply: { type: 'failed', id: req.id, message: 'the encoder does not know this recording' }, transfer: [] };
    try {
      if (req.type === 'open') return this.#out(req.id, rec, [Buffer.from(req.head)], 0);
      if (req.type === 'block') {
        const parts = this.#block(rec, req);
        const out = this.#out(req.id, rec, parts, req.length, req.buf);
        // The block's buffer, when the file does not take it, goes back for the next block.
        if (!out.transfer.includes(req.buf) && out.reply.type === 'bytes') {
          out.reply.spare = req.buf;
          out.transfer.push(req.buf);
        }
        return out;
      }
      const tail = encodeTrailer(req.trailer);
      const index = encodeIndex(rec.index, rec.offset + tail.length, crc32);
      rec.hash.update(tail).update(index);
      const bytes = rec.offset + tail.length + index.length;
      this.#open.delete(req.id);
      const parts = [own(tail, null), own(index, null)];
      return { reply: { type: 'finished', id: req.id, parts, bytes, sha256: rec.hash.digest('hex') }, transfer: transferOf(parts) };
    } catch (err) {
      this.#open.delete(req.id);
      return { reply: { type: 'failed', id: req.id, message: (err as Error).message }, transfer: [] };
    }
  }

  #start(id: string): Open {
    const rec: Open = { hash: createHash('sha256'), offset: 0, seq: 0, index: [] };
    this.#open.set(id, rec);
    return rec;
  }

  #block(rec: Open, req: Extract<EncoderRequest, { type: 'block' }>): Buffer[] {
    const raw = Buffer.from(req.buf, 0, req.length);
    let codec: number = Codec.STORED;
    let encoded: Buffer = raw;
    if (sampledEntropy(raw, raw.length) <= STORE_ABOVE_ENTROPY) {
      const deflated = deflateRawSync(raw, { level: 1, strategy: zlibConstants.Z_DEFAULT_STRATEGY });
      if (deflated.length < raw.length) {
        codec = Codec.DEFLATE_RAW;
        encoded = deflated;
      }
    }
    const sealed = this.seal !== null;
    const storedLength = encoded.length + (sealed ? GCM_IV_BYTES + GCM_TAG_BYTES : 0);
    const header = encodeBlockHeader({
      codec,
      flags: sealed ? BlockFlag.ENCRYPTED : 0,
      seq: rec.seq,
      firstMs: req.firstMs,
      lastMs: req.lastMs,
      rawLength: raw.length,
      storedLength,
    });
    const head24 = header.subarray(0, 24);
    const payload = this.seal ? sealBytes(this.seal.key, encoded, blockAad(head24, req.id, this.seal.keyId)) : encoded;
    header.writeUInt32BE(crc32(payload, crc32(head24)), 24);
    rec.index.push({ offset: rec.offset, firstMs: req.firstMs, lastMs: req.lastMs });
    rec.seq += 1;
    return [header, payload];
  }

  #out(id: string, rec: Open, chunks: Buffer[], rawBytes: number, mine: ArrayBuffer | null = null): { reply: EncoderReply; transfer: ArrayBuffer[] } {
    const parts: Part[] = [];
    for (const c of chunks) {
      rec.hash.update(c);
      rec.offset += c.length;
      parts.push(own(c, mine));
    }
    return { reply: { type: 'bytes', id, parts, rawBytes }, transfer: transferOf(parts) };
  }
}

if (parentPort && (workerData as { role?: string } | null)?.role === ENCODER_ROLE) {
  const port = parentPort;
  const encoder = new Encoder(workerData as EncoderData);
  port.on('message', (req: EncoderRequest) => {
    const out = encoder.handle(req);
    if (out) port.postMessage(out.reply, out.transfer);
  });
}
