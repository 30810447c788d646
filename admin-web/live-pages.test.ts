// Live pages in Chromium that must not lag or go stale (issue 31): the queue
// shows a request from the event itself, with no timer in the way (the page's
// timers are stopped while it waits); My tickets loaded at the moment the user
// allows shows "Open viewer" (twenty loads, the load and the desktop's arrival
// in varied order); a declined ticket is told on My tickets loaded afterwards.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser, Page, Route } from 'playwright-core';
import { ADMIN_PASSWORD, startHarness, type Harness, type Tech } from '../test/server-harness.ts';
import { openLeg, type TestLeg } from '../test/http-clients.ts';
import { launchChromium, technicianPage } from '../test/browser.ts';

let h: Harness;
let browser: Browser;
let ana: Tech;
const legs: TestLeg[] = [];

beforeAll(async () => {
  [h, browser] = await Promise.all([startHarness('sqlite', { MAX_ACTIVE_TICKETS_PER_TECH: '40' }), launchChromium()]);
  ana = await h.createTechnician(await h.login('admin', ADMIN_PASSWORD), 'ana');
}, 60_000);

afterAll(async () => {
  for (const leg of legs) leg.ws.terminate();
  await browser?.close();
  await h?.close();
});

const bearer = (secret: string) => ({ Authorization: `Bearer ${secret}` });

/** The user allows and their desktop's leg arrives at the repeater (it waits there for the viewer). */
async function allowAndConnect(t: { id: number; secret: string }): Promise<void> {
  await h.api.post(`/api/v1/help-requests/${t.id}/approve`).set(bearer(t.secret)).send({ viewOnly: false }).expect(200);
  const { body } = await h.api.post(`/api/v1/help-requests/${t.id}/desktop-token`).set(bearer(t.secret)).expect(201);
  legs.push(await openLeg(body.url as string));
}

describe('live pages', () => {
  it('shows a new request in an open queue from its event, with the page\'s timers stopped', async () => {
    const page = await technicianPage(browser, h.server.url, '/queue');
    await page.waitForSelector('body[data-live="on"]');
    // No setTimeout/setInterval of the page fires from here on: a debounce would hold the row back for good.
    await page.clock.install();
    await page.clock.pauseAt(Date.now() + 60_000);
    const t = await h.helpRequest({ description: 'shown at once' });
    await page.waitForSelector(`tr[data-ticket-id="${t.id}"]`, { timeout: 10_000 });
    // A burst while a read is on its way: the events ask for one more read after it, not one each.
    const held: Route[] = [];
    let reads = 0;
    await page.route('**/queue', (route) => {
      if (route.request().resourceType() !== 'fetch') return void route.continue();
      reads++;
      if (reads === 1) held.push(route);
      else void route.continue();
    });
    const burst = [await h.helpRequest({ description: 'burst 0' })];
    await expect.poll(() => held.length).toBe(1);
    burst.push(...(await Promise.all(Array.from({ length: 7 }, (_, i) => h.helpRequest({ description: `burst ${i + 1}` })))));
    // Every event has come (the queue count in the title follows each one) while the first read is held.
    await expect.poll(() => page.title(), { timeout: 10_000 }).toMatch(/^\(9\) /);
    expect(reads).toBe(1);
    await held[0]!.continue();
    for (const b of burst) await page.waitForSelector(`tr[data-ticket-id="${b.id}"]`, { timeout: 10_000 });
    expect(reads).toBe(2);
    await page.context().close();
  }, 60_000);

  it('shows "Open viewer" on My tickets loaded at the moment the user allows (20 loads, varied order)', async () => {
    const page: Page = await technicianPage(browser, h.server.url, '/mine');
    const missed: string[] = [];
    for (let i = 0; i < 20; i++) {
      const t = await h.helpRequest({ requesterName: `Loop ${i}` });
      await ana.post(`/api/v1/tickets/${t.id}/accept`).expect(200);
      // Loaded (its scripts ran, its stream is opening) in varied order with the user's allowing.
      const load = async (): Promise<void> => {
        await page.goto(`${h.server.url}/mine`, { waitUntil: 'load' });
      };
      const delay = (ms: number) => new Promise((r) => setTimeout(r, ms));
      const order = i % 4;
      if (order === 0) await Promise.all([load(), allowAndConnect(t)]);
      else if (order === 1) await Promise.all([load(), delay(5 + i).then(() => allowAndConnect(t))]);
      else if (order === 2) await Promise.all([allowAndConnect(t), delay(3 + i).then(load)]);
      else await Promise.all([load(), delay(i * 2).then(() => allowAndConnect(t))]);
      const button = page.locator(`tr[data-ticket-id="${t.id}"] .open-viewer`);
      const shown = await button.waitFor({ state: 'visible', timeout: 1_000 }).then(() => true, (_timedOut: unknown) => false);
      if (!shown) missed.push(`load ${i} (order ${order}): ${await page.locator(`tr[data-ticket-id="${t.id}"] .desktop`).textContent()}`);
      // The user stops; the next load starts from a list with no waiting desktop of this loop.
      await h.api.post(`/api/v1/help-requests/${t.id}/end`).set(bearer(t.secret)).expect(200);
    }
    expect(missed).toEqual([]);
    await page.context().close();
  }, 180_000);

  it('tells the technician on My tickets, loaded after it, that the user declined', async () => {
    const t = await h.helpRequest({ requesterName: 'Eva Decline' });
    await ana.post(`/api/v1/tickets/${t.id}/accept`).expect(200);
    await h.api.post(`/api/v1/help-requests/${t.id}/decline`).set(bearer(t.secret)).send({}).expect(200);
    const page = await technicianPage(browser, h.server.url, '/mine');
    const notice = page.locator(`#declined-notices [data-ticket-id="${t.id}"]`);
    expect(await notice.textContent()).toContain(`Eva Decline declined your offer for ticket #${t.id}`);
    expect(await page.locator(`#mine-table tr[data-ticket-id="${t.id}"]`).count()).toBe(0);
    await page.context().close();
    await h.api.post(`/api/v1/help-requests/${t.id}/cancel`).set(bearer(t.secret)).expect(200);
  }, 60_000);
});
