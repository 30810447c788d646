// First sight benchmark (not a test, issue 31): what a technician waits for in
// Chromium (playwright-core on Debian's /usr/bin/chromium), against the server
// as its own process (SQLite, recording on) and a real x11vnc on Xvfb:
//   - request → row visible in an open queue page: from just before the POST
//     to a MutationObserver in the page seeing the row;
//   - "Open viewer" (the navigation to /tech/:id) → first non-black frame: a
//     requestAnimationFrame loop reads the canvas; where the time went is read
//     from the page (resource timing of the token and noVNC, the WebSocket's
//     open and first message, RFB's connect);
//   - player open → first frame: a recording of those sessions, opened.
// RUNS runs each, every wait bounded (WAIT_MS), and the whole run too
// (TOTAL_MS). Medians and p90; the driver's own CPU beside the server's and the
// rest (Chromium, x11vnc). Last line: one JSON object.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { launchChromium } from '../test/browser.ts';
import { startServerProcess } from '../test/server-process.ts';
import { ADMIN_PASSWORD, loginAt, type Tech } from '../test/http-clients.ts';
import { startXDisplay } from '../test/x-display.ts';
import { Tunnel } from '../desktop-client/core/tunnel.ts';
import { treeCpuSeconds } from './proc-cpu.ts';
import { driverCpuSeconds, freePort, machineLine, median, percentile, round, withDeadline } from './bench-kit.ts';

const RUNS = Number(process.argv.find((a) => a.startsWith('--runs='))?.slice(7) ?? 20);
const DETAIL = process.argv.includes('--detail');
const TRACE = process.argv.find((a) => a.startsWith('--trace='))?.slice(8);
const WAIT_MS = 10_000;
const TOTAL_MS = 15 * 60_000;
const startedAt = Date.now();
const inTime = (what: string): void => {
  if (Date.now() - startedAt > TOTAL_MS) throw new Error(`the benchmark ran past ${TOTAL_MS} ms at ${what}`);
};

/** Page side: marks a row's arrival, and the first non-black frame of the canvas, on the wall clock (ms, fractional). */
const PAGE_PROBES = `
  window.__wall = () => performance.timeOrigin + performance.now();
  window.__rows = {};
  new MutationObserver((list) => {
    for (const m of list) for (const n of m.addedNodes) if (n.nodeType === 1) {
      for (const tr of n.matches('tr[data-ticket-id]') ? [n] : n.querySelectorAll('tr[data-ticket-id]')) window.__rows[tr.dataset.ticketId] ??= window.__wall();
    }
  }).observe(document, { childList: true, subtree: true });
  window.__marks = {};
  window.__wire = [];
  const NativeWebSocket = window.WebSocket;
  // A Proxy, not a subclass: noVNC checks the socket's own shape.
  window.WebSocket = new Proxy(NativeWebSocket, {
    construct(target, args) {
      const ws = new target(...args);
      window.__marks.wsCreated ??= window.__wall();
      ws.addEventListener('open', () => (window.__marks.wsOpen ??= window.__wall()));
      ws.addEventListener('message', (e) => {
        window.__marks.wsFirstMessage ??= window.__wall();
        if (window.__wire.length < 16) window.__wire.push(['in', window.__wall(), e.data.byteLength ?? e.data.length]);
      });
      const send = ws.send.bind(ws);
      ws.send = (data) => {
        if (window.__wire.length < 16) window.__wire.push(['out', window.__wall(), data.byteLength ?? data.length]);
        send(data);
      };
      return ws;
    },
  });
  const frame = () => {
    if (!window.__marks.connected && document.querySelector('#state[data-state="connected"]')) window.__marks.connected = window.__wall();
    const c = document.querySelector('#screen canvas');
    if (c && c.width > 0) {
      const d = c.getContext('2d').getImageData(c.width >> 1, c.height >> 1, 1, 1).data;
      if (d[3] > 0 && d[0] + d[1] + d[2] > 0) return void (window.__firstFrame = window.__wall());
    }
    requestAnimationFrame(frame);
  };
  requestAnimationFrame(frame);
`;

const wall = (): number => performance.timeOrigin + performance.now();
const stats = (xs: number[]) => ({ p50: round(median(xs), 1), p90: round(percentile(xs, 90), 1), n: xs.length });

/** Waits for the page's `window.__firstFrame` (no key) or `window.__rows[key]`: the time it was seen, on the wall clock. */
async function waitFor(page: Page, rowKey: string | null, what: string): Promise<number> {
  const seen = (key: string | null) => {
    const w = window as unknown as { __firstFrame?: number; __rows: Record<string, number> };
    return key === null ? w.__firstFrame : w.__rows[key];
  };
  const handle = await withDeadline(page.waitForFunction(seen, rowKey, { timeout: WAIT_MS, polling: 'raf' }), WAIT_MS + 1000, what);
  return (await handle.jsonValue()) as number;
}

async function loggedIn(browser: Browser, url: string, path: string): Promise<Page> {
  const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
  await context.addInitScript({ content: PAGE_PROBES });
  const page = await context.newPage();
  await page.goto(`${url}${path}`);
  await page.locator('#username').fill('ana');
  await page.locator('#password').fill('ana-password-123');
  await page.locator('#password').press('Enter');
  await page.waitForURL(`**${path}`);
  return page;
}

const dir = mkdtempSync(join(tmpdir(), 'hd-ui-bench-'));
const port = await freePort();
const server = await startServerProcess(port, `sqlite:${join(dir, 'h.db')}`, { RECORD_SESSIONS: 'on', MAX_ACTIVE_TICKETS_PER_TECH: '1000', TICKET_CREATE_RATE_PER_MINUTE: '10000', RECORDINGS_DIR: join(dir, 'rec') });
const [x, browser] = await Promise.all([startXDisplay(), launchChromium()]);
const tunnels: Tunnel[] = [];
try {
  const admin = await loginAt(server.url, 'admin', ADMIN_PASSWORD);
  await admin.post('/api/v1/technicians', { username: 'ana', displayName: 'Ana', role: 'technician', password: 'ana-password-123' }).expect(201);
  const ana: Tech = await loginAt(server.url, 'ana', 'ana-password-123');
  const desktopApi = async (path: string, secret: string | null, body: object = {}): Promise<Record<string, unknown>> => {
    const res = await fetch(`${server.url}/api/v1/help-requests${path}`, { method: 'POST', headers: { 'content-type': 'application/json', ...(secret ? { authorization: `Bearer ${secret}` } : {}) }, body: JSON.stringify(body) });
    if (!res.ok) throw new Error(`POST ${path}: ${res.status} ${await res.text()}`);
    return (await res.json()) as Record<string, unknown>;
  };
  const request = async (name: string) => {
    const b = await desktopApi('', null, { requesterName: name, username: 'bob', hostname: 'bob-pc', os: 'Debian 12', description: 'bench' });
    return { id: b.id as number, secret: b.clientSecret as string };
  };
  console.log(`UI benchmark: ${machineLine()}; ${RUNS} runs each; Chromium ${browser.version()}`);
  const cpu0 = { driver: driverCpuSeconds(), server: treeCpuSeconds(server.child.pid!), all: treeCpuSeconds(process.pid) };

  // 1. Request → row in an open queue page.
  const queue = await loggedIn(browser, server.url, '/queue');
  await queue.waitForSelector('body[data-live="on"]', { timeout: WAIT_MS });
  const rowMs: number[] = [];
  for (let i = 0; i < RUNS; i++) {
    inTime('queue');
    const t0 = wall();
    const t = await request(`Queue ${i}`);
    const seen = await waitFor(queue, String(t.id), `row ${t.id}`);
    rowMs.push(seen - t0);
    await desktopApi(`/${t.id}/cancel`, t.secret);
    await queue.waitForTimeout(150);
  }
  await queue.context().close();

  // 2. "Open viewer" → first non-black frame, with where the time went.
  const frameMs: number[] = [];
  const parts: Record<string, number[]> = { techPageJs: [], novncLoaded: [], token: [], wsCreated: [], wsOpen: [], wsFirstMessage: [], connected: [] };
  const recorded: number[] = [];
  const mine = await loggedIn(browser, server.url, '/mine');
  for (let i = 0; i < RUNS; i++) {
    inTime('viewer');
    const t = await request(`Viewer ${i}`);
    await ana.post(`/api/v1/tickets/${t.id}/accept`).expect(200);
    await desktopApi(`/${t.id}/approve`, t.secret, { viewOnly: false, recordingNoticeShown: true });
    const { url } = (await desktopApi(`/${t.id}/desktop-token`, t.secret)) as { url: string };
    const tunnel = new Tunnel({ url, display: x.display, viewOnly: false, x11vncBinary: 'x11vnc' });
    await withDeadline(tunnel.open(), WAIT_MS, 'desktop tunnel');
    tunnels.push(tunnel);
    if (TRACE && i === 2) await browser.startTracing(mine, { path: TRACE, categories: ['devtools.timeline', 'v8.execute', 'blink', 'loading'] });
    const t0 = wall();
    await mine.goto(`${server.url}/tech/${t.id}`);
    const first = await waitFor(mine, null, `first frame ${t.id}`).catch(async (err: unknown) => {
      throw new Error(`no frame; the page says: ${await mine.locator('#state').textContent().catch((_gone: unknown) => '?')}`, { cause: err });
    });
    frameMs.push(first - t0);
    if (TRACE && i === 2) await browser.stopTracing();
    // No functions declared inside: tsx names them with a helper the page does not have.
    const marks = await mine.evaluate((names) => {
      const w = window as unknown as { __marks: Record<string, number> };
      const entries = performance.getEntriesByType('resource') as PerformanceResourceTiming[];
      const out: Record<string, number> = { wsCreated: w.__marks.wsCreated ?? NaN, wsOpen: w.__marks.wsOpen ?? NaN, wsFirstMessage: w.__marks.wsFirstMessage ?? NaN, connected: w.__marks.connected ?? NaN };
      for (const [key, part] of names) out[key] = performance.timeOrigin + (entries.find((e) => e.name.includes(part))?.responseEnd ?? NaN);
      return out;
    }, [['token', '/viewer-token'], ['novncLoaded', '/vendor/novnc/core/rfb.js'], ['techPageJs', '/tech-assets/tech-page.js']] as [string, string][]);
    for (const [k, v] of Object.entries(marks)) if (Number.isFinite(v)) parts[k]!.push(v - t0);
    if (DETAIL) {
      const detail = await mine.evaluate(() => {
        const w = window as unknown as { __wire: [string, number, number][] };
        const o = performance.timeOrigin;
        const nav = performance.getEntriesByType('navigation')[0] as PerformanceNavigationTiming;
        const res = performance.getEntriesByType('resource') as PerformanceResourceTiming[];
        const tok = res.find((e) => e.name.includes('/viewer-token'));
        const novnc = res.filter((e) => e.name.includes('/vendor/novnc/'));
        return {
          navStart: o, htmlFirstByte: o + (nav.responseStart ?? NaN), htmlEnd: o + (nav.responseEnd ?? NaN), domInteractive: o + (nav.domInteractive ?? NaN),
          tokenStart: o + (tok?.startTime ?? NaN), tokenRequest: o + (tok?.requestStart ?? NaN), tokenFirstByte: o + (tok?.responseStart ?? NaN), tokenEnd: o + (tok?.responseEnd ?? NaN),
          novncFirstStart: Math.min(...novnc.map((e) => o + e.startTime)), novncLastEnd: Math.max(...novnc.map((e) => o + e.responseEnd)), novncCount: novnc.length,
          wire: w.__wire,
          others: res.filter((e) => !e.name.includes('/vendor/novnc/')).map((e) => [e.name.replace(/^https?:\/\/[^/]+/, ''), o + e.startTime, o + e.requestStart, o + e.responseStart, o + e.responseEnd]),
          domContentLoaded: o + nav.domContentLoadedEventStart,
        };
      });
      const rel = (x: number) => round(x - t0, 1);
      const { wire, novncCount, others, ...times } = detail;
      console.log(`  run ${i}: frame ${rel(first)} ms; ` + Object.entries({ ...times, ...marks }).map(([k, v]) => `${k} ${rel(v)}`).join(', ') + `; novnc ${novncCount}`);
      for (const [name, ...at] of others) console.log(`    ${name}: ${at.map((x) => rel(x as number)).join(' ')}`);
      console.log(`    wire: ${wire.map(([dir, at, n]) => `${dir === 'in' ? '<' : '>'}${n}@${rel(at)}`).join(' ')}`);
    }
    await ana.post(`/api/v1/tickets/${t.id}/end`).expect(200);
    await tunnel.close();
    recorded.push(t.id);
  }
  await mine.context().close();

  // 3. Player open → first frame (the recordings of the viewer runs).
  const playerMs: number[] = [];
  let recordingId: string | null = null;
  for (let tries = 0; tries < 100 && !recordingId; tries++) {
    const { body } = await ana.get(`/api/v1/tickets/${recorded.at(-1)}`).expect(200);
    recordingId = (body.recordings as { id: string; state: string }[]).find((r) => r.state === 'complete')?.id ?? null;
    if (!recordingId) await new Promise((r) => setTimeout(r, 100));
  }
  let playerMisses = 0;
  if (recordingId) {
    const player = await loggedIn(browser, server.url, `/recordings/${recordingId}`);
    for (let i = 0; i < RUNS; i++) {
      inTime('player');
      const t0 = wall();
      await player.goto(`${server.url}/recordings/${recordingId}`);
      const first = await waitFor(player, null, 'player first frame').catch((_noFrame: unknown) => null);
      if (first === null) {
        playerMisses += 1;
        console.log(`  player open ${i}: no frame; it says: ${await player.locator('#player-status').textContent()} ${JSON.stringify(await player.locator('#player').evaluate((el) => ({ ...(el as HTMLElement).dataset })))}`);
      }
      else playerMs.push(first - t0);
    }
    await player.context().close();
  }

  const cpu = { driver: driverCpuSeconds() - cpu0.driver, server: treeCpuSeconds(server.child.pid!) - cpu0.server, all: treeCpuSeconds(process.pid) - cpu0.all };
  const q = stats(rowMs);
  const f = stats(frameMs);
  const p = stats(playerMs);
  console.log(`request → row in an open queue: median ${q.p50} ms, p90 ${q.p90} ms (${q.n} runs)`);
  console.log(`"Open viewer" → first non-black frame: median ${f.p50} ms, p90 ${f.p90} ms (${f.n} runs); medians after the navigation:`);
  for (const [k, v] of Object.entries(parts)) console.log(`  ${k.padEnd(15)} ${v.length ? `${round(median(v), 1)} ms` : 'n/a'}`);
  console.log(`player open → first frame: median ${p.p50} ms, p90 ${p.p90} ms (${p.n} runs${playerMisses ? `, ${playerMisses} showed no frame within ${WAIT_MS} ms` : ''})`);
  console.log(`CPU: driver (this Node) ${round(cpu.driver, 2)} s, server ${round(cpu.server, 2)} s, the rest (Chromium, x11vnc, Xvfb) ${round(cpu.all - cpu.driver - cpu.server, 2)} s`);
  console.log(
    JSON.stringify({
      runs: RUNS,
      queueRowP50Ms: q.p50,
      queueRowP90Ms: q.p90,
      firstFrameP50Ms: f.p50,
      firstFrameP90Ms: f.p90,
      playerFirstFrameP50Ms: p.p50,
      playerFirstFrameP90Ms: p.p90,
      playerMisses,
      driverCpuS: round(cpu.driver, 2),
      serverCpuS: round(cpu.server, 2),
    }),
  );
} finally {
  await Promise.all(tunnels.map((t) => t.close()));
  await browser.close();
  await x.stop();
  server.child.kill('SIGTERM');
  await withDeadline(server.exited, 10_000, 'server exit').catch((_slow: unknown) => server.child.kill('SIGKILL'));
}
process.exit(0);
