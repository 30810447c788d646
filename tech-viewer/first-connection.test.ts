// The viewer page's first connection (issue 31: "Open viewer" → first frame):
// the holder's page mints its viewer token and opens its WebSocket from its
// head, before the page's own module script (tech-page.js) has even arrived;
// the page then adopts that connection — the desktop's greeting, sent before
// noVNC listened, included — and every later connection mints its own token.
// Chromium against the real server, repeater and x11vnc on Xvfb.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser, Page, Request } from 'playwright-core';
import { ADMIN_PASSWORD, startHarness, type Harness, type Tech } from '../test/server-harness.ts';
import { startXDisplay, type XDisplay } from '../test/x-display.ts';
import { launchChromium } from '../test/browser.ts';
import { Tunnel } from '../desktop-client/core/tunnel.ts';
import { waitForPixel } from './canvas-pixels.test-helpers.ts';

let h: Harness;
let x: XDisplay;
let browser: Browser;
let ana: Tech;
const tunnels: Tunnel[] = [];

beforeAll(async () => {
  [h, x, browser] = await Promise.all([startHarness('sqlite', { MAX_ACTIVE_TICKETS_PER_TECH: '20' }), startXDisplay(), launchChromium()]);
  ana = await h.createTechnician(await h.login('admin', ADMIN_PASSWORD), 'ana');
}, 60_000);

afterAll(async () => {
  await Promise.all(tunnels.map((t) => t.close()));
  await browser?.close();
  await h?.close();
  await x?.stop();
});

const bearer = (secret: string) => ({ Authorization: `Bearer ${secret}` });

async function acceptedTicket() {
  const t = await h.helpRequest({ requesterName: 'Bob User', hostname: 'bob-pc' });
  await ana.post(`/api/v1/tickets/${t.id}/accept`).expect(200);
  return t;
}

async function approve(t: { id: number; secret: string }): Promise<void> {
  await h.api.post(`/api/v1/help-requests/${t.id}/approve`).set(bearer(t.secret)).send({ viewOnly: false }).expect(200);
}

async function openDesktop(t: { id: number; secret: string }): Promise<void> {
  const { body } = await h.api.post(`/api/v1/help-requests/${t.id}/desktop-token`).set(bearer(t.secret)).expect(201);
  const tunnel = new Tunnel({ url: body.url, display: x.display, viewOnly: false, x11vncBinary: 'x11vnc' });
  await tunnel.open();
  tunnels.push(tunnel);
}

/** Ana's page at `path` (through the login form), with every viewer-token request kept in `mints` and the frames the viewer's sockets received counted. */
async function anaPage(path: string, hold?: { pattern: string; until: Promise<void> }): Promise<{ page: Page; mints: Request[]; framesIn: () => number }> {
  const context = await browser.newContext();
  if (hold) await context.route(hold.pattern, async (route) => {
    await hold.until;
    await route.continue();
  });
  const page = await context.newPage();
  const mints: Request[] = [];
  page.on('request', (r) => {
    if (r.url().endsWith('/viewer-token')) mints.push(r);
  });
  let frames = 0;
  page.on('websocket', (ws) => ws.on('framereceived', () => (frames += 1)));
  await page.goto(`${h.server.url}${path}`);
  await page.getByLabel('Username').fill('ana');
  await page.getByLabel('Password').fill('ana-password-123');
  await page.getByRole('button', { name: 'Log in' }).click();
  return { page, mints, framesIn: () => frames };
}

describe('the viewer page\'s first connection', () => {
  it('is minted and opened from the page\'s head while tech-page.js is still held, then adopted: the desktop shows', async () => {
    const t = await acceptedTicket();
    await approve(t);
    await openDesktop(t);
    let release!: () => void;
    const until = new Promise<void>((r) => (release = r));
    const { page, mints, framesIn } = await anaPage(`/tech/${t.id}`, { pattern: '**/tech-assets/tech-page.js', until });
    try {
      // Neither can happen before tech-page.js arrives unless the head started them.
      const [token, socket] = await Promise.all([
        page.waitForRequest((r) => r.url().endsWith(`/tickets/${t.id}/viewer-token`), { timeout: 10_000 }),
        page.waitForEvent('websocket', { predicate: (ws) => ws.url().includes('/wsClient?token='), timeout: 10_000 }),
      ]);
      expect(token.method()).toBe('POST');
      expect((await (await token.response())!.json()).url).toBe(socket.url());
      // The desktop's greeting reaches the page before noVNC could listen.
      await expect.poll(framesIn, { timeout: 10_000 }).toBeGreaterThan(0);
      expect(await page.locator('#state').getAttribute('data-state')).toBe('connecting');
    } finally {
      release();
    }
    await page.waitForSelector('#state[data-state="connected"]', { timeout: 20_000 });
    await waitForPixel(page, 900, 700, x.rootRgb);
    expect(mints).toHaveLength(1);
    // A later connection mints its own token: the first one was single-use.
    await page.getByRole('button', { name: 'Disconnect' }).click();
    await page.waitForSelector('#state[data-state="ended"]');
    await openDesktop(t);
    await page.getByRole('button', { name: 'Reconnect' }).click();
    await page.waitForSelector('#state[data-state="connected"]', { timeout: 20_000 });
    expect(mints).toHaveLength(2);
    await page.context().close();
    await h.api.post(`/api/v1/help-requests/${t.id}/end`).set(bearer(t.secret)).expect(200);
  }, 90_000);

  it('is not started by a page that waits for the user\'s approval: the approval mints once', async () => {
    const t = await acceptedTicket();
    const { page, mints } = await anaPage(`/tech/${t.id}`);
    await page.waitForSelector('#state[data-state="awaitingApproval"]');
    expect(await page.locator('meta[name="viewer-connect-at-once"]').count()).toBe(0);
    expect(mints).toHaveLength(0);
    await approve(t);
    await page.waitForSelector('#state[data-state="waiting"]', { timeout: 20_000 });
    await openDesktop(t);
    await page.waitForSelector('#state[data-state="connected"]', { timeout: 20_000 });
    expect(mints).toHaveLength(1);
    await page.context().close();
    await h.api.post(`/api/v1/help-requests/${t.id}/end`).set(bearer(t.secret)).expect(200);
  }, 90_000);
});
