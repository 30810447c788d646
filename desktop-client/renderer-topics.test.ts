// The desktop window offers the server's topics (issue 29), in Chromium with
// window.helpdesk wired to the real core as the preload wires it, against the
// real server: a select in the user's language (Spanish here) under the
// description; the topic chosen goes with the request and routes it.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createServer, type Server } from 'node:http';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import express from 'express';
import type { Browser } from 'playwright-core';
import { ADMIN_PASSWORD, startHarness, type Harness, type Tech } from '../test/server-harness.ts';
import { launchChromium } from '../test/browser.ts';
import { HelpDesk } from './core/help-desk.ts';
import { createTransport } from './core/transport.ts';
import { setLanguage } from './core/messages.ts';
import { wireWindow } from './window.test-helpers.ts';

let h: Harness;
let browser: Browser;
let admin: Tech;
let rendererServer: Server;
let rendererUrl: string;

beforeAll(async () => {
  [h, browser] = await Promise.all([startHarness('sqlite'), launchChromium()]);
  admin = await h.login('admin', ADMIN_PASSWORD);
  const app = express();
  app.use(express.static(join(import.meta.dirname, 'renderer')));
  rendererServer = createServer(app);
  await new Promise<void>((resolve) => rendererServer.listen(0, '127.0.0.1', resolve));
  rendererUrl = `http://127.0.0.1:${(rendererServer.address() as { port: number }).port}/index.html`;
}, 60_000);

afterAll(async () => {
  setLanguage('en');
  await browser?.close();
  rendererServer?.close();
  await h?.close();
});

describe('the window asks what the request is about', () => {
  it('offers the topics in Spanish and sends the one chosen', async () => {
    const team = (await admin.post('/api/v1/teams', { name: 'Correo' }).expect(201)).body.team.id;
    const mail = (await admin.post('/api/v1/topics', { nameEn: 'Mail', nameEs: 'Correo electrónico', nameZh: '邮件', teamId: team, targetWaitSeconds: 120 }).expect(201)).body.topic.id;
    await admin.post('/api/v1/topics', { nameEn: 'Printers', nameEs: 'Impresoras', nameZh: '打印机', targetWaitSeconds: 120 }).expect(201);
    setLanguage('es');
    const session = new HelpDesk(
      { serverUrl: h.server.url, clientKey: null, display: ':99', x11vncPath: 'x11vnc', requester: { requesterName: 'Wendy Window', username: 'wendy', hostname: 'wendy-pc', os: 'Linux' } },
      createTransport({ ca: null, proxy: { httpProxy: null, httpsProxy: null, noProxy: '' } }),
    );
    const dir = mkdtempSync(join(tmpdir(), 'window-topics-'));
    const page = await wireWindow(browser, rendererUrl, session, { saveDir: dir, sendPath: join(dir, 'none') });
    await page.waitForSelector('#topic:not([hidden])');
    expect(await page.locator('label[for="topic"]').textContent()).toBe('¿De qué se trata?');
    expect(await page.locator('#topic option').allTextContents()).toEqual(['Ninguno de estos', 'Correo electrónico', 'Impresoras']);
    await page.locator('#description').fill('No me llegan los correos');
    await page.selectOption('#topic', { label: 'Correo electrónico' });
    await page.locator('#request-form button[type="submit"]').click();
    await page.waitForSelector('body[data-state="waiting_for_technician"]', { timeout: 20_000 });
    const id = session.current!.snapshot.ticketId;
    const { ticket } = (await admin.get(`/api/v1/tickets/${id}`).expect(200)).body;
    expect(ticket.routing.topic.id).toBe(mail);
    expect(ticket.routing.team).toEqual({ id: team, name: 'Correo' });
    await session.stop();
    await page.context().close();
  }, 40_000);
});
