// The viewer on a 390×844 phone in Spanish and on a 1280×900 window (issue 31),
// against a real x11vnc on Xvfb relayed by the real server: the remote screen
// takes the viewport, a tap reaches the desktop, the keyboard button and the
// keys menu type on it, a pinch zooms, chat, files and people live in a drawer; after
// the end the recording badge goes and the chat stays readable; on a window the
// side column never covers the screen and the status line is whole; axe finds
// nothing, light and dark.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import type { Browser, BrowserContextOptions, Page } from 'playwright-core';
import { ADMIN_PASSWORD, startHarness, type Harness, type Tech } from '../test/server-harness.ts';
import { startXDisplay, type XDisplay } from '../test/x-display.ts';
import { artifactsDir, launchChromium } from '../test/browser.ts';
import { pixel } from '../test/viewer-canvas.ts';
import { Tunnel } from '../desktop-client/core/tunnel.ts';

const axeSource = readFileSync(createRequire(import.meta.url).resolve('axe-core/axe.min.js'), 'utf8');
const shots = join(artifactsDir, 'phone-viewer');
const bearer = (secret: string) => ({ Authorization: `Bearer ${secret}` });
const PHONE: BrowserContextOptions = { viewport: { width: 390, height: 844 }, isMobile: true, hasTouch: true, deviceScaleFactor: 2, locale: 'es-ES', bypassCSP: true };
const WINDOW: BrowserContextOptions = { viewport: { width: 1280, height: 900 }, locale: 'zh-CN', bypassCSP: true };

let h: Harness;
let x: XDisplay;
let browser: Browser;
let ana: Tech;
const tunnels: Tunnel[] = [];

beforeAll(async () => {
  mkdirSync(shots, { recursive: true });
  [h, x, browser] = await Promise.all([startHarness('sqlite', { MAX_ACTIVE_TICKETS_PER_TECH: '20', RECORD_SESSIONS: 'on' }), startXDisplay(), launchChromium()]);
  ana = await h.createTechnician(await h.login('admin', ADMIN_PASSWORD), 'ana');
}, 60_000);

afterAll(async () => {
  await Promise.all(tunnels.map((t) => t.close()));
  await browser?.close();
  await h?.close();
  await x?.stop();
});

async function signedIn(options: BrowserContextOptions, path: string): Promise<Page> {
  const page = await (await browser.newContext(options)).newPage();
  await page.goto(`${h.server.url}${path}`);
  await page.locator('#username').fill('ana');
  await page.locator('#password').fill('ana-password-123');
  await page.locator('#password').press('Enter');
  await page.waitForURL(`**${path}`);
  return page;
}

async function openDesktop(t: { id: number; secret: string }): Promise<void> {
  const { body } = await h.api.post(`/api/v1/help-requests/${t.id}/desktop-token`).set(bearer(t.secret)).expect(201);
  const tunnel = new Tunnel({ url: body.url, display: x.display, viewOnly: false, x11vncBinary: 'x11vnc' });
  await tunnel.open();
  tunnels.push(tunnel);
}

const approve = (t: { id: number; secret: string }) => h.api.post(`/api/v1/help-requests/${t.id}/approve`).set(bearer(t.secret)).send({ viewOnly: false, recordingNoticeShown: true }).expect(200);

async function axeViolations(page: Page): Promise<string[]> {
  if (!(await page.evaluate(() => 'axe' in window))) await page.addScriptTag({ content: axeSource });
  const result = await page.evaluate(async () => {
    const axe = (window as unknown as { axe: { run: (ctx: Document, opts: object) => Promise<{ violations: { id: string; nodes: { target: string[] }[] }[] }> } }).axe;
    return axe.run(document, { resultTypes: ['violations'] });
  });
  return result.violations.map((v) => `${v.id}: ${v.nodes.map((n) => n.target.join(' ')).join(' | ')}`);
}

async function axeLightAndDark(page: Page, name: string): Promise<void> {
  for (const colorScheme of ['light', 'dark'] as const) {
    await page.emulateMedia({ colorScheme });
    expect(await axeViolations(page), `${name} ${colorScheme}`).toEqual([]);
    await page.screenshot({ path: join(shots, `${name}-${colorScheme}.png`) });
  }
  await page.emulateMedia({ colorScheme: 'light' });
}

async function waitForPixel(page: Page, px: number, py: number, rgb: number[]): Promise<void> {
  await expect.poll(async () => (await pixel(page, px, py)).every((v, i) => Math.abs(v - rgb[i]!) <= 2), { timeout: 15_000 }).toBe(true);
}

/** Where the page shows framebuffer point (fx, fy), in page coordinates. */
async function onPage(page: Page, fx: number, fy: number): Promise<{ x: number; y: number }> {
  const box = (await page.locator('#screen canvas').boundingBox())!;
  const [w, hh] = await page.evaluate(() => {
    const c = document.querySelector('#screen canvas') as HTMLCanvasElement;
    return [c.width, c.height];
  });
  return { x: box.x + (fx * box.width) / w!, y: box.y + (fy * box.height) / hh! };
}

const mouseAt = (): string => execFileSync('xdotool', ['getmouselocation'], { env: { ...process.env, DISPLAY: x.display } }).toString();

/** Two fingers from `from` apart to `to` apart around (cx, cy), through CDP touch events. */
async function pinch(page: Page, cx: number, cy: number, from: number, to: number): Promise<void> {
  const cdp = await page.context().newCDPSession(page);
  const points = (d: number) => [{ x: cx - d / 2, y: cy, id: 0 }, { x: cx + d / 2, y: cy, id: 1 }];
  await cdp.send('Input.dispatchTouchEvent', { type: 'touchStart', touchPoints: points(from) });
  for (let i = 1; i <= 10; i++) {
    await cdp.send('Input.dispatchTouchEvent', { type: 'touchMove', touchPoints: points(from + ((to - from) * i) / 10) });
    await page.waitForTimeout(20);
  }
  await cdp.send('Input.dispatchTouchEvent', { type: 'touchEnd', touchPoints: [] });
  await cdp.detach();
}

describe('the viewer on a phone and on a window', () => {
  it('on a 390×844 phone in Spanish: the screen takes the viewport, a tap reaches the desktop, the keyboard button types, a pinch zooms', async () => {
    const t = await h.helpRequest({ requesterName: 'Bea Movil', hostname: 'bea-pc' });
    await ana.post(`/api/v1/tickets/${t.id}/accept`).expect(200);
    await approve(t);
    await openDesktop(t);
    const page = await signedIn(PHONE, `/tech/${t.id}`);
    await page.waitForSelector('#state[data-state="connected"]', { timeout: 20_000 });
    expect(await page.locator('#state').textContent()).toBe('Conectado al escritorio de Bea Movil.');
    await waitForPixel(page, 200, 90, x.xtermRgb);
    // The remote screen takes the viewport below one row of controls; the picture fills its width.
    const area = (await page.locator('#screen').boundingBox())!;
    expect(area.height).toBeGreaterThanOrEqual(600);
    const fitted = (await page.locator('#screen canvas').boundingBox())!;
    expect(fitted.width).toBeGreaterThanOrEqual(380);
    const bar = (await page.locator('#toolbar').boundingBox())!;
    expect(bar.height).toBeLessThan(60);
    expect(await page.locator('.chat').isVisible()).toBe(false);
    await page.screenshot({ path: join(shots, '1-phone-connected.png') });

    // A tap on the xterm moves the remote pointer there and clicks: keys then go to it (no window manager).
    const target = await onPage(page, 200, 90);
    await page.touchscreen.tap(target.x, target.y);
    await expect.poll(mouseAt, { timeout: 10_000 }).toMatch(/^x:(19\d|20\d|21\d) y:(8\d|9\d|10\d) /);
    await page.getByRole('button', { name: 'Teclado' }).tap();
    expect(await page.evaluate(() => document.activeElement?.id)).toBe('phone-keys');
    await page.keyboard.type('hola desde el movil');
    await page.keyboard.press('Enter');
    await expect.poll(() => x.typed(), { timeout: 10_000 }).toContain('hola desde el movil\n');
    // The keys menu: Tab, then Enter from the phone's keyboard.
    await page.locator('#keys-menu summary').tap();
    await page.locator('#keys-menu button', { hasText: /^Tab$/ }).tap();
    await page.locator('#keys-menu summary').tap();
    await page.getByRole('button', { name: 'Teclado' }).tap();
    await page.keyboard.type('x');
    await page.keyboard.press('Enter');
    await expect.poll(() => x.typed(), { timeout: 10_000 }).toContain('\tx\n');

    // Two fingers zoom the picture in (noVNC's one-finger input is not touched).
    const middle = { x: fitted.x + fitted.width / 2, y: fitted.y + fitted.height / 2 };
    await pinch(page, middle.x, middle.y, 80, 260);
    await expect.poll(async () => Number(await page.locator('#screen').getAttribute('data-zoom'))).toBeGreaterThan(1.5);
    await expect.poll(async () => (await page.locator('#screen canvas').boundingBox())!.height).toBeGreaterThanOrEqual(300 * 1.5);
    await page.screenshot({ path: join(shots, '2-phone-zoomed.png') });

    // Chat and people in the drawer.
    await page.getByRole('button', { name: 'Chat y personas' }).tap();
    expect(await page.locator('.chat').isVisible()).toBe(true);
    expect(await page.locator('.files').isVisible()).toBe(true);
    expect(await page.locator('.participants').isVisible()).toBe(true);
    await page.screenshot({ path: join(shots, '3-phone-drawer.png') });
    await axeLightAndDark(page, 'phone-drawer');
    await page.getByRole('button', { name: 'Volver a la pantalla' }).tap();
    expect(await page.locator('.chat').isVisible()).toBe(false);
    await axeLightAndDark(page, 'phone-screen');

    // The end: no "Recording" any more; the conversation is still there to read.
    expect(await page.locator('#recording-badge').isVisible()).toBe(true);
    await h.api.post(`/api/v1/help-requests/${t.id}/messages`).set(bearer(t.secret)).send({ text: 'gracias' }).expect(201);
    await h.api.post(`/api/v1/help-requests/${t.id}/end`).set(bearer(t.secret)).expect(200);
    await page.waitForSelector('#state[data-state="over"]', { timeout: 20_000 });
    expect(await page.locator('#recording-badge').isVisible()).toBe(false);
    await page.getByRole('button', { name: 'Chat y personas' }).tap();
    await expect.poll(() => page.locator('.chat-log').textContent()).toContain('gracias');
    expect(await page.locator('.chat').isVisible()).toBe(true);
    await page.screenshot({ path: join(shots, '4-phone-over-chat.png') });
    await page.context().close();
  }, 120_000);

  it('on a 1280×900 window in Chinese: the side column is beside the screen, the status line whole; after the end the chat stays', async () => {
    const t = await h.helpRequest({ requesterName: 'Wang Wei', hostname: 'wang-pc' });
    await ana.post(`/api/v1/tickets/${t.id}/accept`).expect(200);
    await approve(t);
    await openDesktop(t);
    const page = await signedIn(WINDOW, `/tech/${t.id}`);
    await page.waitForSelector('#state[data-state="connected"]', { timeout: 20_000 });
    await waitForPixel(page, 200, 90, x.xtermRgb);
    const canvas = (await page.locator('#screen canvas').boundingBox())!;
    const side = (await page.locator('#side').boundingBox())!;
    expect(canvas.x + canvas.width, 'the screen ends where the side column starts').toBeLessThanOrEqual(side.x + 1);
    expect(await page.locator('.chat').isVisible()).toBe(true);
    const whole = () => page.locator('#state').evaluate((el) => el.scrollWidth <= el.clientWidth && el.getBoundingClientRect().right <= window.innerWidth);
    expect(await whole()).toBe(true);
    await axeLightAndDark(page, 'window-connected');
    await h.api.post(`/api/v1/help-requests/${t.id}/end`).set(bearer(t.secret)).expect(200);
    await page.waitForSelector('#state[data-state="over"]', { timeout: 20_000 });
    expect(await whole()).toBe(true);
    expect(await page.locator('#recording-badge').isVisible()).toBe(false);
    expect(await page.locator('.chat').isVisible()).toBe(true);
    await axeLightAndDark(page, 'window-over');
    await page.context().close();
  }, 90_000);
});
