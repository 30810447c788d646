// Issue 26 with every part real: the server (SQLite, recording on), an Xvfb
// display whose xterm runs a shell, the terminal desktop client with x11vnc
// (a second, -viewonly x11vnc for a watcher), and Chromium for each
// technician's viewer. Invitations and consents go through their APIs (the
// pages' buttons have their own tests); what each person sees is read in the
// browser and in the terminal client's output.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { WebSocket } from 'ws';
import type { Browser, Page } from 'playwright-core';
import { ADMIN_PASSWORD, startHarness, type Harness, type Tech } from './server-harness.ts';
import { startXDisplay, type XDisplay } from './x-display.ts';
import { launchChromium, technicianPage } from './browser.ts';
import { pixel, remoteClick } from './viewer-canvas.ts';

const workDir = mkdtempSync(join(tmpdir(), 'hd-together-'));
let h: Harness;
let x: XDisplay;
let browser: Browser;
let admin: Tech;
const techs: Record<string, Tech & { username: string; id: number }> = {};
const clients: ChildProcess[] = [];

beforeAll(async () => {
  [h, x, browser] = await Promise.all([
    startHarness('sqlite', { MAX_ACTIVE_TICKETS_PER_TECH: '20', RECORD_SESSIONS: 'on', SUPERVISOR_WATCH: 'ask' }),
    startXDisplay({ shell: { banner: 'TOGETHER', cwd: workDir } }),
    launchChromium(),
  ]);
  admin = await h.login('admin', ADMIN_PASSWORD);
  for (const name of ['ana', 'luis', 'marta']) {
    const tech = await h.createTechnician(admin, name, 'technician', name[0]!.toUpperCase() + name.slice(1));
    const { body } = await tech.get('/api/v1/me').expect(200);
    techs[name] = Object.assign(tech, { username: name, id: Number(body.id ?? body.technician?.id) });
  }
}, 120_000);

afterAll(async () => {
  // SIGTERM first: the client then stops its x11vnc processes (a SIGKILLed client would leave them behind).
  await Promise.all(clients.filter((c) => c.exitCode === null).map(async (c) => {
    const exited = new Promise((resolve) => c.once('exit', resolve));
    c.kill('SIGTERM');
    await Promise.race([exited, new Promise((resolve) => setTimeout(resolve, 10_000))]);
    if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
  }));
  await browser?.close();
  await h?.close();
  await x?.stop();
});

async function until<T>(what: string, probe: () => T | undefined | null | false | Promise<T | undefined | null | false>, timeoutMs = 20_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** The terminal client, run as a user would, asking for help. */
function startClient(description: string) {
  const child = spawn(process.execPath, ['desktop-client/bin/helpdesk-client.js', '--description', description], {
    env: { PATH: process.env.PATH ?? '', HOME: workDir, HELPDESK_SERVER_URL: h.server.url, DISPLAY: x.display, HELPDESK_REQUESTER_NAME: 'Ursula User' },
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  clients.push(child);
  let out = '';
  child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (out += d.toString()));
  return {
    child,
    output: () => out,
    say: (line: string) => child.stdin!.write(`${line}\n`),
    /** Waits for `pattern` in what was printed after `from` (an offset of output()). */
    waitFor: (pattern: RegExp, from = 0, timeoutMs = 20_000) => until(`${pattern} in the client's output:\n${out}`, () => pattern.exec(out.slice(from)), timeoutMs),
  };
}

/** Types a shell command into the remote xterm from `page`'s viewer. */
async function typeCommand(page: Page, command: string): Promise<void> {
  await remoteClick(page, 300, 140);
  await page.keyboard.type(command);
  await page.keyboard.press('Enter');
}

async function openViewer(name: string, ticketId: number): Promise<Page> {
  const page = await technicianPage(browser, h.server.url, `/tech/${ticketId}`, name);
  await page.waitForSelector('#state[data-state="connected"]', { timeout: 30_000 });
  await expect.poll(() => pixel(page, 300, 140), { timeout: 15_000 }).toEqual([...x.xtermRgb]);
  return page;
}

/** A request from the terminal client, accepted by Ana and allowed (control) by the user; Ana's viewer open. */
async function anaHoldsASession(tag: string) {
  const client = startClient(`Work together ${tag}`);
  const ticketId = Number((await client.waitFor(/Your request is #(\d+)\./))[1]);
  await techs.ana!.post(`/api/v1/tickets/${ticketId}/accept`).expect(200);
  await client.waitFor(/Allow control/);
  client.say('c');
  await client.waitFor(/Ana is connecting to your screen/);
  const anaPage = await openViewer('ana', ticketId);
  await client.waitFor(/Ana is helping you\./);
  return { client, ticketId, anaPage };
}

async function participants(ticketId: number, asker = techs.ana!): Promise<Array<{ technicianId: number; mode: string; state: string; holder?: boolean }>> {
  const { body } = await asker.get(`/api/v1/tickets/${ticketId}/participants`).expect(200);
  return body.participants;
}

async function invite(by: Tech, ticketId: number, who: string, mode: 'view' | 'control'): Promise<number> {
  const { body } = await by.post(`/api/v1/tickets/${ticketId}/invitations`).send({ technicianId: techs[who]!.id, mode }).expect(201);
  await techs[who]!.post(`/api/v1/invitations/${body.id}/accept`).expect(200);
  return Number(body.id);
}

const proof = (name: string) => join(workDir, `proof-${name}-${randomBytes(3).toString('hex')}`);

describe('several technicians on one session, each allowed by the user', () => {
  it('a watcher sees the same desktop and cannot change it; the user stops the watcher only; a refused invite changes nothing', async () => {
    const { client, ticketId, anaPage } = await anaHoldsASession('watch');
    await invite(techs.ana!, ticketId, 'luis', 'view');
    const asked = client.output().length;
    await client.waitFor(/Ana invites Luis to watch your screen/, 0);
    client.say('allow Luis');
    await until('Luis connected', async () => (await participants(ticketId)).some((p) => p.technicianId === techs.luis!.id && p.state === 'connected'));
    const luisPage = await openViewer('luis', ticketId);
    // Same desktop on both viewers.
    for (const [px, py] of [[900, 700], [300, 140]] as const) expect(await pixel(luisPage, px, py)).toEqual(await pixel(anaPage, px, py));
    // Luis's keys and clicks change nothing on the desktop; Ana's still work.
    const luisProof = proof('luis');
    await typeCommand(luisPage, `touch ${luisProof}`);
    const anaProof = proof('ana');
    await typeCommand(anaPage, `touch ${anaProof}`);
    await until('Ana\'s command to run', () => existsSync(anaProof), 15_000);
    expect(existsSync(luisProof)).toBe(false);
    // Everyone connected is listed for the user.
    client.say('who');
    await client.waitFor(/Luis.*watch/i, asked);

    // The user stops Luis only.
    const beforeStop = client.output().length;
    client.say('stop Luis');
    await luisPage.waitForSelector('#state[data-state="over"], #state[data-state="ended"]', { timeout: 15_000 });
    expect(await luisPage.locator('#state').textContent()).toMatch(/user stopped/i);
    await client.waitFor(/Luis/, beforeStop);
    expect(await anaPage.locator('#state').getAttribute('data-state')).toBe('connected');
    const again = proof('ana2');
    await typeCommand(anaPage, `touch ${again}`);
    await until('Ana still works', () => existsSync(again), 15_000);

    // A refused invite: nothing changes for Ana.
    await invite(techs.ana!, ticketId, 'marta', 'control');
    await client.waitFor(/Ana invites Marta to take control/, beforeStop);
    client.say('refuse Marta');
    await until('Marta refused', async () => (await participants(ticketId)).some((p) => p.technicianId === techs.marta!.id && p.state === 'refused'));
    expect(await anaPage.locator('#state').getAttribute('data-state')).toBe('connected');
    const third = proof('ana3');
    await typeCommand(anaPage, `touch ${third}`);
    await until('Ana still works after the refusal', () => existsSync(third), 15_000);

    client.say('stop');
    // Each person's session was recorded on its own and is listed with that person on the ticket.
    const recordings = await until('both recordings closed', async () => {
      const { body } = await techs.ana!.get(`/api/v1/tickets/${ticketId}`).expect(200);
      const list = body.recordings as Array<{ technicianId: number; participantId: number | null; state: string }>;
      return list.length >= 2 && list.every((r) => r.state !== 'recording') && list;
    });
    expect(recordings.filter((r) => r.technicianId === techs.luis!.id && r.participantId !== null).map((r) => r.state)).toEqual(['complete']);
    expect(recordings.some((r) => r.technicianId === techs.ana!.id && r.participantId === null && r.state === 'complete')).toBe(true);
    await anaPage.goto(`${h.server.url}/tickets/${ticketId}`);
    const rows = await anaPage.locator('#recordings tbody tr').allTextContents();
    expect(rows.some((r) => r.includes('Luis'))).toBe(true);
    await anaPage.context().close();
    await luisPage.context().close();
  }, 180_000);

  it('Ana hands over to Luis with a note: the user allows Luis, Luis gets control, Ana is told, the note and the timeline read in words', async () => {
    const { client, ticketId, anaPage } = await anaHoldsASession('hand-over');
    const from = client.output().length;
    await techs.ana!.post(`/api/v1/tickets/${ticketId}/transfer`).send({ technicianId: techs.luis!.id, note: 'Printer driver half installed; reboot pending' }).expect(200);
    await client.waitFor(/Ana hands over to Luis/, from);
    client.say('allow Luis');
    await anaPage.waitForSelector('#state[data-state="over"], #state[data-state="ended"]', { timeout: 15_000 });
    expect(await anaPage.locator('#state').textContent()).toMatch(/handed the session over to Luis/);
    const { body: ticket } = await techs.luis!.get(`/api/v1/tickets/${ticketId}`).expect(200);
    expect(ticket.ticket?.technician?.id ?? ticket.technician?.id).toBe(techs.luis!.id);
    const luisPage = await openViewer('luis', ticketId);
    const luisProof = proof('luis-holder');
    await typeCommand(luisPage, `touch ${luisProof}`);
    await until('Luis has control', () => existsSync(luisProof), 15_000);
    await luisPage.goto(`${h.server.url}/tickets/${ticketId}`);
    expect(await luisPage.locator('body').textContent()).toContain('Printer driver half installed; reboot pending');
    const timeline = (await luisPage.locator('#timeline').textContent()) ?? '';
    expect(timeline).toMatch(/ana.*hand.*over to Luis/i);
    expect(timeline).not.toMatch(/participant\.|ticket\.transfer/); // words, not action ids
    client.say('stop');
    await anaPage.context().close();
    await luisPage.context().close();
  }, 180_000);

  it('Ana\'s browser closes while Luis takes part with control: Luis becomes the holder and the ticket stays in session', async () => {
    const { client, ticketId, anaPage } = await anaHoldsASession('holder-drops');
    await invite(techs.ana!, ticketId, 'luis', 'control');
    await client.waitFor(/Ana invites Luis to take control/);
    client.say('allow Luis');
    await until('Luis connected', async () => (await participants(ticketId)).some((p) => p.technicianId === techs.luis!.id && p.state === 'connected'));
    const luisPage = await openViewer('luis', ticketId);
    await anaPage.context().close();
    await until('Luis holds the ticket', async () => {
      const { body } = await techs.luis!.get(`/api/v1/tickets/${ticketId}`).expect(200);
      const t = body.ticket ?? body;
      return t.technician?.id === techs.luis!.id && t.status === 'in_session';
    }, 20_000);
    expect((await participants(ticketId, techs.luis!))[0]).toMatchObject({ technicianId: techs.luis!.id, holder: true });
    // "Desktop connected" follows the holder's own channel: the same on the ticket and on My tickets.
    const { body: detail } = await techs.luis!.get(`/api/v1/tickets/${ticketId}`).expect(200);
    expect(detail.desktop).toBe('paired');
    const { body: mine } = await techs.luis!.get('/api/v1/tickets/mine').expect(200);
    expect(mine.tickets.find((t: { id: number }) => t.id === ticketId)?.desktop).toBe('paired');
    expect(await luisPage.locator('#state').getAttribute('data-state')).toBe('connected');
    const luisProof = proof('luis-promoted');
    await typeCommand(luisPage, `touch ${luisProof}`);
    await until('Luis still has control', () => existsSync(luisProof), 15_000);
    client.say('stop');
    await luisPage.context().close();
  }, 180_000);

  it('an administrator asks to watch (SUPERVISOR_WATCH=ask): nothing reaches the watcher until the user allows', async () => {
    const { client, ticketId, anaPage } = await anaHoldsASession('supervise-ask');
    const { body: live } = await admin.get('/api/v1/sessions/live').expect(200);
    expect(JSON.stringify(live)).toContain(`${ticketId}`);
    await admin.post(`/api/v1/tickets/${ticketId}/watch`).expect(201);
    await client.waitFor(/Administrator.*watch/i);
    await admin.post(`/api/v1/tickets/${ticketId}/viewer-token`).expect(403);
    client.say('allow Administrator');
    await until('the admin may view', async () => (await admin.post(`/api/v1/tickets/${ticketId}/viewer-token`)).status === 201);
    client.say('stop');
    await anaPage.context().close();
  }, 180_000);
});

describe('supervising with SUPERVISOR_WATCH=notify', () => {
  it('the user is told, by name, who is watching, and is not asked', async () => {
    const notify = await startHarness('sqlite', { SUPERVISOR_WATCH: 'notify' });
    try {
      const root = await notify.login('admin', ADMIN_PASSWORD);
      const ana = await notify.createTechnician(root, 'ana', 'technician', 'Ana');
      const child = spawn(process.execPath, ['desktop-client/bin/helpdesk-client.js', '--description', 'notify'], {
        env: { PATH: process.env.PATH ?? '', HOME: workDir, HELPDESK_SERVER_URL: notify.server.url, DISPLAY: x.display, HELPDESK_REQUESTER_NAME: 'Ursula User' },
        stdio: ['pipe', 'pipe', 'pipe'],
      });
      clients.push(child);
      let out = '';
      child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
      const ticketId = Number((await until('a ticket', () => /Your request is #(\d+)\./.exec(out)))[1]);
      await ana.post(`/api/v1/tickets/${ticketId}/accept`).expect(200);
      await until('consent', () => /Allow control/.test(out));
      child.stdin!.write('c\n');
      await until('Ana connecting', () => out.includes('Ana is connecting to your screen'));
      const { body: anaToken } = await ana.post(`/api/v1/tickets/${ticketId}/viewer-token`).expect(201);
      // Ana's viewer: a plain websocket leg is enough to pair (the browser's viewer has its own tests).
      const anaLeg = new WebSocket(anaToken.url, { origin: notify.server.url });
      await new Promise((resolve, reject) => { anaLeg.once('message', resolve); anaLeg.once('error', reject); });
      await until('in session', async () => (await ana.get(`/api/v1/tickets/${ticketId}`)).body.ticket?.status === 'in_session');
      await root.post(`/api/v1/tickets/${ticketId}/watch`).expect(201);
      await until('the user told who watches', () => /Administrator is watching/.test(out));
      expect(out).not.toMatch(/allow Administrator|wants to watch/i);
      await root.post(`/api/v1/tickets/${ticketId}/viewer-token`).expect(201);
      child.stdin!.write('stop\n');
      anaLeg.close();
    } finally {
      await notify.close();
    }
  }, 120_000);
});
