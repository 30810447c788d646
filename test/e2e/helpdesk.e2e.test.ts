// The whole product, every part real, on loopback: MariaDB; the server started
// as `npm start` starts it; an Xvfb display with a solid root colour and an
// xterm showing a unique string; the terminal desktop client with x11vnc; and
// Chromium for the admin web and the viewer.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { WebSocket } from 'ws';
import type { Browser } from 'playwright-core';
import { freshDatabase } from '../databases.ts';
import { startXDisplay, type XDisplay } from '../x-display.ts';
import { reapOnExit } from '../child-reaper.ts';
import { artifactsDir, launchChromium } from '../browser.ts';
import { pixel, remoteClick } from '../viewer-canvas.ts';

const unique = `hd-${randomBytes(4).toString('hex')}`;
const workDir = mkdtempSync(join(tmpdir(), 'helpdesk-e2e-'));
const shots = join(artifactsDir, 'e2e');
const ADMIN_PASSWORD = 'e2e-admin-password';
let server: ChildProcess;
let serverUrl: string;
let x: XDisplay;
let browser: Browser;
let client: ChildProcess | null = null;
let clientOut = '';

function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s = createServer().listen(0, '127.0.0.1', () => {
      const { port } = s.address() as { port: number };
      s.close(() => resolve(port));
    });
  });
}

async function waitFor<T>(what: string, probe: () => T | undefined | null | false, timeoutMs = 30_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = probe();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

let serverEnv: Record<string, string | undefined> = {};
let serverOut = '';

/** Starts the server as `npm start` does, in its own process group (stopped by signalling the group). */
async function startProductServer(): Promise<void> {
  serverOut = '';
  server = reapOnExit(spawn('npm', ['start'], { env: serverEnv, stdio: ['ignore', 'pipe', 'pipe'], detached: true }), { group: true });
  server.stdout!.on('data', (d: Buffer) => (serverOut += d.toString()));
  server.stderr!.on('data', (d: Buffer) => (serverOut += d.toString()));
  await waitFor('the server to say it is running', () => serverOut.includes('Helpdesk is running') || (server.exitCode !== null && Promise.reject(new Error(serverOut))), 90_000);
}

beforeAll(async () => {
  mkdirSync(shots, { recursive: true });
  const database = await freshDatabase('mysql');
  if (database.client !== 'mysql') throw new Error('the end-to-end test runs on MariaDB');
  const port = await freePort();
  serverUrl = `http://127.0.0.1:${port}`;
  serverEnv = { ...process.env, PORT: String(port), HOST: '127.0.0.1', DATABASE_URL: database.url, ADMIN_PASSWORD, LOG_LEVEL: 'warn', RECORDINGS_DIR: join(workDir, 'recordings'), FILES_DIR: join(workDir, 'files'), SECRETS_KEY_FILE: join(workDir, 'keys', 'secrets.key') };
  [, x, browser] = await Promise.all([startProductServer(), startXDisplay({ shell: { banner: `UNIQUE ${unique}`, cwd: workDir } }), launchChromium()]);
  // The administrator creates the technician Ana through the admin web's API.
  const admin = await login('admin', ADMIN_PASSWORD);
  const res = await admin.fetch('/api/v1/technicians', { method: 'POST', body: { username: 'ana', displayName: 'Ana', password: 'ana-password-123' } });
  expect(res.status).toBe(201);
}, 180_000);

/** Whether any process of the server's group (npm, its shell, node) is still running. */
function groupAlive(pid: number): boolean {
  try {
    process.kill(-pid, 0);
    return true;
  } catch {
    return false; // ESRCH: the whole group is gone
  }
}

/** SIGTERM to the server's process group, and a wait until every process of it is gone (npm exits before the server has). */
async function stopProductServer(): Promise<void> {
  const pid = server?.pid;
  if (!pid || !groupAlive(pid)) return;
  process.kill(-pid, 'SIGTERM');
  await waitFor('the server\'s processes to end', () => !groupAlive(pid), 60_000).catch((err: unknown) => {
    if (groupAlive(pid)) process.kill(-pid, 'SIGKILL');
    throw err;
  });
}

// Every clean-up runs, whichever failed first: a test that failed (or a server
// already gone, whose group kill threw) left its Xvfb running for good before.
afterAll(async () => {
  const results = await Promise.allSettled([
    (async () => {
      if (client && client.exitCode === null && client.signalCode === null) {
        const gone = new Promise((resolve) => client!.once('exit', resolve));
        client.kill('SIGTERM');
        await gone;
      }
    })(),
    browser?.close(),
    stopProductServer(),
  ]);
  results.push(...(await Promise.allSettled([x?.stop()])));
  const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
  if (failed) throw failed.reason;
});

async function login(username: string, password: string) {
  // A small cookie jar: the login answer sets the session and the remembered-browser cookie.
  const jar = new Map<string, string>();
  const call = async (path: string, init: { method?: string; body?: unknown; csrf?: string } = {}) => {
    const cookie = [...jar].map(([name, value]) => `${name}=${value}`).join('; ');
    const res = await fetch(`${serverUrl}${path}`, {
      method: init.method ?? 'GET',
      headers: { cookie, 'content-type': 'application/json', ...(init.csrf ? { 'x-csrf-token': init.csrf } : {}) },
      ...(init.body ? { body: JSON.stringify(init.body) } : {}),
    });
    for (const set of res.headers.getSetCookie()) {
      const [pair] = set.split(';');
      const at = pair!.indexOf('=');
      jar.set(pair!.slice(0, at), pair!.slice(at + 1));
    }
    return res;
  };
  const { csrfToken } = (await (await call('/auth/session')).json()) as { csrfToken: string };
  const loggedIn = (await (await call('/auth/login', { method: 'POST', body: { username, password }, csrf: csrfToken })).json()) as { csrfToken: string };
  return { fetch: (path: string, init: { method?: string; body?: unknown } = {}) => call(path, { ...init, csrf: loggedIn.csrfToken }) };
}

describe('end to end', () => {
  it('a user gets help: request, accept, consent, viewer, remote command, stop, resolve; a used token stays refused', async () => {
    const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
    const tech = await context.newPage();
    await tech.goto(`${serverUrl}/login`);
    await tech.getByLabel('Username').fill('ana');
    await tech.getByLabel('Password').fill('ana-password-123');
    await tech.getByRole('button', { name: 'Log in' }).click();
    await tech.waitForURL('**/queue');
    await tech.waitForSelector('body[data-live="on"]');

    // 1. The user requests help; the queue shows it without a reload.
    client = spawn(process.execPath, ['desktop-client/bin/helpdesk-client.js', '--description', `Need help ${unique}`], {
      env: { PATH: process.env.PATH ?? '', HOME: workDir, HELPDESK_SERVER_URL: serverUrl, DISPLAY: x.display, HELPDESK_REQUESTER_NAME: 'Ursula User' },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    const clientExit = new Promise<number | null>((resolve) => client!.once('exit', (code) => resolve(code)));
    client.stdout!.on('data', (d: Buffer) => (clientOut += d.toString()));
    client.stderr!.on('data', (d: Buffer) => (clientOut += d.toString()));
    const ticketId = Number((await waitFor('the ticket number', () => /Your request is #(\d+)\./.exec(clientOut)))[1]);
    const row = tech.locator(`tr[data-ticket-id="${ticketId}"]`);
    await row.waitFor();
    expect(await row.textContent()).toContain(`Need help ${unique}`);
    await tech.screenshot({ path: join(shots, '1-queue.png') });

    // 2. The technician accepts; the user sees her name and allows control.
    await row.getByRole('button', { name: /Accept/ }).click();
    await tech.waitForURL('**/mine');
    await waitFor('the consent question', () => /Ana \(technician\) wants to help you\.\nThis session will be recorded\..*\nAllow control/.test(clientOut));
    client.stdin!.write('c\n');
    await waitFor('the tunnel', () => clientOut.includes('Ana is connecting to your screen'));

    // 3. The technician opens the viewer; the canvas shows the user's display.
    const mintedUrls: string[] = [];
    tech.on('response', (response) => {
      if (response.url().endsWith(`/api/v1/tickets/${ticketId}/viewer-token`)) void response.json().then((b: { url: string }) => mintedUrls.push(b.url));
    });
    const open = tech.locator(`tr[data-ticket-id="${ticketId}"] .open-viewer`);
    await open.waitFor({ state: 'visible' });
    await tech.screenshot({ path: join(shots, '2-my-tickets.png') });
    await open.click();
    await tech.waitForSelector('#state[data-state="connected"]', { timeout: 30_000 });
    await waitFor('the user to see the session', () => clientOut.includes('Ana is helping you.'));
    for (const [px, py, rgb] of [[900, 700, x.rootRgb], [300, 140, x.xtermRgb]] as const) {
      await expect.poll(() => pixel(tech, px, py), { timeout: 15_000 }).toEqual([...rgb]);
    }
    await tech.screenshot({ path: join(shots, '3-viewer-connected.png') });

    // 4. The technician types a command into the remote xterm; it runs there.
    const proof = join(workDir, `proof-${unique}`);
    await remoteClick(tech, 300, 140);
    await tech.keyboard.type(`touch proof-${unique}`);
    await tech.keyboard.press('Enter');
    await waitFor('the command to run on the user\'s display', () => existsSync(proof), 15_000);
    await tech.screenshot({ path: join(shots, '4-command-ran.png') });

    // 4b. The server restarts (a deploy) under the session: the terminal client
    // and the viewer ride through it, and the session resumes without a new consent.
    // The viewer says so as soon as its connection closes (it used to wait for the ticket's state from the
    // server going down: the cause of a miss of this 15 s once). The restart waits for the old server's
    // processes to be gone, not for npm's (which exits first), so that the port is free.
    const stopped = stopProductServer();
    await tech.waitForSelector('#state[data-state="reconnecting"]', { timeout: 15_000 });
    await stopped;
    await tech.screenshot({ path: join(shots, '4b-server-restarting.png') });
    await waitFor('the user to be told it reconnects', () => clientOut.includes('The connection to the helpdesk was interrupted. Reconnecting…'), 15_000);
    const beforeRestart = clientOut.length;
    await startProductServer();
    await tech.waitForSelector('#state[data-state="connected"]', { timeout: 60_000 });
    await waitFor('the user to see the session again', () => clientOut.slice(beforeRestart).includes('Ana is helping you.'), 30_000);
    expect(client.exitCode).toBeNull();
    expect(clientOut).not.toMatch(/Allow control[^]*Allow control/); // asked once only
    await expect.poll(() => pixel(tech, 300, 140), { timeout: 15_000 }).toEqual([...x.xtermRgb]);
    await tech.screenshot({ path: join(shots, '4c-resumed-after-restart.png') });

    // 5. The user stops; the viewer says so; the timeline has every step; the technician resolves.
    client.stdin!.write('stop\n');
    await tech.waitForSelector('#state[data-state="over"]');
    expect(await tech.locator('#state').textContent()).toBe('The session is over: the user stopped the session. Say what was done to resolve the ticket.');
    await tech.screenshot({ path: join(shots, '5-user-stopped.png') });
    expect(await clientExit).toBe(0);
    await tech.goto(`${serverUrl}/tickets/${ticketId}`);
    const actions = await tech.locator('#timeline li').evaluateAll((items) => items.map((li) => li.getAttribute('data-action')));
    expect(actions).toEqual(expect.arrayContaining([
      'ticket.created', 'ticket.accept', 'ticket.approve', 'session.desktop_waiting', 'ticket.start_session', 'session.resumed', 'ticket.end', 'session.ended',
    ]));
    // Recorded (the default): one recording before the restart, one after, both complete and playable.
    await expect
      .poll(async () => {
        await tech.reload();
        return tech.locator('#recordings tbody tr').evaluateAll((rows) => rows.map((r) => r.children[4]?.textContent));
      }, { timeout: 15_000 })
      .toEqual(['complete', 'complete']);
    expect(await tech.locator('#recordings').getByRole('link', { name: 'Play' }).count()).toBe(2);
    await tech.getByLabel('Resolution').fill(`Ran the fix for ${unique}`);
    await tech.getByRole('button', { name: 'Resolve' }).click();
    await expect.poll(() => tech.locator('#resolution').textContent()).toBe(`Ran the fix for ${unique}`);
    await tech.screenshot({ path: join(shots, '6-resolved.png'), fullPage: true });

    // 6. The viewer token used in step 3 is refused when used again.
    expect(mintedUrls.length).toBeGreaterThan(0);
    const refused = await new Promise<number>((resolve, reject) => {
      const ws = new WebSocket(mintedUrls[0]!, { origin: serverUrl });
      ws.once('unexpected-response', (_req, res) => resolve(res.statusCode ?? 0));
      ws.once('open', () => reject(new Error('a used token opened a session')));
      ws.once('error', reject);
    });
    expect(refused).toBe(401);
    await context.close();
  }, 180_000);
});
