// Recording where the bytes are: the real repeater on loopback, real `ws`
// clients on both legs, files on the real disk. One fake: a disk that stalls
// (a sink whose writes never finish), which cannot be made on demand here.
import { afterEach, describe, expect, it } from 'vitest';
import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { once } from 'node:events';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { WebSocket } from 'ws';
import { connect, receiveBytes, startTestRepeater, type TestRepeater } from './repeater.test-helpers.ts';
import { Codec, BLOCK_HEADER_BYTES, MAGIC_V2 } from './recording-format.ts';
import { parseRecording } from './recording-reader.ts';
import { type RecordingResult } from '../protocol/repeater.ts';

let tr: TestRepeater | null = null;
afterEach(async () => {
  await tr?.close();
  tr = null;
});

const record = { meta: { novnc: '1.7.0', viewOnly: false } };
const greeting = Buffer.from('RFB 003.008\n');

async function recordedSession(dir: string, options: Parameters<typeof startTestRepeater>[1] = {}) {
  tr = await startTestRepeater({ recordingsDir: dir, recordingMaxBufferBytes: 256 * 1024 }, options);
  const closedRecording = once(tr.repeater, 'recordingClosed') as Promise<[RecordingResult]>;
  const paired = once(tr.repeater, 'paired');
  const desktop = await connect(tr.url('desktop', '7', record));
  desktop.send(greeting); // sent while waiting: recorded first, at 0 ms
  const viewer = await connect(tr.url('viewer', '7'));
  const [pairedEvent] = await paired;
  return { desktop, viewer, pairedEvent, closedRecording: closedRecording.then(([r]) => r) };
}

function filesIn(dir: string): string[] {
  return readdirSync(dir, { recursive: true, withFileTypes: true }).filter((d) => d.isFile()).map((d) => join(d.parentPath, d.name));
}

describe('session recording in the repeater', () => {
  it('writes both streams in order with their timing, a header and a trailer; the SHA-256 is the file\'s', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'rec-'));
    const { desktop, viewer, pairedEvent, closedRecording } = await recordedSession(dir);
    expect(pairedEvent.recording).toMatchObject({ id: expect.stringMatching(/^[0-9a-f-]{36}$/), file: expect.stringMatching(/^\d{4}-\d{2}\/7-.*\.hcrec$/) });
    expect(await receiveBytes(viewer, greeting.length)).toEqual(greeting);
    // The viewer's handshake as noVNC sends it: version, security type None, ClientInit.
    const viewerHello = Buffer.concat([greeting, Buffer.from([1, 1])]);
    viewer.send(viewerHello);
    await receiveBytes(desktop, viewerHello.length);
    // A compressible screen (one colour) and an incompressible one (random), then a pointer event.
    const flat = Buffer.alloc(200_000, 0x33);
    const noise = randomBytes(200_000);
    desktop.send(flat);
    await receiveBytes(viewer, flat.length);
    await new Promise((r) => setTimeout(r, 120));
    desktop.send(noise);
    await receiveBytes(viewer, noise.length);
    const pointer = Buffer.from([5, 1, 0, 10, 0, 20]);
    viewer.send(pointer);
    await receiveBytes(desktop, pointer.length);
    viewer.close(1000);
    const result = await closedRecording;
    expect(result).toMatchObject({ state: 'complete', problem: null, ticketId: '7', recordingId: pairedEvent.recording!.id });

    const [path] = filesIn(dir);
    const file = readFileSync(path!);
    expect(file.subarray(0, 8)).toEqual(MAGIC_V2);
    expect(result.bytes).toBe(file.length);
    expect(result.sha256).toBe(createHash('sha256').update(file).digest('hex'));
    const parsed = parseRecording(file);
    expect(parsed.header).toMatchObject({ version: 2, keystrokes: false, encryption: null, ticketId: '7', remoteSession: pairedEvent.sessionId, meta: record.meta });
    expect(parsed.trailer).toMatchObject({ state: 'complete', reason: 'VIEWER_LEFT', bytesDesktopToViewer: greeting.length + flat.length + noise.length });
    const stream = (dir: 0 | 1) => Buffer.concat(parsed.pieces.filter((p) => p.direction === dir).map((p) => p.data));
    expect(stream(0)).toEqual(Buffer.concat([greeting, flat, noise]));
    expect(stream(1)).toEqual(Buffer.concat([viewerHello, pointer]));
    expect(parsed.pieces[0]).toMatchObject({ direction: 0, ms: expect.any(Number) });
    const times = parsed.pieces.map((p) => p.ms);
    expect([...times].sort((a, b) => a - b)).toEqual(times);
    const noiseStart = parsed.pieces.find((p) => p.data[0] === noise[0] && p.data.length > 1000 && p.data.equals(noise.subarray(0, p.data.length)));
    expect(noiseStart!.ms).toBeGreaterThanOrEqual(100);
    expect(parsed.truncatedBytes).toBe(0);
    expect(parsed.damaged).toEqual([]);
    // The one-colour screen was deflated, the random one stored as it was.
    const codecs = blockCodecs(file);
    expect(codecs).toContain(Codec.DEFLATE_RAW);
    expect(codecs).toContain(Codec.STORED);
    expect(file.length).toBeLessThan(flat.length + noise.length);
    desktop.terminate();
  });

  it('a file cut short (the process killed) still reads up to its last whole block', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'rec-'));
    const { desktop, viewer, closedRecording } = await recordedSession(dir);
    await receiveBytes(viewer, greeting.length);
    const screen = randomBytes(300_000);
    desktop.send(screen);
    await receiveBytes(viewer, screen.length);
    viewer.close(1000);
    await closedRecording;
    const [path] = filesIn(dir);
    const whole = readFileSync(path!);
    // Cut in the middle of the last blocks, trailer gone, as a SIGKILL mid-write leaves it.
    const cut = whole.subarray(0, whole.length - 40_000);
    writeFileSync(path!, cut);
    const parsed = parseRecording(readFileSync(path!));
    expect(parsed.trailer).toBeNull();
    expect(parsed.truncatedBytes).toBeGreaterThan(0);
    const shown = Buffer.concat(parsed.pieces.filter((p) => p.direction === 0).map((p) => p.data));
    expect(shown.length).toBeGreaterThan(200_000);
    expect(shown).toEqual(Buffer.concat([greeting, screen]).subarray(0, shown.length));
    desktop.terminate();
  });

  it('a disk that stalls drops the recording (trailer says so), never the session', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'rec-'));
    let writes = 0;
    let closes = 0;
    const stalled = () => Promise.resolve({
      write: () => {
        writes += 1;
        return writes === 1 ? Promise.resolve() : new Promise<void>(() => undefined); // the header lands, then nothing
      },
      close: () => {
        closes += 1;
        return Promise.resolve();
      },
    });
    tr = await startTestRepeater({ recordingsDir: dir, recordingMaxBufferBytes: 256 * 1024, closeTimeoutMs: 500 }, { openRecordingSink: stalled });
    const closedRecording = once(tr.repeater, 'recordingClosed') as Promise<[RecordingResult]>;
    const desktop = await connect(tr.url('desktop', '8', record));
    const viewer = await connect(tr.url('viewer', '8'));
    // Far more than the buffer allows: the session carries all of it.
    const total = 4 * 1024 * 1024;
    const received = receiveBytes(viewer, total);
    for (let sent = 0; sent < total; sent += 256 * 1024) desktop.send(randomBytes(256 * 1024));
    expect((await received).length).toBe(total);
    expect(tr.repeater.stats.sessions).toBe(1);
    viewer.close(1000);
    // The stalled writes never finish: after closeTimeoutMs the recording is given up as dropped, the session long gone.
    const [result] = await closedRecording;
    expect(tr.repeater.stats.sessions).toBe(0);
    expect(result.state).toBe('dropped');
    expect(result.problem).toMatch(/disk fell more than 262144 bytes behind/);
    expect(closes).toBe(1); // a finish that timed out still closes its file
    desktop.terminate();
  });

  it('drops with its reason once the disk stalls past the limit, and the trailer says so when the disk recovers', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'rec-'));
    let release: (() => void) | null = null;
    const gate = new Promise<void>((r) => (release = r));
    const chunks: Buffer[] = [];
    const slow = () => Promise.resolve({
      write: async (parts: Buffer[]) => {
        if (chunks.length > 0) await gate; // the first bytes land, then the disk stalls until released
        chunks.push(...parts.map((p) => Buffer.from(p)));
      },
      close: () => Promise.resolve(),
    });
    tr = await startTestRepeater({ recordingsDir: dir, recordingMaxBufferBytes: 256 * 1024 }, { openRecordingSink: slow });
    const closedRecording = once(tr.repeater, 'recordingClosed') as Promise<[RecordingResult]>;
    const desktop = await connect(tr.url('desktop', '9', record));
    const viewer = await connect(tr.url('viewer', '9'));
    const total = 2 * 1024 * 1024;
    const received = receiveBytes(viewer, total);
    for (let sent = 0; sent < total; sent += 128 * 1024) desktop.send(randomBytes(128 * 1024));
    await received;
    viewer.close(1000);
    release!();
    const [result] = await closedRecording;
    expect(result.state).toBe('dropped');
    expect(result.problem).toMatch(/disk fell more than 262144 bytes behind/);
    const parsed = parseRecording(Buffer.concat(chunks));
    expect(parsed.trailer).toMatchObject({ state: 'dropped' });
    const kept = parsed.pieces.reduce((n, p) => n + p.data.length, 0);
    expect(kept).toBeGreaterThan(0);
    expect(kept).toBeLessThan(total);
    desktop.terminate();
  });

  it('a directory it cannot write fails the recording in words; the session goes on', async () => {
    // A path under a regular file cannot be created, even by root.
    const file = join(mkdtempSync(join(tmpdir(), 'rec-')), 'a-file');
    writeFileSync(file, '');
    tr = await startTestRepeater({ recordingsDir: join(file, 'recordings') });
    const closedRecording = once(tr.repeater, 'recordingClosed') as Promise<[RecordingResult]>;
    const desktop = await connect(tr.url('desktop', '10', record));
    const viewer = await connect(tr.url('viewer', '10'));
    desktop.send(greeting);
    expect(await receiveBytes(viewer, greeting.length)).toEqual(greeting);
    viewer.close(1000);
    const [result] = await closedRecording;
    expect(result).toMatchObject({ state: 'failed', bytes: 0, sha256: null });
    expect(result.problem).toMatch(/cannot open the recording file/);
    desktop.terminate();
  });

  it('records nothing for a session the authorizer did not order recorded', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'rec-'));
    tr = await startTestRepeater({ recordingsDir: dir });
    const paired = once(tr.repeater, 'paired');
    const desktop: WebSocket = await connect(tr.url('desktop', '11'));
    const viewer = await connect(tr.url('viewer', '11'));
    const [e] = await paired;
    expect(e.recording).toBeNull();
    desktop.send(greeting);
    await receiveBytes(viewer, greeting.length);
    viewer.close(1000);
    await expect.poll(() => tr!.repeater.stats.sessions).toBe(0);
    expect(filesIn(dir)).toEqual([]);
    desktop.terminate();
  });
});

function blockCodecs(file: Buffer): number[] {
  let at = 8;
  at += 4 + file.readUInt32BE(at);
  const codecs: number[] = [];
  while (at < file.length && file[at] === 0x42) {
    codecs.push(file[at + 1]!);
    at += BLOCK_HEADER_BYTES + file.readUInt32BE(at + 20);
  }
  return codecs;
}
