// Recordings a compliance officer can trust (issue 23), with the real
// repeater on loopback, real `ws` clients and files on the real disk: a burst
// kept whole, a required recording that cannot be written ends the session in
// words, keystrokes left out by default, blocks sealed at rest, a damaged
// block skipped and a hostile one refused.
import { afterEach, describe, expect, it } from 'vitest';
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { mkdtempSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { WebSocket } from 'ws';
import { newKeyRingSpec, parseKeyRing } from '../lib/sealed.ts';
import type { RecordingResult } from '../protocol/repeater.ts';
import { CloseCode } from '../protocol/close-codes.ts';
import { BLOCK_HEADER_BYTES, MAX_RAW_BYTES } from './recording-format.ts';
import { parseRecording } from './recording-reader.ts';
import { connect, receiveBytes, startTestRepeater, type TestRepeater } from './repeater.test-helpers.ts';

let tr: TestRepeater | null = null;
afterEach(async () => {
  await tr?.close();
  tr = null;
});

const record = { meta: {} };
const greeting = Buffer.from('RFB 003.008\n');
/** The viewer's side of a 3.8 handshake with security None, then ClientInit. */
const viewerHello = Buffer.concat([greeting, Buffer.from([1, 1])]);
const keyDown = Buffer.from([4, 1, 0, 0, 0, 0, 0, 0x61]);
const pointer = Buffer.from([5, 0, 0, 10, 0, 20]);

const filesIn = (dir: string) => readdirSync(dir, { recursive: true, withFileTypes: true }).filter((d) => d.isFile()).map((d) => join(d.parentPath, d.name));
const stream = (pieces: { direction: 0 | 1; data: Buffer }[], dir: 0 | 1) => Buffer.concat(pieces.filter((p) => p.direction === dir).map((p) => p.data));

async function session(ticket: string, options: Parameters<typeof startTestRepeater>[0]) {
  const dir = mkdtempSync(join(tmpdir(), 'rec-trust-'));
  tr = await startTestRepeater({ recordingsDir: dir, ...options });
  const closed = (once(tr.repeater, 'recordingClosed') as Promise<[RecordingResult]>).then(([r]) => r);
  const desktop = await connect(tr.url('desktop', ticket, record));
  const viewer = await connect(tr.url('viewer', ticket));
  return { dir, desktop, viewer, closed };
}

/** Greeting both ways, a key press and a pointer event from the viewer, then the viewer leaves. */
async function typedSession(ticket: string, options: Parameters<typeof startTestRepeater>[0]) {
  const s = await session(ticket, options);
  s.desktop.send(greeting);
  await receiveBytes(s.viewer, greeting.length);
  const fromViewer = Buffer.concat([viewerHello, keyDown, pointer]);
  s.viewer.send(fromViewer);
  await receiveBytes(s.desktop, fromViewer.length);
  s.viewer.close(1000);
  const result = await s.closed;
  s.desktop.terminate();
  return { ...s, result, file: readFileSync(filesIn(s.dir)[0]!) };
}

function closeCodeOf(ws: WebSocket): Promise<number> {
  return new Promise((resolve) => ws.once('close', (code) => resolve(code)));
}

describe('recordings a compliance officer can trust', () => {
  it('keeps a burst far faster than the disk whole: the relay waits for the disk, the recording completes and reads back', async () => {
    const s = await session('21', { recordingMaxBufferBytes: 1024 * 1024 }); // far less than the burst: the disk is behind
    const burst: Buffer[] = [];
    for (let i = 0; i < 48; i++) burst.push(i % 2 ? randomBytes(1024 * 1024) : Buffer.alloc(1024 * 1024, i));
    const total = burst.reduce((n, b) => n + b.length, 0);
    const received = receiveBytes(s.viewer, total);
    for (const b of burst) s.desktop.send(b);
    expect((await received).equals(Buffer.concat(burst))).toBe(true);
    s.viewer.close(1000);
    const result = await s.closed;
    expect(result).toMatchObject({ state: 'complete', problem: null });
    const parsed = parseRecording(readFileSync(filesIn(s.dir)[0]!));
    expect(parsed.trailer).toMatchObject({ state: 'complete', bytesDesktopToViewer: total });
    expect(stream(parsed.pieces, 0).equals(Buffer.concat(burst))).toBe(true);
    s.desktop.terminate();
  });

  it('RECORDING_REQUIRED: a recording that cannot be written ends the session before anything is shared, both sides told why', async () => {
    const file = join(mkdtempSync(join(tmpdir(), 'rec-trust-')), 'a-file');
    writeFileSync(file, ''); // a directory under a regular file cannot be made, even by root
    tr = await startTestRepeater({ recordingsDir: join(file, 'recordings'), recordingRequired: true });
    const closed = once(tr.repeater, 'recordingClosed') as Promise<[RecordingResult]>;
    const desktop = await connect(tr.url('desktop', '22', record));
    desktop.send(greeting); // sent while waiting: held, never relayed unrecorded
    const viewer = await connect(tr.url('viewer', '22'));
    let relayed = 0;
    viewer.on('message', (m: Buffer) => (relayed += m.length));
    const [desktopCode, viewerCode] = await Promise.all([closeCodeOf(desktop), closeCodeOf(viewer)]);
    expect(desktopCode).toBe(CloseCode.RECORDING_FAILED);
    expect(viewerCode).toBe(CloseCode.RECORDING_FAILED);
    expect(relayed).toBe(0);
    const [result] = await closed;
    expect(result).toMatchObject({ state: 'failed' });
    expect(result.problem).toMatch(/cannot open the recording file/);
  });

  it('leaves the viewer\'s key events out by default (the pointer stays), and says so in the header and trailer', async () => {
    const { result, file } = await typedSession('23', {});
    expect(result.state).toBe('complete');
    const parsed = parseRecording(file);
    expect(parsed.header.keystrokes).toBe(false);
    expect(parsed.trailer).toMatchObject({ keystrokes: false, keysLeftOut: 1, viewerStreamStopped: null });
    expect(stream(parsed.pieces, 1)).toEqual(Buffer.concat([viewerHello, pointer]));
  });

  it('keeps them with RECORD_KEYSTROKES=on', async () => {
    const { file } = await typedSession('24', { recordKeystrokes: true });
    const parsed = parseRecording(file);
    expect(parsed.header.keystrokes).toBe(true);
    expect(parsed.trailer).toMatchObject({ keystrokes: true, keysLeftOut: 0 });
    expect(stream(parsed.pieces, 1)).toEqual(Buffer.concat([viewerHello, keyDown, pointer]));
  });

  it('seals blocks at rest: no plaintext RFB on disk, plays with the key, refuses in words without it, an old key still opens after rotation', async () => {
    const oldSpec = newKeyRingSpec('old');
    const { file, result } = await typedSession('25', { recordingKey: { spec: oldSpec, file: '/nonexistent' } });
    expect(result.state).toBe('complete');
    expect(file.includes('RFB 003.')).toBe(false);
    const parsed = parseRecording(file, { keyRing: parseKeyRing(oldSpec, 'test') });
    expect(parsed.header.encryption).toEqual({ alg: 'aes-256-gcm', keyId: 'old' });
    expect(stream(parsed.pieces, 0)).toEqual(greeting);
    expect(() => parseRecording(file)).toThrow(/encrypted with key "old", which was not given/);
    expect(() => parseRecording(file, { keyRing: parseKeyRing(newKeyRingSpec('new'), 'test') })).toThrow(/key "old", which the key ring does not hold/);
    const rotated = parseKeyRing(`${newKeyRingSpec('new')},${oldSpec}`, 'test');
    expect(stream(parseRecording(file, { keyRing: rotated }).pieces, 1)).toEqual(Buffer.concat([viewerHello, pointer]));
  });

  it('skips a damaged block and says where; reads the blocks after it', async () => {
    const s = await session('26', {});
    const parts = [Buffer.alloc(200_000, 1), randomBytes(200_000), Buffer.alloc(200_000, 3)];
    for (const p of parts) {
      s.desktop.send(p);
      await receiveBytes(s.viewer, p.length);
      await new Promise((r) => setTimeout(r, 1_100)); // each part sealed in a block of its own
    }
    s.viewer.close(1000);
    await s.closed;
    const path = filesIn(s.dir)[0]!;
    const file = readFileSync(path);
    const blocks = blockOffsets(file);
    expect(blocks.length).toBeGreaterThanOrEqual(3);
    file[blocks[1]! + BLOCK_HEADER_BYTES + 100]! ^= 0xff; // one flipped byte in the second block's payload
    const parsed = parseRecording(file);
    expect(parsed.damaged).toEqual([{ offset: blocks[1], reason: 'its CRC does not match' }]);
    const shown = stream(parsed.pieces, 0);
    expect(shown).toEqual(Buffer.concat([parts[0]!, parts[2]!]));
    s.desktop.terminate();
  });

  it('refuses a hostile block header without allocating what it claims', async () => {
    const { file } = await typedSession('27', {});
    const at = blockOffsets(file)[0]!;
    const hostile = Buffer.from(file);
    hostile.writeUInt32BE(0xfffffff0, at + 16); // rawLength
    hostile.writeUInt32BE(0xfffffff0, at + 20); // storedLength
    const before = process.memoryUsage().arrayBuffers;
    const parsed = parseRecording(hostile);
    expect(process.memoryUsage().arrayBuffers - before).toBeLessThan(MAX_RAW_BYTES);
    expect(parsed.damaged[0]).toMatchObject({ offset: at, reason: 'not a block header' });
    expect(parsed.pieces).toEqual([]);
  });
});

/** Where each version 2 block starts. */
function blockOffsets(file: Buffer): number[] {
  let at = 8 + 4 + file.readUInt32BE(8);
  const out: number[] = [];
  while (at < file.length && file[at] === 0x42) {
    out.push(at);
    at += BLOCK_HEADER_BYTES + file.readUInt32BE(at + 20);
  }
  return out;
}
