// The recording player in real Chromium on files the test writes: a two-hour
// synthetic RFB session (the screen at any time is known) read by HTTP Range,
// seeks landing on the right frame, a drag that plays one seek, not one per
// input event; a version 1 file, a sealed one, one cut short, one with a
// damaged block, one recorded without keystrokes. Time to first frame, the
// seek to the end and the tab's heap are printed, not asserted.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser, CDPSession, Page } from 'playwright-core';
import { ADMIN_PASSWORD, TEST_RECORDING_KEY, startHarness, type Harness, type Tech } from '../test/server-harness.ts';
import { launchChromium, technicianPage } from '../test/browser.ts';
import { parseKeyRing } from '../lib/sealed.ts';
import { GREY, expectedAt, rectX, storeRecording, syntheticSession, writeV1, writeV2 } from './recording.test-helpers.ts';

let h: Harness;
let browser: Browser;
let ana: Tech;
let ticketId: number;
const COLUMNS = [0, 1, 2, 3].map((r) => rectX(r) + 40);

beforeAll(async () => {
  [h, browser] = await Promise.all([startHarness('sqlite'), launchChromium()]);
  const admin = await h.login('admin', ADMIN_PASSWORD);
  ana = await h.createTechnician(admin, 'ana');
  ticketId = (await h.acceptedRequest(ana)).id;
}, 60_000);

afterAll(async () => {
  await browser?.close();
  await h?.close();
});

/** The screen's four rect columns (y 25), as the canvas holds them. */
function columns(page: Page): Promise<number[][]> {
  return page.evaluate((xs) => {
    const canvas = document.querySelector('#screen canvas') as HTMLCanvasElement | null;
    if (!canvas || canvas.width === 0) return xs.map(() => [-1, -1, -1]);
    const ctx = canvas.getContext('2d')!;
    return xs.map((x) => Array.from(ctx.getImageData(x, 25, 1, 1).data.slice(0, 3)));
  }, COLUMNS);
}

/** Waits until the screen is the one recorded at `ms`; how long that took. */
async function showsFrameAt(page: Page, ms: number, timeout = 60_000): Promise<number> {
  const started = Date.now();
  const want = COLUMNS.map((x) => expectedAt(ms, x));
  let got: number[][] = [];
  while (Date.now() - started < timeout) {
    got = await columns(page);
    if (JSON.stringify(got) === JSON.stringify(want)) return Date.now() - started;
    await page.waitForTimeout(20);
  }
  throw new Error(`at ${ms} ms the screen shows ${JSON.stringify(got)}, not ${JSON.stringify(want)}`);
}

/** Drags the seek bar: every position an input event, in one go. */
async function drag(page: Page, positions: number[]): Promise<void> {
  await page.evaluate((list) => {
    const seek = document.getElementById('seek') as HTMLInputElement;
    for (const to of list) {
      seek.value = String(to);
      seek.dispatchEvent(new Event('input', { bubbles: true }));
    }
  }, positions);
}

async function openPlayer(id: string): Promise<Page> {
  const page = await technicianPage(browser, h.server.url, `/recordings/${id}`, 'ana', { width: 1024, height: 800 });
  await page.waitForSelector('#player[data-ready="true"]', { timeout: 30_000 });
  return page;
}

async function heapOf(cdp: CDPSession): Promise<string> {
  await cdp.send('HeapProfiler.collectGarbage');
  const u = (await cdp.send('Runtime.getHeapUsage')) as { usedSize: number; totalSize: number; backingStorageSize?: number };
  const mib = (n: number) => `${(n / 1024 / 1024).toFixed(1)} MiB`;
  return `JS heap used ${mib(u.usedSize)} of ${mib(u.totalSize)}, array buffers ${u.backingStorageSize === undefined ? 'n/a' : mib(u.backingStorageSize)}`;
}

const seekPositions = (page: Page) => page.evaluate(() => (window as any).__player.seeksRun as number);

describe('the recording player', () => {
  it('shows the first frame on open, before Play, when the desktop painted after the handshake (an update that drew nothing before it); a 1280×800 recording fits a 1280×900 window', async () => {
    const screen = { width: 1280, height: 800 };
    const { file } = writeV2(syntheticSession(6, { screen, firstFrameMs: 900, emptyUpdateMs: 300 }));
    const id = await storeRecording(h, file, { technicianId: ana.id, ticketId, durationMs: 6_000 });
    const page = await technicianPage(browser, h.server.url, `/recordings/${id}`, 'ana', { width: 1280, height: 900 });
    await page.waitForSelector('#player[data-ready="true"]', { timeout: 30_000 });
    // Not played: the grey first picture is on the stage, and the clock waits at its time.
    expect(await page.locator('#play').getAttribute('aria-pressed')).toBe('false');
    await expect.poll(async () => JSON.stringify(await columns(page)), { timeout: 10_000 }).toBe(JSON.stringify(COLUMNS.map(() => GREY)));
    expect(Number(await page.locator('#player').getAttribute('data-position'))).toBeGreaterThanOrEqual(900);
    // The whole picture is in the window, scaled down: nothing to scroll to see it.
    const box = (await page.locator('#screen canvas').boundingBox())!;
    expect(box.y).toBeGreaterThanOrEqual(0);
    expect(box.y + box.height).toBeLessThanOrEqual(900);
    expect(box.x + box.width).toBeLessThanOrEqual(1280);
    expect(box.width / box.height).toBeCloseTo(1280 / 800, 1);
    await page.context().close();
  }, 60_000);

  it('a two-hour recording: the first frame, the end, and sampled times land on the right frame; a drag plays one seek', async () => {
    const seconds = 2 * 3600;
    const { file, blocks } = writeV2(syntheticSession(seconds));
    const id = await storeRecording(h, file, { technicianId: ana.id, ticketId, durationMs: seconds * 1000 });
    const page = await openPlayer(id);
    const cdp = await page.context().newCDPSession(page);
    const firstFrameAt = await page.waitForFunction(() => {
      const canvas = document.querySelector('#screen canvas') as HTMLCanvasElement | null;
      if (!canvas || canvas.width === 0) return false;
      const px = canvas.getContext('2d')!.getImageData(200, 150, 1, 1).data;
      return px[0] === 0x40 && px[2] === 0x40 ? performance.now() : false;
    }, null, { timeout: 30_000, polling: 10 });
    const ttff = Number(await firstFrameAt.jsonValue());
    const duration = Number(await page.locator('#player').getAttribute('data-duration-ms'));
    expect(duration).toBe(seconds * 1000 + 7); // the last record: a key press just after the last second

    const started = Date.now();
    await drag(page, [duration]);
    const seekToEnd = await showsFrameAt(page, duration);
    console.log(`two-hour recording (${(file.length / 1024).toFixed(0)} KiB, ${blocks.length} blocks): first frame ${ttff.toFixed(0)} ms after navigation; seek to the end ${seekToEnd} ms (${Date.now() - started} ms with the check); ${await heapOf(cdp)}`);

    // Back (RFB again from the first block), then forward, then back a little.
    for (const ms of [1_234_567, 3_600_500, 7_100_000, 10_500, 7_199_999]) {
      const t0 = Date.now();
      await drag(page, [ms]);
      const took = await showsFrameAt(page, ms);
      console.log(`  seek to ${ms} ms: ${took} ms (${Date.now() - t0} ms with the check)`);
    }

    // A drag of 60 positions in one go: one seek runs (the latest position), not sixty.
    const before = await seekPositions(page);
    const path = Array.from({ length: 60 }, (_, i) => 1_000_000 + i * 50_000);
    await drag(page, path);
    await showsFrameAt(page, path.at(-1)!);
    expect((await seekPositions(page)) - before).toBeLessThanOrEqual(2);
    await expect.poll(() => page.locator('#player').getAttribute('data-key-presses'), { timeout: 60_000 }).toBe(String(seconds / 60));
    expect(await page.locator('#player').getAttribute('data-pointer-events')).toBe(String(seconds / 10));
    expect(await page.locator('#key-marks span').count()).toBeGreaterThan(100);
    console.log(`  after the background read of the whole file: ${await heapOf(cdp)}`);
    await page.context().close();
  }, 300_000);

  it('plays a version 1 file, a sealed file, and one cut short; says a damaged block was skipped and that keys were not recorded', async () => {
    const session = syntheticSession(40);
    const ring = parseKeyRing(TEST_RECORDING_KEY, 'TEST_RECORDING_KEY');
    const v1 = writeV1(session);
    const sealed = writeV2(session, { seal: { keyId: ring.current.id, key: ring.current.key } }).file;
    const cut = writeV2(session, { cutShort: 300, keystrokes: false }).file;
    const good = writeV2(session);
    const damaged = Buffer.from(good.file);
    damaged[good.offsets[20]! + 28 + 3]! ^= 0x20;

    for (const [name, file, state] of [['v1', v1, 'complete'], ['sealed', sealed, 'complete'], ['cut', cut, 'incomplete'], ['damaged', damaged, 'complete']] as const) {
      const id = await storeRecording(h, file, { technicianId: ana.id, ticketId, durationMs: name === 'cut' ? 60_000 : 40_000, state });
      const page = await openPlayer(id);
      const player = page.locator('#player');
      await showsFrameAt(page, 0);
      await expect.poll(() => player.getAttribute('data-key-presses'), { timeout: 20_000 }).not.toBeNull();
      const duration = Number(await player.getAttribute('data-duration-ms'));
      expect(duration, name).toBe(40_005); // the last record: a pointer event just after the last second
      await drag(page, [duration]);
      await showsFrameAt(page, duration);
      await drag(page, [17_500]);
      await showsFrameAt(page, 17_500);
      const words = await page.locator('#player-status').textContent();
      if (name === 'cut') {
        expect(words).toMatch(/cut short/);
        expect(await player.getAttribute('data-keystrokes')).toBe('not-recorded');
        expect(await page.locator('#keys-note').textContent()).toMatch(/Keys not recorded/);
      } else expect(await player.getAttribute('data-keystrokes')).toBeNull();
      if (name === 'damaged') {
        expect(words).toMatch(/1 damaged part\(s\) of the recording could not be read and were skipped \(the first near 0:20\)/);
        expect(await player.getAttribute('data-damaged-blocks')).toBe('1');
      } else expect(await player.getAttribute('data-damaged-blocks'), name).toBe('0');
      await page.context().close();
    }
  }, 120_000);
});
