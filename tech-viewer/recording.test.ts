// Session recording end to end, every part real: x11vnc on Xvfb through the
// repeater (embedded, and as its own process killed mid-session), the server
// on SQLite, the technician's viewer and the recording player in Chromium,
// the terminal client telling the user. Screenshots in artifacts/recording.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execFileSync, spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { ADMIN_PASSWORD, startHarness, type Harness, type Tech } from '../test/server-harness.ts';
import { startXDisplay, type XDisplay } from '../test/x-display.ts';
import { artifactsDir, launchChromium, technicianPage } from '../test/browser.ts';
import { Tunnel } from '../desktop-client/core/tunnel.ts';
import { openViewer } from '../test/help-session-helpers.ts';
import { pixel, seekTo, waitForPixel } from './canvas-pixels.test-helpers.ts';
import { recordingsOf } from './recording.test-helpers.ts';

let h: Harness;
let x: XDisplay;
let browser: Browser;
let ana: Tech;
let eve: Tech;
let admin: Tech;
const tunnels: Tunnel[] = [];
const shots = join(artifactsDir, 'recording');
const RED: [number, number, number] = [0xc0, 0x39, 0x2b];
const BLUE: [number, number, number] = [0x2e, 0x86, 0xc1];
const bearer = (secret: string) => ({ Authorization: `Bearer ${secret}` });

beforeAll(async () => {
  mkdirSync(shots, { recursive: true });
  [h, x, browser] = await Promise.all([startHarness('sqlite', { MAX_ACTIVE_TICKETS_PER_TECH: '20', RECORD_SESSIONS: 'on', RECORD_KEYSTROKES: 'on' }), startXDisplay(), launchChromium()]);
  admin = await h.login('admin', ADMIN_PASSWORD);
  ana = await h.createTechnician(admin, 'ana');
  eve = await h.createTechnician(admin, 'eve');
}, 60_000);

afterAll(async () => {
  await Promise.all(tunnels.map((t) => t.close()));
  await browser?.close();
  await h?.close();
  await x?.stop();
});

const paint = (colour: string): void => void execFileSync('xsetroot', ['-solid', colour], { env: { ...process.env, DISPLAY: x.display } });
const hex = (rgb: number[]) => `#${rgb.map((v) => v.toString(16).padStart(2, '0')).join('')}`;

async function approved(harness: Harness, viewOnly = false) {
  const t = await harness.helpRequest({ requesterName: 'Bob User', hostname: 'bob-pc' });
  await (harness === h ? ana : await techOf(harness)).post(`/api/v1/tickets/${t.id}/accept`).expect(200);
  await harness.api.post(`/api/v1/help-requests/${t.id}/approve`).set(bearer(t.secret)).send({ viewOnly, recordingNoticeShown: true }).expect(200);
  return t;
}

const techs = new Map<Harness, Tech>();
async function techOf(harness: Harness): Promise<Tech> {
  if (harness === h) return ana;
  if (!techs.has(harness)) techs.set(harness, await harness.createTechnician(await harness.login('admin', ADMIN_PASSWORD), 'ana'));
  return techs.get(harness)!;
}

async function openDesktop(harness: Harness, t: { id: number; secret: string }): Promise<Tunnel> {
  const { body } = await harness.api.post(`/api/v1/help-requests/${t.id}/desktop-token`).set(bearer(t.secret)).expect(201);
  const tunnel = new Tunnel({ url: body.url, display: x.display, viewOnly: false, x11vncBinary: 'x11vnc' });
  await tunnel.open();
  tunnels.push(tunnel);
  return tunnel;
}

const loggedInPage = (harness: Harness, path: string, username = 'ana'): Promise<Page> => technicianPage(browser, harness.server.url, path, username, { width: 1280, height: 1000 });

async function openPlayer(harness: Harness, recordingId: string, username = 'ana'): Promise<Page> {
  const page = await loggedInPage(harness, `/recordings/${recordingId}`, username);
  await page.waitForSelector('#player[data-ready="true"][data-key-presses]', { timeout: 20_000 }); // and the background read of the whole file done
  return page;
}

/** A recorded session with a plain websocket viewer (the greeting is enough), ended by the technician. */
async function shortRecordedSession() {
  const t = await approved(h);
  await openDesktop(h, t);
  const viewer = await openViewer(ana, h.server.url, t.id);
  await viewer.greeting;
  await ana.post(`/api/v1/tickets/${t.id}/end`).expect(200);
  await viewer.closed;
  const [rec] = await recordingsOf(h, ana, t.id, 'complete');
  return { t, rec: rec! };
}

describe('session recording and playback', () => {
  it('records a live session; the player shows its last frame, a colour at the time it was painted, and 8× takes about an eighth of the time', async () => {
    paint(hex(x.rootRgb));
    const t = await approved(h);
    const live = await loggedInPage(h, `/tech/${t.id}`);
    expect(await live.locator('#recording-badge').textContent()).toMatch(/Recording/);
    await openDesktop(h, t);
    await live.waitForSelector('#state[data-state="connected"]', { timeout: 20_000 });
    await waitForPixel(live, 900, 700, x.rootRgb);
    await live.waitForTimeout(2_000);
    // Red at a known time, blue two seconds later; typing and a click in between.
    const redAt = Date.now();
    paint(hex(RED));
    await waitForPixel(live, 900, 700, RED);
    await live.waitForTimeout(2_000);
    const box = (await live.locator('#screen canvas').boundingBox())!;
    await live.mouse.click(box.x + box.width * 0.2, box.y + box.height * 0.12);
    await live.keyboard.type('recorded keys');
    await live.keyboard.press('Enter');
    await expect.poll(() => x.typed(), { timeout: 10_000 }).toContain('recorded keys\n');
    paint(hex(BLUE));
    await waitForPixel(live, 900, 700, BLUE);
    await live.waitForTimeout(1_500);
    const samples: [number, number][] = [[900, 700], [200, 90], [20, 20], [1000, 10], [500, 400]];
    const lastFrame = await Promise.all(samples.map(([sx, sy]) => pixel(live, sx, sy)));
    await live.screenshot({ path: join(shots, '1-live-session-recorded.png') });
    await ana.post(`/api/v1/tickets/${t.id}/end`).expect(200);
    await live.waitForSelector('#state[data-state="over"]');
    await live.context().close();

    const [rec] = await recordingsOf(h, ana, t.id, 'complete');
    const meta = (await ana.get(`/api/v1/recordings/${rec!.id}`).expect(200)).body.recording;
    expect(meta).toMatchObject({ ticketId: t.id, state: 'complete', sha256: expect.stringMatching(/^[0-9a-f]{64}$/) });
    expect(meta.bytes).toBeGreaterThan(1000);

    const page = await openPlayer(h, rec!.id);
    const player = page.locator('#player');
    expect(Number(await player.getAttribute('data-key-presses'))).toBeGreaterThanOrEqual(14);
    expect(Number(await player.getAttribute('data-pointer-events'))).toBeGreaterThan(0);
    const duration = Number(await player.getAttribute('data-duration-ms'));
    expect(Math.abs(duration - meta.durationMs)).toBeLessThan(1000);

    // The end: the live session's last frame, sample by sample.
    await seekTo(page, duration);
    for (const [i, [sx, sy]] of samples.entries()) await waitForPixel(page, sx, sy, lastFrame[i]!);
    await page.screenshot({ path: join(shots, '2-player-last-frame.png') });
    // Back to just after red was painted (a restart and fast feed): red, not yet blue.
    const redMs = redAt - meta.startedAt;
    await seekTo(page, redMs + 900);
    await waitForPixel(page, 900, 700, RED);
    await page.screenshot({ path: join(shots, '3-player-seek-red.png') });
    // Further back, before it: the first colour.
    await seekTo(page, Math.max(0, redMs - 600));
    await waitForPixel(page, 900, 700, x.rootRgb);

    // 8× from the start, idle not skipped: about an eighth of the recording's time.
    await page.locator('#skip-idle').uncheck();
    await page.locator('#speed').selectOption('8');
    await seekTo(page, 0);
    const started = Date.now();
    await page.getByRole('button', { name: 'Play' }).click();
    await page.waitForSelector('#player[data-state="ended"]', { timeout: duration });
    const took = Date.now() - started;
    expect(took).toBeGreaterThan(duration / 16);
    expect(took).toBeLessThan(duration / 4 + 1_000);
    await waitForPixel(page, 900, 700, BLUE);
    await page.context().close();

    // The file as stored, as an attachment, its SHA-256 the row's.
    const file = await ana.get(`/api/v1/recordings/${rec!.id}/file`).buffer(true).parse((res, done) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => done(null, Buffer.concat(chunks)));
    }).expect(200);
    expect(file.headers['content-disposition']).toMatch(/^attachment; filename="ticket-\d+-[0-9a-f-]+\.hcrec"$/);
    expect(file.headers['x-content-type-options']).toBe('nosniff');
    expect(createHash('sha256').update(file.body as Buffer).digest('hex')).toBe(meta.sha256);

    // Every playback and download is in the audit log, with who did it.
    const audit = (await admin.get('/api/v1/audit').query({ ticketId: t.id }).expect(200)).body.events as { action: string; actorName: string }[];
    expect(audit.filter((e) => e.action === 'recording.played').length).toBeGreaterThanOrEqual(1);
    expect(audit.filter((e) => e.action === 'recording.downloaded').map((e) => e.actorName)).toEqual(['ana']);
    expect(audit.map((e) => e.action)).toEqual(expect.arrayContaining(['recording.started', 'recording.saved']));
    const approval = (await ana.get(`/api/v1/tickets/${t.id}`).expect(200)).body.timeline.find((e: { action: string }) => e.action === 'ticket.approve');
    expect(approval.detail).toMatchObject({ recordingNoticeShown: true });
  }, 120_000);

  it('a technician who did not hold the ticket gets 403 on the player, the metadata and the file; an administrator may', async () => {
    const { t, rec } = await shortRecordedSession();
    expect((await eve.get(`/api/v1/recordings/${rec.id}`).expect(403)).body.error.code).toBe('FORBIDDEN');
    expect((await eve.get(`/api/v1/recordings/${rec.id}/file`).expect(403)).body.error.code).toBe('FORBIDDEN');
    expect((await eve.get(`/recordings/${rec.id}`)).status).toBe(403);
    expect((await eve.get('/api/v1/recordings/not-a-uuid').expect(400)).body.error.code).toBe('VALIDATION_FAILED');
    await admin.get(`/api/v1/recordings/${rec.id}`).expect(200);
    const audit = (await admin.get('/api/v1/audit').query({ ticketId: t.id }).expect(200)).body.events as { action: string }[];
    expect(audit.filter((e) => e.action === 'recording.downloaded' || e.action === 'recording.played')).toHaveLength(0);
  }, 60_000);

  it('a view-only session plays', async () => {
    paint(hex(BLUE));
    const t = await approved(h, true);
    await openDesktop(h, t);
    const live = await loggedInPage(h, `/tech/${t.id}`);
    await live.waitForSelector('#state[data-state="connected"]', { timeout: 20_000 });
    await waitForPixel(live, 900, 700, BLUE);
    paint(hex(RED));
    await waitForPixel(live, 900, 700, RED);
    await live.waitForTimeout(500);
    await ana.post(`/api/v1/tickets/${t.id}/end`).expect(200);
    await live.context().close();
    const [rec] = await recordingsOf(h, ana, t.id, 'complete');
    const page = await openPlayer(h, rec!.id);
    expect(Number(await page.locator('#player').getAttribute('data-pointer-events'))).toBe(0);
    await seekTo(page, Number(await page.locator('#player').getAttribute('data-duration-ms')));
    await waitForPixel(page, 900, 700, RED);
    await page.context().close();
  }, 60_000);

  it('the terminal client says the session will be recorded before asking; the approval records it', async () => {
    const child = spawn(process.execPath, ['desktop-client/bin/helpdesk-client.js'], {
      env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '/tmp', HELPDESK_SERVER_URL: h.server.url, DISPLAY: x.display, HELPDESK_REQUESTER_NAME: 'Tess Terminal' },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (out += d.toString()));
    try {
      await expect.poll(() => out, { timeout: 20_000 }).toMatch(/Describe the problem: $/);
      child.stdin.write('Recorded, please\n');
      await expect.poll(() => out.match(/Your request is #(\d+)\./)?.[1], { timeout: 20_000 }).toBeTruthy();
      const id = Number(out.match(/Your request is #(\d+)\./)![1]);
      await ana.post(`/api/v1/tickets/${id}/accept`).expect(200);
      await expect.poll(() => out, { timeout: 20_000 }).toMatch(/Ana \(technician\) wants to help you\.\nThis session will be recorded\. .*\nAllow control \[c\], allow view only \[v\], decline \[d\], or decline and don't ask again for Ana \[n\]\? $/);
      child.stdin.write('v\n');
      await expect.poll(() => out, { timeout: 20_000 }).toMatch(/Ana is connecting to your screen/);
      const approval = (await ana.get(`/api/v1/tickets/${id}`).expect(200)).body.timeline.find((e: { action: string }) => e.action === 'ticket.approve');
      expect(approval.detail).toMatchObject({ viewOnly: true, recordingNoticeShown: true });
    } finally {
      child.kill('SIGTERM');
    }
  }, 60_000);
  it('retention: a purge deletes the file, keeps the row, and the player says the recording was purged', async () => {
    const { t } = await shortRecordedSession();
    const files = () => readdirSync(h.recordingsDir, { recursive: true }).map(String).filter((f) => f.endsWith('.hcrec'));
    const before = files();
    expect(before.length).toBeGreaterThan(0);
    // The purge runs 91 days on (past RECORDING_RETENTION_DAYS, 90); the clock comes back so the web sessions stay valid.
    h.clock.advance(91 * 24 * 3_600_000);
    try {
      expect(await h.server.housekeeping()).toBe(true);
    } finally {
      h.clock.advance(-91 * 24 * 3_600_000);
    }
    expect(files()).toEqual([]);
    // The same round purged the web sessions that had idled out by then: log in again.
    ana = await h.login('ana', 'ana-password-123');
    admin = await h.login('admin', ADMIN_PASSWORD);
    const [rec] = await recordingsOf(h, ana, t.id, 'purged');
    const meta = (await ana.get(`/api/v1/recordings/${rec!.id}`).expect(200)).body.recording;
    expect(meta).toMatchObject({ state: 'purged', purgeReason: 'retention', sha256: expect.stringMatching(/^[0-9a-f]{64}$/) });
    expect((await ana.get(`/api/v1/recordings/${rec!.id}/file`).expect(410)).body.error.code).toBe('RECORDING_PURGED');
    const page = await loggedInPage(h, `/recordings/${rec!.id}`);
    expect(await page.locator('#purged').textContent()).toMatch(/This recording was deleted on \d{2}\/\d{2}\/\d{4} \(its retention period was over\)/);
    expect(await page.locator('#player').count()).toBe(0);
    await page.screenshot({ path: join(shots, '5-purged.png') });
    await page.context().close();
    const audit = (await admin.get('/api/v1/audit').query({ ticketId: t.id }).expect(200)).body.events as { action: string }[];
    expect(audit.map((e) => e.action)).toContain('recording.purged');
  }, 60_000);
});

describe('recording with the repeater in its own process', () => {
  let p: Harness;
  beforeAll(async () => {
    p = await startHarness('sqlite', { RECORD_SESSIONS: 'on' }, { repeater: 'process' });
  }, 60_000);
  afterAll(async () => {
    await p?.close();
  });

  it('a session cut short by a killed repeater leaves an incomplete recording that plays up to where it stopped', async () => {
    paint(hex(x.rootRgb));
    const tech = await techOf(p);
    const t = await approved(p);
    await openDesktop(p, t);
    const live = await loggedInPage(p, `/tech/${t.id}`);
    await live.waitForSelector('#state[data-state="connected"]', { timeout: 20_000 });
    await waitForPixel(live, 900, 700, x.rootRgb);
    paint(hex(RED));
    await waitForPixel(live, 900, 700, RED);
    await live.waitForTimeout(2_500); // blocks are sealed every second: red is on disk
    await p.repeaterProcess!.kill();
    await live.context().close();
    const [rec] = await recordingsOf(p, tech, t.id, 'incomplete');
    const meta = (await tech.get(`/api/v1/recordings/${rec!.id}`).expect(200)).body.recording;
    expect(meta.problem).toMatch(/repeater node carrying the session was lost/);
    const dir = p.recordingsDir;
    expect(existsSync(dir)).toBe(true);
    const page = await openPlayer(p, rec!.id);
    expect(await page.locator('#player-status').textContent()).toMatch(/cut short/);
    await seekTo(page, Number(await page.locator('#player').getAttribute('data-duration-ms')));
    await waitForPixel(page, 900, 700, RED);
    await page.screenshot({ path: join(shots, '4-player-incomplete.png') });
    await page.context().close();
  }, 90_000);
});
