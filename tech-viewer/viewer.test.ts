// The /tech viewer in Chromium, against a real x11vnc on Xvfb relayed through
// the real repeater and server. The desktop leg is the desktop client's own
// tunnel core (x11vnc in reverse mode → loopback → /wsServer).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { ADMIN_PASSWORD, startHarness, type Harness, type Tech } from '../test/server-harness.ts';
import { RIGHT_WINDOW_BG, startXDisplay, type XDisplay } from '../test/x-display.ts';
import { HelpSession } from '../desktop-client/core/help-session.ts';
import { createTransport } from '../desktop-client/core/transport.ts';
import { reach } from '../test/help-session-helpers.ts';
import { artifactsDir, launchChromium, technicianPage as openTechnicianPage } from '../test/browser.ts';
import { Tunnel } from '../desktop-client/core/tunnel.ts';
import { TEST_REPEATER_SECRET, startRepeaterProcess } from '../test/repeater-process.ts';
import { startWaylandDesktop } from '../test/wayland.ts';

let h: Harness;
let x: XDisplay;
let browser: Browser;
let ana: Tech;
const tunnels: Tunnel[] = [];
const shots = join(artifactsDir, 'viewer');

beforeAll(async () => {
  mkdirSync(shots, { recursive: true });
  [h, x, browser] = await Promise.all([
    startHarness('sqlite', { MAX_ACTIVE_TICKETS_PER_TECH: '20' }),
    startXDisplay(),
    launchChromium(),
  ]);
  const admin = await h.login('admin', ADMIN_PASSWORD);
  ana = await h.createTechnician(admin, 'ana');
}, 60_000);

afterAll(async () => {
  await Promise.all(tunnels.map((t) => t.close()));
  await browser?.close();
  await h?.close();
  await x?.stop();
});

const bearer = (secret: string) => ({ Authorization: `Bearer ${secret}` });

async function approvedTicket(viewOnly: boolean) {
  const t = await h.helpRequest({ requesterName: 'Bob User', hostname: 'bob-pc' });
  await ana.post(`/api/v1/tickets/${t.id}/accept`).expect(200);
  await h.api.post(`/api/v1/help-requests/${t.id}/approve`).set(bearer(t.secret)).send({ viewOnly }).expect(200);
  return t;
}

async function openDesktop(t: { id: number; secret: string }, x11vncViewOnly = false): Promise<Tunnel> {
  const { body } = await h.api.post(`/api/v1/help-requests/${t.id}/desktop-token`).set(bearer(t.secret)).expect(201);
  const tunnel = new Tunnel({ url: body.url, display: x.display, viewOnly: x11vncViewOnly, x11vncBinary: 'x11vnc' });
  await tunnel.open();
  tunnels.push(tunnel);
  return tunnel;
}

const technicianPage = (path: string): Promise<Page> => openTechnicianPage(browser, h.server.url, path);

const stateOf = (page: Page) => page.locator('#state');

async function waitForState(page: Page, state: string, timeout = 20_000): Promise<string> {
  await page.waitForSelector(`#state[data-state="${state}"]`, { timeout });
  return (await stateOf(page).textContent()) ?? '';
}

/** Reads one framebuffer pixel from noVNC's canvas. */
function pixel(page: Page, px: number, py: number): Promise<number[]> {
  return page.evaluate(([cx, cy]) => {
    const canvas = document.querySelector('#screen canvas') as HTMLCanvasElement;
    return Array.from(canvas.getContext('2d')!.getImageData(cx!, cy!, 1, 1).data.slice(0, 3));
  }, [px, py]);
}

async function waitForPixel(page: Page, px: number, py: number, rgb: number[]): Promise<void> {
  const deadline = Date.now() + 15_000;
  let last: number[] = [];
  while (Date.now() < deadline) {
    last = await pixel(page, px, py);
    if (last.every((v, i) => Math.abs(v - rgb[i]!) <= 2)) return;
    await page.waitForTimeout(100);
  }
  throw new Error(`pixel (${px},${py}) is ${last.join(',')}, expected ${rgb.join(',')}`);
}

async function clickRemote(page: Page, fx: number, fy: number): Promise<void> {
  // Clicks at framebuffer coordinates, whatever the canvas scale.
  const box = (await page.locator('#screen canvas').boundingBox())!;
  const size = await page.evaluate(() => {
    const c = document.querySelector('#screen canvas') as HTMLCanvasElement;
    return [c.width, c.height];
  });
  await page.mouse.click(box.x + (fx * box.width) / size[0]!, box.y + (fy * box.height) / size[1]!);
}

describe('technician viewer', () => {
  it('shows the user\'s display and sends typed keys to it', async () => {
    const t = await approvedTicket(false);
    const page = await technicianPage(`/tech/${t.id}`);
    expect(await page.title()).toBe(`#${t.id} Bob User on bob-pc — Helpdesk`);
    expect(await waitForState(page, 'waiting')).toMatch(/Waiting for the user's desktop/);
    await page.screenshot({ path: join(shots, '1-waiting-for-desktop.png') });
    await openDesktop(t);
    expect(await waitForState(page, 'connected')).toBe('Connected to Bob User\'s desktop.');
    await waitForPixel(page, 900, 700, x.rootRgb);
    await waitForPixel(page, 200, 90, x.xtermRgb);
    await page.screenshot({ path: join(shots, '2-connected.png') });
    await clickRemote(page, 200, 90);
    await page.keyboard.type('hello from the viewer');
    await page.keyboard.press('Enter');
    await expect.poll(() => x.typed(), { timeout: 10_000 }).toContain('hello from the viewer\n');
    await h.api.post(`/api/v1/help-requests/${t.id}/end`).set(bearer(t.secret)).expect(200);
    // The session is over (issue 16): the toolbar offers what comes next, not the session's controls.
    expect(await waitForState(page, 'over')).toBe('The session is over: the user stopped the session. Say what was done to resolve the ticket.');
    for (const id of ['#btn-cad', '#btn-disconnect', '#btn-reconnect', '#btn-end', '#settings', '#clipboard']) expect(await page.locator(id).isVisible(), id).toBe(false);
    expect(await page.getByRole('link', { name: 'Resolve ticket' }).isVisible()).toBe(true);
    expect(await page.getByRole('link', { name: 'Back to queue' }).isVisible()).toBe(true);
    await page.screenshot({ path: join(shots, '3-ended-by-user.png') });
    // Opened again later, the page says the same, not "waiting for the user" forever.
    await page.reload();
    expect(await waitForState(page, 'over')).toMatch(/^The session is over: the user stopped the session\./);
    await page.getByRole('link', { name: 'Resolve ticket' }).click();
    await page.waitForURL(`**/tickets/${t.id}#resolution-text`);
    await page.getByLabel('Resolution').fill('Restarted the spooler.');
    await page.getByRole('button', { name: 'Resolve' }).click();
    await page.goto(`${h.server.url}/tech/${t.id}`);
    expect(await waitForState(page, 'over')).toBe(`Ticket #${t.id} is resolved. Nothing more to do here.`);
    expect(await page.getByRole('link', { name: 'Resolve ticket' }).isVisible()).toBe(false);
    await page.context().close();
  }, 90_000);

  it('from the queue to End session with the keyboard only, leaving the remote screen with Ctrl+Alt+Shift+F', async () => {
    const t = await h.helpRequest({ requesterName: 'Kim Keys', hostname: 'kim-pc' });
    const page = await technicianPage('/queue');
    const tabTo = async (name: RegExp, limit = 40) => {
      for (let i = 0; i < limit; i++) {
        await page.keyboard.press('Tab');
        const label = await page.evaluate(() => {
          const el = document.activeElement as HTMLElement | null;
          return `${el?.getAttribute('aria-label') ?? ''} ${el?.textContent ?? ''}`.trim();
        });
        if (name.test(label)) return;
      }
      throw new Error(`Tab never reached ${name}`);
    };
    await page.locator(`tr[data-ticket-id="${t.id}"]`).waitFor();
    await tabTo(new RegExp(`^Accept #${t.id} \\(Kim Keys\\)`));
    await page.keyboard.press('Enter');
    await page.waitForURL('**/mine');
    await h.api.post(`/api/v1/help-requests/${t.id}/approve`).set(bearer(t.secret)).send({ viewOnly: false }).expect(200);
    await openDesktop(t);
    await page.locator(`tr[data-ticket-id="${t.id}"] .open-viewer:not([hidden])`).waitFor();
    await tabTo(/^Open viewer$/);
    await page.keyboard.press('Enter');
    await page.waitForURL(`**/tech/${t.id}`);
    expect(await waitForState(page, 'connected')).toBe('Connected to Kim Keys\'s desktop.');
    // Focus is in the remote screen: Tab goes to the user's computer, not to the page.
    expect(await page.evaluate(() => document.activeElement?.closest('#screen') !== null)).toBe(true);
    await page.keyboard.press('Tab');
    expect(await page.evaluate(() => document.activeElement?.closest('#screen') !== null)).toBe(true);
    await page.keyboard.press('Control+Alt+Shift+KeyF');
    expect(await page.evaluate(() => document.activeElement?.id)).toBe('btn-cad');
    await tabTo(/^End session$/, 10);
    await page.keyboard.press('Enter');
    const dialog = page.getByRole('dialog');
    await dialog.waitFor();
    expect(await dialog.textContent()).toContain('End the session with Kim Keys now?');
    // Cancel has focus (the safe default): Tab to End session, Enter.
    expect(await page.evaluate(() => document.activeElement?.textContent)).toBe('Cancel');
    await page.keyboard.press('Tab');
    await page.keyboard.press('Enter');
    expect(await waitForState(page, 'over')).toMatch(/^The session is over: the technician ended the session\./);
    expect(await page.evaluate(() => document.activeElement?.id)).toBe('btn-resolve');
    const { body } = await ana.get(`/api/v1/tickets/${t.id}`).expect(200);
    expect(body.ticket).toMatchObject({ status: 'ended', endReason: 'ENDED_BY_TECHNICIAN' });
    // The ticket page names who ended it: the technician, not "server".
    await page.goto(`${h.server.url}/tickets/${t.id}`);
    await expect.poll(() => page.locator('#sessions td.ended-by').first().textContent()).toBe('the technician (Ana)');
    await page.context().close();
  }, 90_000);

  it('tells the technician in words when the user declines, and offers no second prompt at once', async () => {
    const t = await h.helpRequest({ requesterName: 'Eva Decline', hostname: 'eva-pc' });
    await ana.post(`/api/v1/tickets/${t.id}/accept`).expect(200);
    const viewerPage = await technicianPage(`/tech/${t.id}`);
    expect(await waitForState(viewerPage, 'awaitingApproval')).toBe('Waiting for the user to allow this session…');
    const queuePage = await technicianPage('/mine');
    await queuePage.waitForSelector('body[data-live="on"]');
    await h.api.post(`/api/v1/help-requests/${t.id}/decline`).set(bearer(t.secret)).send({}).expect(200);
    expect(await waitForState(viewerPage, 'over')).toBe('Eva Decline declined your offer. The ticket is back in the queue.');
    expect(await viewerPage.getByRole('link', { name: 'Back to queue' }).isVisible()).toBe(true);
    await expect.poll(() => queuePage.locator('#live-alert').textContent()).toBe(`Eva Decline declined your offer for ticket #${t.id}. You may offer again later.`);
    // In the queue the ticket says so instead of offering Accept.
    await queuePage.goto(`${h.server.url}/queue`);
    const row = queuePage.locator(`tr[data-ticket-id="${t.id}"]`);
    expect(await row.locator('.declined').textContent()).toBe('Eva Decline declined your offer: you may offer again in 10 min.');
    expect(await row.getByRole('button', { name: /Accept/ }).count()).toBe(0);
    await viewerPage.context().close();
    await queuePage.context().close();
    await h.api.post(`/api/v1/help-requests/${t.id}/cancel`).set(bearer(t.secret)).expect(200);
  }, 60_000);

  it('sends no input when the user allowed view only, and says so', async () => {
    const t = await approvedTicket(true);
    // x11vnc is started without -viewonly here, so only the viewer stops the input.
    await openDesktop(t, false);
    const page = await technicianPage(`/tech/${t.id}`);
    await waitForState(page, 'connected');
    await expect.poll(() => page.locator('#view-only-note').textContent()).toMatch(/View only/);
    await waitForPixel(page, 200, 90, x.xtermRgb);
    const before = x.typed();
    await clickRemote(page, 200, 90);
    await page.keyboard.type('must not arrive');
    await page.keyboard.press('Enter');
    await page.waitForTimeout(1500);
    expect(x.typed()).toBe(before);
    expect(await page.locator('#btn-cad').isDisabled()).toBe(true);
    await page.screenshot({ path: join(shots, '4-view-only.png') });
    await page.context().close();
    await h.api.post(`/api/v1/help-requests/${t.id}/end`).set(bearer(t.secret)).expect(200);
  }, 90_000);

  it('says when the user\'s app closes the connection', async () => {
    const t = await approvedTicket(false);
    const tunnel = await openDesktop(t);
    const page = await technicianPage(`/tech/${t.id}`);
    await waitForState(page, 'connected');
    void tunnel.close();
    expect(await waitForState(page, 'ended')).toMatch(/the user's app closed the connection/);
    expect(await stateOf(page).getAttribute('data-reason')).toBe('DESKTOP_LEFT');
    await page.screenshot({ path: join(shots, '5-ended-desktop-left.png') });
    await page.context().close();
    await h.api.post(`/api/v1/help-requests/${t.id}/end`).set(bearer(t.secret)).expect(200);
  }, 90_000);

  it('says when it waited too long for the user\'s desktop', async () => {
    // A server of its own, whose repeater gives up on a lonely leg after 1.5 s.
    const quick = await startHarness('sqlite', { WAITING_TIMEOUT_MS: '1500' });
    try {
      const admin = await quick.login('admin', ADMIN_PASSWORD);
      const tech = await quick.createTechnician(admin, 'ana');
      const t = await quick.helpRequest();
      await tech.post(`/api/v1/tickets/${t.id}/accept`).expect(200);
      await quick.api.post(`/api/v1/help-requests/${t.id}/approve`).set(bearer(t.secret)).send({ viewOnly: false }).expect(200);
      const page = await (await browser.newContext()).newPage();
      await page.goto(`${quick.server.url}/tech/${t.id}`);
      await page.getByLabel('Username').fill('ana');
      await page.getByLabel('Password').fill('ana-password-123');
      await page.getByRole('button', { name: 'Log in' }).click();
      expect(await waitForState(page, 'ended', 15_000)).toMatch(/waited too long/);
      await page.screenshot({ path: join(shots, '6-waiting-timeout.png') });
      await page.context().close();
    } finally {
      await quick.close();
    }
  }, 60_000);

  it('says when the token is refused, and Reconnect mints a fresh one', async () => {
    const t = await approvedTicket(false);
    const context = await browser.newContext();
    const page = await context.newPage();
    let spoil = true;
    await page.route('**/viewer-token', async (route) => {
      const response = await route.fetch();
      const body = await response.json();
      if (spoil) body.url = body.url.replace(/token=[^&]+/, 'token=AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA');
      spoil = false;
      await route.fulfill({ response, json: body });
    });
    await page.goto(`${h.server.url}/tech/${t.id}`);
    await page.getByLabel('Username').fill('ana');
    await page.getByLabel('Password').fill('ana-password-123');
    await page.getByRole('button', { name: 'Log in' }).click();
    expect(await waitForState(page, 'ended')).toMatch(/refused the connection/);
    await page.screenshot({ path: join(shots, '7-token-refused.png') });
    await openDesktop(t);
    await page.getByRole('button', { name: 'Reconnect' }).click();
    await waitForState(page, 'connected');
    await context.close();
    await h.api.post(`/api/v1/help-requests/${t.id}/end`).set(bearer(t.secret)).expect(200);
  }, 90_000);

  it('rides through a restart of the repeater: says so, reconnects by itself, and paints again', async () => {
    const own = await startHarness('sqlite', {}, { repeater: 'process' });
    let repeater = own.repeaterProcess!;
    const desktops: Tunnel[] = [];
    try {
      const admin = await own.login('admin', ADMIN_PASSWORD);
      const tech = await own.createTechnician(admin, 'ana');
      const t = await own.helpRequest({ requesterName: 'Bob User', hostname: 'bob-pc' });
      await tech.post(`/api/v1/tickets/${t.id}/accept`).expect(200);
      await own.api.post(`/api/v1/help-requests/${t.id}/approve`).set(bearer(t.secret)).send({ viewOnly: false }).expect(200);
      const desktop = async (): Promise<void> => {
        const { body } = await own.api.post(`/api/v1/help-requests/${t.id}/desktop-token`).set(bearer(t.secret)).expect(201);
        const tunnel = new Tunnel({ url: body.url, display: x.display, viewOnly: false, x11vncBinary: 'x11vnc' });
        await tunnel.open();
        desktops.push(tunnel);
      };
      await desktop();
      const page = await (await browser.newContext({ viewport: { width: 1280, height: 900 } })).newPage();
      await page.goto(`${own.server.url}/tech/${t.id}`);
      await page.getByLabel('Username').fill('ana');
      await page.getByLabel('Password').fill('ana-password-123');
      await page.getByRole('button', { name: 'Log in' }).click();
      await waitForState(page, 'connected');
      await waitForPixel(page, 200, 90, x.xtermRgb);
      expect(await repeater.stop()).toBe(0);
      expect(await waitForState(page, 'reconnecting')).toMatch(/^Connection interrupted: the server is restarting\. Reconnecting in \d+ s…$/);
      await page.screenshot({ path: join(shots, '8-reconnecting.png') });
      repeater = await startRepeaterProcess({ REPEATER_SERVER_URL: own.server.url, REPEATER_SECRET: TEST_REPEATER_SECRET, REPEATER_NAME: 'node-a' }, { port: repeater.port });
      await desktop(); // the desktop client re-arms (tested with the real core elsewhere)
      await waitForState(page, 'connected', 40_000);
      await waitForPixel(page, 200, 90, x.xtermRgb);
      await page.context().close();
      await own.api.post(`/api/v1/help-requests/${t.id}/end`).set(bearer(t.secret)).expect(200);
    } finally {
      await Promise.all(desktops.map((d) => d.close()));
      await repeater.stop();
      await own.close();
    }
  }, 120_000);

  it('shows a real Wayland desktop (sway, served by wayvnc) through source vnc: its background colour arrives', async () => {
    const wayland = await startWaylandDesktop();
    try {
      const t = await approvedTicket(false);
      const { body } = await h.api.post(`/api/v1/help-requests/${t.id}/desktop-token`).set(bearer(t.secret)).expect(201);
      const tunnel = new Tunnel({ url: body.url, display: x.display, viewOnly: false, x11vncBinary: 'x11vnc', source: { kind: 'vnc', host: '127.0.0.1', port: wayland.port, password: null } });
      await tunnel.open();
      tunnels.push(tunnel);
      expect(tunnel.x11vncPid).toBeNull();
      const page = await technicianPage(`/tech/${t.id}`);
      expect(await waitForState(page, 'connected')).toBe('Connected to Bob User\'s desktop.');
      await waitForPixel(page, 400, 300, wayland.rgb);
      await page.screenshot({ path: join(shots, '9-wayland-desktop.png') });
      await page.context().close();
      await h.api.post(`/api/v1/help-requests/${t.id}/end`).set(bearer(t.secret)).expect(200);
    } finally {
      await wayland.stop();
    }
  }, 90_000);

  it('shares only the monitor the user chose, and the technician reads which', async () => {
    const two = await startXDisplay({ twoMonitors: true });
    const session = new HelpSession(
      { serverUrl: h.server.url, clientKey: null, display: two.display, x11vncPath: 'x11vnc', requester: { requesterName: 'Bob User', username: 'bob', hostname: 'bob-pc', os: 'Linux' } },
      createTransport({ ca: null, proxy: { httpProxy: null, httpsProxy: null, noProxy: '' } }),
    );
    try {
      await session.requestHelp('Only the right screen, please');
      const id = session.snapshot.ticketId!;
      await ana.post(`/api/v1/tickets/${id}/accept`).expect(200);
      await reach(session, 'technician_offered');
      expect((await session.screens()).map((m) => [m.name, m.width, m.height, m.x, m.y])).toEqual([
        ['LEFT', 800, 600, 0, 0],
        ['RIGHT', 640, 480, 800, 0],
      ]);
      await expect(session.allow(false, 'MIDDLE')).rejects.toThrow(/no screen named MIDDLE/);
      await session.allow(false, 'RIGHT');
      await reach(session, 'waiting_for_viewer');
      const page = await technicianPage(`/tech/${id}`);
      expect(await page.locator('#shared-screen').textContent()).toBe('The user shares one screen: RIGHT 640×480.');
      await waitForState(page, 'connected');
      const size = await page.evaluate(() => {
        const c = document.querySelector('#screen canvas') as HTMLCanvasElement;
        return [c.width, c.height];
      });
      expect(size).toEqual([640, 480]);
      const rightWindow = [1, 3, 5].map((i) => parseInt(RIGHT_WINDOW_BG.slice(i, i + 2), 16));
      await waitForPixel(page, 110, 50, rightWindow); // the right monitor's own window, at its own origin
      await waitForPixel(page, 45, 45, two.rootRgb); // where the left monitor has its xterm: not shown
      await page.screenshot({ path: join(shots, '10-one-monitor.png') });
      await page.context().close();
      await session.stop();
    } finally {
      await session.stop().catch(() => undefined);
      await session.settled();
      await two.stop();
    }
  }, 90_000);

  it('refuses the viewer page to a technician who does not hold the ticket', async () => {
    const t = await approvedTicket(false);
    const admin = await h.login('admin', ADMIN_PASSWORD);
    await h.createTechnician(admin, 'ben');
    const context = await browser.newContext();
    const page = await context.newPage();
    await page.goto(`${h.server.url}/tech/${t.id}`);
    await page.getByLabel('Username').fill('ben');
    await page.getByLabel('Password').fill('ben-password-123');
    const response = page.waitForResponse((r) => r.url().endsWith(`/tech/${t.id}`));
    await page.getByRole('button', { name: 'Log in' }).click();
    expect((await response).status()).toBe(403);
    await expect.poll(() => page.locator('[role="alert"]').textContent()).toMatch(/Only the technician who holds ticket/);
    await context.close();
  }, 60_000);
});
