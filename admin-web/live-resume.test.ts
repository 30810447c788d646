// The admin web's live stream in Chromium when the connection drops and the
// server then answers an HTTP error (where EventSource gives up by itself):
// the page says it is reconnecting, tries again after a pause with the last
// event id it had, and shows the request created meanwhile — replayed, not
// reloaded.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createConnection, createServer, type Server, type Socket } from 'node:net';
import type { AddressInfo } from 'node:net';
import type { Browser } from 'playwright-core';
import { ADMIN_PASSWORD, startHarness, type Harness } from '../test/server-harness.ts';
import { launchChromium, technicianPage } from '../test/browser.ts';

let h: Harness;
let browser: Browser;
let proxy: Server;
let proxyUrl: string;
const links = new Set<Socket>();

beforeAll(async () => {
  [h, browser] = await Promise.all([startHarness('sqlite'), launchChromium()]);
  await h.createTechnician(await h.login('admin', ADMIN_PASSWORD), 'ana');
  // The browser reaches the server through a TCP relay the test can cut (the network going away).
  const target = new URL(h.server.url);
  proxy = createServer((inbound) => {
    const outbound = createConnection({ host: target.hostname, port: Number(target.port) });
    for (const [s, other] of [[inbound, outbound], [outbound, inbound]] as const) {
      links.add(s);
      s.pipe(other);
      s.on('error', () => other.destroy());
      s.on('close', () => {
        links.delete(s);
        other.destroy();
      });
    }
  });
  await new Promise<void>((r) => proxy.listen(0, '127.0.0.1', r));
  proxyUrl = `http://127.0.0.1:${(proxy.address() as AddressInfo).port}`;
}, 60_000);

afterAll(async () => {
  await browser?.close();
  for (const s of links) s.destroy();
  proxy?.close();
  await h?.close();
});

describe('the live queue after a cut and an HTTP error', () => {
  it('says it is reconnecting, retries with ?lastEventId=, and shows what was created meanwhile', async () => {
    const page = await technicianPage(browser, proxyUrl, '/queue');
    await page.waitForSelector('body[data-live="on"]');
    const first = await h.helpRequest({ description: 'before the cut' });
    await page.waitForSelector(`tr[data-ticket-id="${first.id}"]`);

    const streamUrls: string[] = [];
    page.on('request', (req) => {
      if (req.url().includes('/api/v1/events')) streamUrls.push(req.url());
    });
    // The connection is cut, and the server answers 503 for a while: the EventSource gives up by itself.
    let refusing = true;
    await page.route('**/api/v1/events**', (route) =>
      refusing ? route.fulfill({ status: 503, contentType: 'application/json', body: '{"error":{"code":"DATABASE_UNAVAILABLE","message":"later"}}' }) : route.continue(),
    );
    for (const s of links) s.destroy();
    await page.waitForSelector('body[data-live="reconnecting"]');
    expect(await page.locator('#live-status').textContent()).toContain('reconnecting');
    const missed = await h.helpRequest({ description: 'created while the page was away' });
    await expect.poll(() => streamUrls.filter((u) => u.includes('lastEventId=')).length, { timeout: 10_000 }).toBeGreaterThan(0);
    refusing = false;

    await page.waitForSelector(`tr[data-ticket-id="${missed.id}"]`, { timeout: 15_000 });
    await page.waitForSelector('body[data-live="on"]');
    expect(streamUrls.some((u) => /lastEventId=\d+/.test(u))).toBe(true);
    expect(await page.locator('#live-status').textContent()).not.toContain('reconnecting');
    await page.close();
  }, 40_000);
});
