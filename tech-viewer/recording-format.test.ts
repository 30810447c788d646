// The browser's recording reader (admin-web/public/recording-file.js) held
// to repeater/recording-format.ts in real Chromium: files the test writes —
// whole, cut short, with a damaged block, hostile — read in the page give the
// records the test wrote, and report what they skipped; Node's reader
// (repeater/recording-reader.ts), fed the same files, agrees. And the file route:
// byte ranges (206, 416), and sealed files served opened for playback, as
// stored for download.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createHash, randomBytes } from 'node:crypto';
import { crc32, deflateRawSync } from 'node:zlib';
import type { Browser, Page } from 'playwright-core';
import { ADMIN_PASSWORD, TEST_RECORDING_KEY, startHarness, type Harness, type Tech } from '../test/server-harness.ts';
import { launchChromium } from '../test/browser.ts';
import { parseKeyRing } from '../lib/sealed.ts';
import { encodeBlockHeader, encodeFileHead } from '../repeater/recording-format.ts';
import { parseRecording } from '../repeater/recording-reader.ts';
import { blockV2, blocksOf, digestOf, headerOf, storeRecording, writeV1, writeV2, type Rec } from './recording.test-helpers.ts';

let h: Harness;
let browser: Browser;
let page: Page;
let ana: Tech;
let admin: Tech;
let ticketId: number;
const ring = parseKeyRing(TEST_RECORDING_KEY, 'TEST_RECORDING_KEY');

beforeAll(async () => {
  [h, browser] = await Promise.all([startHarness('sqlite'), launchChromium()]);
  admin = await h.login('admin', ADMIN_PASSWORD);
  ana = await h.createTechnician(admin, 'ana');
  ticketId = (await h.acceptedRequest(ana)).id;
  page = await (await browser.newContext()).newPage();
  await page.goto(`${h.server.url}/login`);
  // The page's own modules, as the player loads them (a string: the test's bundler leaves it alone).
  await page.evaluate("Promise.all([import('/assets/recording-file.js'), import('/assets/recording-source.js')]).then(([file, source]) => { window.rec = { ...file, ...source }; })");
}, 60_000);

afterAll(async () => {
  await browser?.close();
  await h?.close();
});

/** Two minutes of both streams: screens that deflate and screens that do not, and the viewer's small messages. */
function mixedRecords(): Rec[] {
  const out: Rec[] = [];
  for (let i = 0; i < 400; i++) {
    const ms = i * 300;
    const size = 50 + ((i * 7919) % 30_000);
    out.push({ dir: 0, ms, data: i % 3 === 0 ? randomBytes(size) : Buffer.alloc(size, i & 0xff) });
    if (i % 4 === 0) out.push({ dir: 1, ms: ms + 1, data: Buffer.from([5, 0, 0, i & 0xff, 0, 9]) });
  }
  return out;
}

interface Read {
  version: number;
  count: number;
  sha256: string;
  damaged: { offset: number; reason: string }[];
  cut: boolean;
  trailer: boolean;
  index: boolean;
  largestArray: number;
  heapGrowth: number;
}

/** Reads `file` with the page's own module; the largest typed array it made, and how the heap (with array buffers) grew. */
async function readInPage(file: Buffer): Promise<Read> {
  const cdp = await page.context().newCDPSession(page);
  const heap = async () => {
    await cdp.send('HeapProfiler.collectGarbage');
    const u = (await cdp.send('Runtime.getHeapUsage')) as { usedSize: number; backingStorageSize?: number };
    return u.usedSize + (u.backingStorageSize ?? 0);
  };
  await page.evaluate((b64) => {
    (window as unknown as { file: Uint8Array }).file = Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
  }, file.toString('base64'));
  const before = await heap();
  const read = await page.evaluate(async () => {
    const { readRecording, memorySource } = (window as any).rec;
    // Every typed array the reader makes is measured (a hostile header must not make it allocate what it claims).
    const Native = Uint8Array;
    let largest = 0;
    (globalThis as { Uint8Array: unknown }).Uint8Array = class extends Native {
      constructor(...args: ConstructorParameters<typeof Native>) {
        super(...args);
        largest = Math.max(largest, this.byteLength);
      }
    };
    try {
      const r = await readRecording(memorySource((window as unknown as { file: Uint8Array }).file, { chunk: 16 * 1024 }));
      const desktop = (r.records as { dir: number; data: Uint8Array }[]).filter((x) => x.dir === 0);
      const all = new Native(desktop.reduce((n, x) => n + x.data.length, 0));
      let o = 0;
      for (const x of desktop) {
        all.set(x.data, o);
        o += x.data.length;
      }
      const digest = new Native(await crypto.subtle.digest('SHA-256', all));
      const sha256 = Array.from(digest, (b) => b.toString(16).padStart(2, '0')).join('');
      return { version: r.version, count: r.records.length, sha256, damaged: r.damaged, cut: r.cut, trailer: r.trailer !== null, index: r.index !== null, largestArray: largest };
    } finally {
      (globalThis as { Uint8Array: unknown }).Uint8Array = Native;
    }
  });
  const heapGrowth = (await heap()) - before;
  await cdp.detach();
  const inPage = read as Omit<Read, 'heapGrowth'>;
  // One format, two readers: Node's (repeater/recording-reader.ts) reads the same file to the same records and skips the same blocks.
  const inNode = parseRecording(file);
  const desktop = Buffer.concat(inNode.pieces.filter((p) => p.direction === 0).map((p) => p.data));
  expect({ count: inNode.pieces.length, sha256: createHash('sha256').update(desktop).digest('hex'), damaged: inNode.damaged.map((d) => d.offset) }).toEqual({
    count: inPage.count,
    sha256: inPage.sha256,
    damaged: inPage.damaged.map((d) => d.offset),
  });
  return { ...inPage, heapGrowth };
}

const without = (records: readonly Rec[], gone: readonly Rec[]) => records.filter((r) => !gone.includes(r));
/** Byte for byte (vitest's deep equality is slow on megabytes). */
const expectBytes = (got: Buffer, want: Buffer) => expect(Buffer.compare(got, want), `${got.length} bytes, ${want.length} expected`).toBe(0);

describe('the browser reads what the format says', () => {
  const records = mixedRecords();

  it('a whole file and one cut short, both versions: every record the test wrote', async () => {
    const good = writeV2(records);
    expect(good.blocks.length).toBeGreaterThan(20);
    expect(await readInPage(good.file)).toMatchObject({ version: 2, ...digestOf(records), damaged: [], cut: false, trailer: true, index: true });
    const cut = writeV2(records, { cutShort: 100 });
    expect(await readInPage(cut.file)).toMatchObject({ version: 2, ...digestOf(records), damaged: [], cut: true, trailer: false, index: false });
    const stored = writeV2(records, { deflate: false, sealAfterMs: 5_000 });
    expect(await readInPage(stored.file)).toMatchObject(digestOf(records));
    expect(await readInPage(writeV1(records))).toMatchObject({ version: 1, ...digestOf(records), damaged: [], cut: false, trailer: true });
    expect(await readInPage(writeV1(records, { cutShort: true }))).toMatchObject({ version: 1, ...digestOf(records), cut: true, trailer: false });
  }, 60_000);

  it('a flipped byte in a block\'s payload: that block is skipped and reported, the rest read (with the index and without)', async () => {
    for (const cutShort of [false, 100] as const) {
      const { file, offsets, blocks } = writeV2(records, { cutShort });
      const damaged = Buffer.from(file);
      damaged[offsets[7]! + 28 + 5]! ^= 0x40;
      const read = await readInPage(damaged);
      expect(read).toMatchObject({ ...digestOf(without(records, blocks[7]!)), cut: cutShort !== false });
      expect(read.damaged).toEqual([expect.objectContaining({ offset: offsets[7], reason: 'crc' })]);
    }
  }, 60_000);

  it('hostile blocks: a header claiming 4 GiB is refused without allocating it; a block inflating past its claim is given up', async () => {
    const blocks = blocksOf(records);
    const header = headerOf();
    const huge = encodeBlockHeader({ codec: 1, flags: 0, seq: 3, firstMs: blocks[3]![0]!.ms, lastMs: blocks[3]![0]!.ms, rawLength: 0xfffffff0, storedLength: 0xfffffff0 });
    const bombPayload = deflateRawSync(Buffer.alloc(8 * 1024 * 1024));
    const bomb = encodeBlockHeader({ codec: 1, flags: 0, seq: 6, firstMs: blocks[6]![0]!.ms, lastMs: blocks[6]![0]!.ms, rawLength: 1000, storedLength: bombPayload.length });
    bomb.writeUInt32BE(crc32(bombPayload, crc32(bomb.subarray(0, 24))), 24);
    const parts: Buffer[] = [encodeFileHead(header)];
    let seq = 0;
    let at = parts[0]!.length;
    const put = (b: Buffer) => (parts.push(b), (at += b.length) - b.length);
    let hugeAt = 0;
    let bombAt = 0;
    blocks.forEach((block, i) => {
      if (i === 3) hugeAt = put(huge);
      if (i === 6) {
        bombAt = put(Buffer.concat([bomb, bombPayload]));
        seq += 1;
      }
      put(blockV2(block, seq++));
    });
    const read = await readInPage(Buffer.concat(parts));
    expect(read).toMatchObject({ ...digestOf(records), cut: true });
    expect(read.damaged).toEqual([expect.objectContaining({ offset: hugeAt, reason: 'tooLarge' }), expect.objectContaining({ offset: bombAt, reason: 'inflate' })]);
    expect(read.largestArray).toBeLessThan(2 * 1024 * 1024);
    console.log(`hostile file read in the page: largest array ${read.largestArray} bytes, heap growth ${(read.heapGrowth / 1024).toFixed(0)} KiB`);
    expect(read.heapGrowth).toBeLessThan(16 * 1024 * 1024);
  }, 60_000);
});

/** GET the file route as `tech`, the body as bytes. */
function getFile(id: string, query: Record<string, string>, range?: string, tech = ana) {
  let req = tech.get(`/api/v1/recordings/${id}/file`).query(query);
  if (range) req = req.set('range', range);
  return req.buffer(true).parse((res, done) => {
    const chunks: Buffer[] = [];
    res.on('data', (c: Buffer) => chunks.push(c));
    res.on('end', () => done(null, Buffer.concat(chunks)));
  });
}

/** The opened representation a player is served of a sealed file: every block opened in place, the rest as stored. */
function expectOpened(served: Buffer, disk: Buffer, offsets: readonly number[], clear: Buffer, clearOffsets: readonly number[]) {
  expect(served.length).toBe(disk.length);
  const starts = [...offsets, disk.length];
  expectBytes(served.subarray(0, offsets[0]), disk.subarray(0, offsets[0]));
  offsets.forEach((at, k) => {
    const stored = disk.readUInt32BE(at + 20);
    const block = served.subarray(at, at + 28 + stored);
    expect(block[2]).toBe(2);
    expect(block.readUInt32BE(24)).toBe(crc32(block.subarray(28), crc32(block.subarray(0, 24))));
    expectBytes(block.subarray(28, 40), Buffer.alloc(12));
    expectBytes(block.subarray(block.length - 16), Buffer.alloc(16));
    // The plaintext is what the unsealed file holds for that block.
    const c = clearOffsets[k]!;
    expectBytes(block.subarray(40, block.length - 16), clear.subarray(c + 28, c + 28 + clear.readUInt32BE(c + 20)));
    expectBytes(served.subarray(at + 28 + stored, starts[k + 1]), disk.subarray(at + 28 + stored, starts[k + 1]));
  });
}

describe('the file route', () => {
  const records = mixedRecords();

  it('answers one byte range with 206 and its bytes, a range past the end with 416, several ranges with the whole file', async () => {
    const { file } = writeV2(records);
    const id = await storeRecording(h, file, { technicianId: ana.id, ticketId, durationMs: 120_000 });
    const size = file.length;
    for (const [range, start, end] of [['bytes=0-99', 0, 99], ['bytes=1000-', 1000, size - 1], ['bytes=-5000', size - 5000, size - 1], [`bytes=10-${size + 50}`, 10, size - 1]] as const) {
      const res = await getFile(id, { purpose: 'playback' }, range).expect(206);
      expect(res.headers['content-range']).toBe(`bytes ${start}-${end}/${size}`);
      expect(res.headers['accept-ranges']).toBe('bytes');
      expectBytes(res.body, file.subarray(start, end + 1));
    }
    const past = await getFile(id, { purpose: 'download' }, `bytes=${size}-`).expect(416);
    expect(past.headers['content-range']).toBe(`bytes */${size}`);
    expect(JSON.parse((past.body as Buffer).toString()).error.code).toBe('RANGE_NOT_SATISFIABLE');
    expectBytes((await getFile(id, { purpose: 'download' }, 'bytes=0-9,20-29').expect(200)).body, file);
    expect((await getFile(id, { purpose: 'download' }).expect(200)).headers['accept-ranges']).toBe('bytes');

    // Audited once per start: the whole file, a range from 0; a player's later ranges add nothing.
    const played = async () => ((await admin.get('/api/v1/audit').query({ ticketId }).expect(200)).body.events as { action: string; detail: { recordingId?: string } }[]).filter((e) => e.detail?.recordingId === id).map((e) => e.action);
    const before = await played();
    expect(before.filter((a) => a === 'recording.played')).toHaveLength(1); // bytes=0-99
    for (let i = 0; i < 20; i++) await getFile(id, { purpose: 'playback' }, `bytes=${200 + i * 100}-${299 + i * 100}`).expect(206);
    expect((await played()).filter((a) => a === 'recording.played')).toHaveLength(1);
    await getFile(id, { purpose: 'playback' }, 'bytes=0-65535').expect(206);
    expect((await played()).filter((a) => a === 'recording.played')).toHaveLength(2);
  }, 60_000);

  it('serves a sealed file opened for playback (any range the same bytes), as stored for download; a key it does not hold is refused in words', async () => {
    const seal = { keyId: ring.current.id, key: ring.current.key };
    for (const cutShort of [false, 60] as const) {
      const sealed = writeV2(records, { seal, cutShort });
      const clear = writeV2(records, { cutShort });
      const id = await storeRecording(h, sealed.file, { technicianId: ana.id, ticketId, durationMs: 120_000, state: cutShort ? 'incomplete' : 'complete' });
      const opened = (await getFile(id, { purpose: 'playback' }).expect(200)).body as Buffer;
      expectOpened(opened, sealed.file, sealed.offsets, clear.file, clear.offsets);
      const mid = sealed.offsets[9]! + 100;
      for (const [start, end] of [[mid, mid + 70_000], [sealed.offsets[3]!, sealed.offsets[4]! - 1], [5, 40], [sealed.file.length - 500, sealed.file.length - 1]] as [number, number][]) {
        const part = await getFile(id, { purpose: 'playback' }, `bytes=${start}-${end}`).expect(206);
        expectBytes(part.body, opened.subarray(start, end + 1));
      }
      const download = await getFile(id, { purpose: 'download' }).expect(200);
      expectBytes(download.body, sealed.file);
      expect(download.headers['x-recording-sha256']).toMatch(/^[0-9a-f]{64}$/);
    }
    // Sealing binds each block to its place in its own recording, and a sealed file takes no unsealed block:
    // a block moved in from another recording under the same key, and one written in the clear, both play as damage.
    const victim = writeV2(records, { seal });
    const donor = writeV2(records, { seal });
    const clearOne = writeV2(records);
    const spliced = Buffer.concat([
      victim.file.subarray(0, victim.offsets[3]),
      donor.file.subarray(donor.offsets[3], donor.offsets[4]),
      victim.file.subarray(victim.offsets[4], victim.offsets[6]),
      clearOne.file.subarray(clearOne.offsets[6], clearOne.offsets[7]),
      victim.file.subarray(victim.offsets[7], victim.offsets[8]),
    ]);
    const splicedId = await storeRecording(h, spliced, { technicianId: ana.id, ticketId, durationMs: 120_000, state: 'incomplete' });
    const served = (await getFile(splicedId, { purpose: 'playback' }).expect(200)).body as Buffer;
    const damagedAt = await page.evaluate(async (b64) => {
      const { readRecording, memorySource } = (window as any).rec;
      const r = await readRecording(memorySource(Uint8Array.from(atob(b64), (c) => c.charCodeAt(0)), { chunk: 16 * 1024 }));
      return (r.damaged as { offset: number }[]).map((d) => d.offset);
    }, served.toString('base64'));
    expect(damagedAt).toEqual([victim.offsets[3], victim.offsets[6]]);
    const inNode = parseRecording(spliced, { keyRing: ring });
    expect(inNode.damaged.map((d) => d.offset)).toEqual([victim.offsets[3], victim.offsets[6]]);
    const other = writeV2(records, { seal: { keyId: 'gone', key: randomBytes(32) } });
    const id = await storeRecording(h, other.file, { technicianId: ana.id, ticketId, durationMs: 120_000 });
    const refused = await getFile(id, { purpose: 'playback' }, 'bytes=0-99').expect(409);
    expect(JSON.parse((refused.body as Buffer).toString()).error).toMatchObject({ code: 'RECORDING_KEY_MISSING', message: expect.stringMatching(/key "gone"/) });
    expectBytes((await getFile(id, { purpose: 'download' }).expect(200)).body, other.file);
  }, 60_000);
});
