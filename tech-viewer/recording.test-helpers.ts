// Recording files made by the tests themselves, byte by byte with the
// encoders of repeater/recording-format.ts (version 2) or by hand (version 1):
// complete, cut short, damaged, hostile, sealed; a synthetic RFB session whose
// screen at any time is known; and the row that lets the server serve a file.
import { createHash, randomBytes, randomUUID } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { crc32, deflateRawSync } from 'node:zlib';
import { sealBytes } from '../lib/sealed.ts';
import { blockAad, encodeBlockHeader, encodeFileHead, encodeIndex, encodeTrailer, recordingFileName, type RecordingHeader } from '../repeater/recording-format.ts';
import { expect } from 'vitest';
import type { Harness, Tech } from '../test/server-harness.ts';

export interface Rec {
  dir: 0 | 1;
  ms: number;
  data: Buffer;
}

export interface WriteOptions {
  /** Records per block: a new block when the next record is this many ms after the block's first, or past 64 KiB. */
  sealAfterMs?: number;
  /** Deflate blocks (default) or store them. */
  deflate?: boolean;
  /** Seal every block with this key. */
  seal?: { keyId: string; key: Buffer };
  keystrokes?: boolean;
  /** Leave out the trailer, index and footer, and add this many bytes of a next block (a killed writer). */
  cutShort?: number | false;
  startedAt?: number;
}

/** Records grouped into blocks the way the writer seals them (a second, or 64 KiB). */
export function blocksOf(records: readonly Rec[], sealAfterMs = 1_000): Rec[][] {
  const blocks: Rec[][] = [];
  let bytes = 0;
  for (const r of records) {
    const block = blocks.at(-1);
    if (!block || r.ms - block[0]!.ms >= sealAfterMs || bytes >= 64 * 1024) {
      blocks.push([r]);
      bytes = r.data.length;
    } else {
      block.push(r);
      bytes += r.data.length;
    }
  }
  return blocks;
}

export function rawOf(block: readonly Rec[]): Buffer {
  return Buffer.concat(block.flatMap((r) => {
    const h = Buffer.alloc(9);
    h[0] = r.dir;
    h.writeUInt32BE(r.ms, 1);
    h.writeUInt32BE(r.data.length, 5);
    return [h, r.data];
  }));
}

export function headerOf(o: WriteOptions & { version?: number } = {}): RecordingHeader {
  return {
    format: 'helpdesk-session-recording',
    version: o.version ?? 2,
    recordingId: randomUUID(),
    ticketId: '1',
    remoteSession: randomUUID(),
    startedAt: o.startedAt ?? Date.now(),
    meta: { test: true },
    ...(o.version === 1 ? {} : { keystrokes: o.keystrokes ?? true, encryption: o.seal ? { alg: 'aes-256-gcm' as const, keyId: o.seal.keyId } : null }),
  };
}

/** One version 2 block: header and payload (deflated, sealed as asked). */
export function blockV2(block: readonly Rec[], seq: number, o: WriteOptions = {}, recordingId = ''): Buffer {
  const raw = rawOf(block);
  const deflated = o.deflate === false ? null : deflateRawSync(raw);
  const encoded = deflated && deflated.length < raw.length ? deflated : raw;
  const fields = { codec: encoded === raw ? 0 : 1, seq, firstMs: block[0]!.ms, lastMs: block.at(-1)!.ms, rawLength: raw.length };
  const storedLength = encoded.length + (o.seal ? 28 : 0);
  const head = encodeBlockHeader({ ...fields, flags: o.seal ? 1 : 0, storedLength });
  const payload = o.seal ? sealBytes(o.seal.key, encoded, blockAad(head.subarray(0, 24), recordingId, o.seal.keyId)) : encoded;
  head.writeUInt32BE(crc32(payload, crc32(head.subarray(0, 24))), 24);
  return Buffer.concat([head, payload]);
}

/** A whole version 2 file, and where each block starts. */
export function writeV2(records: readonly Rec[], o: WriteOptions = {}): { file: Buffer; offsets: number[]; header: RecordingHeader; blocks: Rec[][] } {
  const header = headerOf(o);
  const parts = [encodeFileHead(header)];
  const blocks = blocksOf(records, o.sealAfterMs);
  const entries: { offset: number; firstMs: number; lastMs: number }[] = [];
  let at = parts[0]!.length;
  blocks.forEach((block, seq) => {
    const b = blockV2(block, seq, o, header.recordingId);
    entries.push({ offset: at, firstMs: block[0]!.ms, lastMs: block.at(-1)!.ms });
    parts.push(b);
    at += b.length;
  });
  const durationMs = records.at(-1)?.ms ?? 0;
  if (o.cutShort !== undefined && o.cutShort !== false) {
    parts.push(blockV2([{ dir: 0, ms: durationMs, data: randomBytes(4096) }], blocks.length, o, header.recordingId).subarray(0, o.cutShort));
  } else {
    const trailer = encodeTrailer({ endedAt: header.startedAt + durationMs, durationMs, reason: 'VIEWER_LEFT', records: records.length, bytesDesktopToViewer: 0, bytesViewerToDesktop: 0, state: 'complete' });
    parts.push(trailer, encodeIndex(entries, at + trailer.length, (b) => crc32(b)));
  }
  return { file: Buffer.concat(parts), offsets: entries.map((e) => e.offset), header, blocks };
}

/** A version 1 file (what the repeater wrote before version 2): 18-byte block headers, no CRC, no index. */
export function writeV1(records: readonly Rec[], o: { cutShort?: boolean } = {}): Buffer {
  const header = headerOf({ version: 1 });
  const json = Buffer.from(JSON.stringify(header));
  const head = Buffer.alloc(12);
  head.write('HCREC01\n', 'latin1');
  head.writeUInt32BE(json.length, 8);
  const parts: Buffer[] = [head, json];
  for (const block of blocksOf(records)) {
    const raw = rawOf(block);
    const deflated = deflateRawSync(raw);
    const h = Buffer.alloc(18);
    h[0] = 0x42;
    h[1] = 1;
    h.writeUInt32BE(block[0]!.ms, 2);
    h.writeUInt32BE(block.at(-1)!.ms, 6);
    h.writeUInt32BE(raw.length, 10);
    h.writeUInt32BE(deflated.length, 14);
    parts.push(h, deflated);
  }
  if (!o.cutShort) {
    const durationMs = records.at(-1)?.ms ?? 0;
    parts.push(encodeTrailer({ endedAt: header.startedAt + durationMs, durationMs, reason: 'VIEWER_LEFT', records: records.length, bytesDesktopToViewer: 0, bytesViewerToDesktop: 0, state: 'complete' }));
  }
  return Buffer.concat(parts);
}

/** What the browser's reader is compared on: how many records, and the SHA-256 of the desktop's stream. */
export function digestOf(records: readonly Rec[]): { count: number; sha256: string } {
  const hash = createHash('sha256');
  for (const r of records) if (r.dir === 0) hash.update(r.data);
  return { count: records.length, sha256: hash.digest('hex') };
}

// ---------------------------------------------------------------- a synthetic RFB session

export const SCREEN = { width: 320, height: 200 };
export const GREY: [number, number, number] = [0x40, 0x40, 0x40];
/** Second s (1, 2, …) paints an 80×50 rect at x = (s % 4) × 80 in this colour. */
export const colourOf = (s: number): [number, number, number] => [s & 0xff, (s >> 8) & 0xff, 0xa0];
export const rectX = (s: number) => (s % 4) * 80;

/** What the screen shows at x (one of the four rects' columns, y < 50) at `ms`. */
export function expectedAt(ms: number, x: number): [number, number, number] {
  const r = Math.floor(x / 80);
  for (let s = Math.floor(ms / 1000); s >= 1; s--) if (s % 4 === r) return colourOf(s);
  return GREY;
}

function rawRect(x: number, y: number, w: number, h: number, rgb: readonly number[]): Buffer {
  const b = Buffer.alloc(4 + 12 + w * h * 4);
  b.writeUInt16BE(1, 2); // FramebufferUpdate, one rect
  b.writeUInt16BE(x, 4);
  b.writeUInt16BE(y, 6);
  b.writeUInt16BE(w, 8);
  b.writeUInt16BE(h, 10);
  b.writeInt32BE(0, 12); // raw
  for (let p = 16; p < b.length; p += 4) b.set([rgb[0]!, rgb[1]!, rgb[2]!, 0], p); // noVNC's own pixel format: R, G, B, pad
  return b;
}

function serverInit(screen = SCREEN): Buffer {
  const name = Buffer.from('synthetic');
  const b = Buffer.alloc(24 + name.length);
  b.writeUInt16BE(screen.width, 0);
  b.writeUInt16BE(screen.height, 2);
  b.set([32, 24, 0, 1], 4); // bpp, depth, big-endian, true colour
  b.writeUInt16BE(255, 8);
  b.writeUInt16BE(255, 10);
  b.writeUInt16BE(255, 12);
  b.set([16, 8, 0], 14);
  b.writeUInt32BE(name.length, 20);
  name.copy(b, 24);
  return b;
}

/**
 * An RFB 3.8 session of `seconds` seconds as both streams recorded it: the
 * handshake (security None), a grey screen at 0 ms, then one raw rect a second
 * (`colourOf`). The viewer sends a pointer event every 10 s and a key press
 * (down and up) every 60 s.
 */
export function syntheticSession(seconds: number, o: { screen?: { width: number; height: number }; firstFrameMs?: number; emptyUpdateMs?: number } = {}): Rec[] {
  const screen = o.screen ?? SCREEN;
  const setEncodings = Buffer.from([2, 0, 0, 1, 0, 0, 0, 0]);
  const out: Rec[] = [
    { dir: 0, ms: 0, data: Buffer.from('RFB 003.008\n') },
    { dir: 1, ms: 0, data: Buffer.from('RFB 003.008\n') },
    { dir: 0, ms: 0, data: Buffer.from([1, 1]) },
    { dir: 1, ms: 0, data: Buffer.from([1]) },
    { dir: 0, ms: 0, data: Buffer.from([0, 0, 0, 0]) },
    { dir: 1, ms: 0, data: Buffer.from([1]) },
    { dir: 0, ms: 0, data: serverInit(screen) },
    { dir: 1, ms: 0, data: Buffer.concat([Buffer.from([0, 0, 0, 0, 32, 24, 0, 1, 0, 255, 0, 255, 0, 255, 0, 8, 16, 0, 0, 0]), setEncodings]) },
    // A FramebufferUpdate of no rects (x11vnc's first is often a cursor's shape): nothing drawn.
    ...(o.emptyUpdateMs === undefined ? [] : [{ dir: 0 as const, ms: o.emptyUpdateMs, data: Buffer.from([0, 0, 0, 0]) }]),
    // The desktop's first picture: at once here; a real desktop's comes some time after the handshake (firstFrameMs).
    { dir: 0, ms: o.firstFrameMs ?? 0, data: rawRect(0, 0, screen.width, screen.height, GREY) },
  ];
  for (let s = 1; s <= seconds; s++) {
    out.push({ dir: 0, ms: s * 1000, data: rawRect(rectX(s), 0, 80, 50, colourOf(s)) });
    if (s % 10 === 0) out.push({ dir: 1, ms: s * 1000 + 5, data: Buffer.from([5, 0, 0, 160, 0, 100]) });
    if (s % 60 === 0) out.push({ dir: 1, ms: s * 1000 + 7, data: Buffer.from([4, 1, 0, 0, 0, 0, 0, 0x61, 4, 0, 0, 0, 0, 0, 0, 0x61]) });
  }
  return out;
}

// ---------------------------------------------------------------- serving a file

/** Puts `file` in the harness's recordings directory with a row for it (the technician's, on a ticket of theirs). */
export async function storeRecording(h: Harness, file: Buffer, o: { technicianId: number; ticketId: number; durationMs: number; state?: 'complete' | 'incomplete' }): Promise<string> {
  const id = randomUUID();
  const startedAt = Date.now() - o.durationMs;
  const name = recordingFileName(String(o.ticketId), id, startedAt);
  mkdirSync(dirname(join(h.recordingsDir, name)), { recursive: true });
  writeFileSync(join(h.recordingsDir, name), file);
  await h.server.db('recordings').insert({
    id,
    ticket_id: o.ticketId,
    technician_id: o.technicianId,
    file: name,
    started_at: startedAt,
    ended_at: startedAt + o.durationMs,
    duration_ms: o.durationMs,
    bytes: file.length,
    sha256: createHash('sha256').update(file).digest('hex'),
    state: o.state ?? 'complete',
  });
  return id;
}

/** The ticket's recordings once there is exactly one, in `state` (polled: a recording closes after its session). */
export async function recordingsOf(_harness: Harness, tech: Tech, ticketId: number, state: string) {
  let list: { id: string; state: string; durationMs: number }[] = [];
  await expect
    .poll(async () => {
      list = (await tech.get(`/api/v1/tickets/${ticketId}`).expect(200)).body.recordings;
      return list.map((r) => r.state);
    }, { timeout: 20_000 })
    .toEqual([state]);
  return list;
}
