// Chat in the browser and in the terminal, every part real: the technician in
// Chromium (queue, ticket page), the user in the terminal client as a process.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawn, type ChildProcess } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { ADMIN_PASSWORD, startHarness, type Harness } from '../test/server-harness.ts';
import { artifactsDir, launchChromium, technicianPage } from '../test/browser.ts';

let h: Harness;
let browser: Browser;
let client: ChildProcess | null = null;
let out = '';
const shots = join(artifactsDir, 'chat');

beforeAll(async () => {
  mkdirSync(shots, { recursive: true });
  [h, browser] = await Promise.all([startHarness('sqlite'), launchChromium()]);
  await h.createTechnician(await h.login('admin', ADMIN_PASSWORD), 'ana');
}, 60_000);

afterAll(async () => {
  client?.kill('SIGTERM');
  await browser?.close();
  await h?.close();
});

async function waitForOutput(pattern: RegExp, timeoutMs = 10_000): Promise<RegExpMatchArray> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const match = out.match(pattern);
    if (match) return match;
    if (Date.now() > deadline) throw new Error(`no ${pattern} in:\n${out}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

const technician = (path: string): Promise<Page> => technicianPage(browser, h.server.url, path);

describe('chat between the technician (Chromium) and the user (terminal client)', () => {
  it('messages go both ways live while the request waits, show as text, stay after a reload, and count as unread until read', async () => {
    client = spawn(process.execPath, ['desktop-client/bin/helpdesk-client.js', '--description', 'Printer jams'], {
      env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '/tmp', HELPDESK_SERVER_URL: h.server.url, DISPLAY: ':0', HELPDESK_REQUESTER_NAME: 'Tess Terminal' },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    client.stdout!.on('data', (d: Buffer) => (out += d.toString()));
    client.stderr!.on('data', (d: Buffer) => (out += d.toString()));
    const id = Number((await waitForOutput(/Your request is #(\d+)\./))[1]);
    await waitForOutput(/type "say" and your message/);

    // The queue counts the user's unread message, live.
    const queue = await technician('/queue');
    await queue.waitForSelector('body[data-live="on"]');
    client.stdin!.write('say Is anyone there?\n');
    await expect.poll(() => queue.locator(`tr[data-ticket-id="${id}"] .unread`).textContent(), { timeout: 5_000 }).toBe('1 unread');
    await queue.screenshot({ path: join(shots, '1-queue-unread.png') });

    // The ticket page: the conversation so far; the technician answers; the user reads it in the terminal.
    const page = queue;
    await page.goto(`${h.server.url}/tickets/${id}`);
    await page.waitForSelector('[data-chat][data-live="on"]');
    expect(await page.locator('.chat-log li').first().textContent()).toMatch(/Tess Terminal \(user\).*Is anyone there\?/s);
    const before = out.length;
    const sentAt = Date.now();
    await page.getByLabel('Message to the user').fill('Seen, coming in five minutes');
    await page.getByRole('button', { name: 'Send' }).click();
    await waitForOutput(/Ana: Seen, coming in five minutes\n/, 5_000);
    expect(Date.now() - sentAt).toBeLessThan(1_000);
    expect(out.slice(before)).toContain('Ana: Seen, coming in five minutes');

    // The user answers with markup: it arrives live, as text.
    const said = Date.now();
    client.stdin!.write('say Which tray? <script>window.hacked = 1</script><b>bold</b>\n');
    const last = page.locator('.chat-log li').nth(2);
    await last.waitFor({ timeout: 1_000 });
    expect(Date.now() - said).toBeLessThan(1_000);
    expect(await last.locator('p').textContent()).toBe('Which tray? <script>window.hacked = 1</script><b>bold</b>');
    expect(await page.locator('.chat-log script, .chat-log b').count()).toBe(0);
    expect(await page.evaluate(() => (window as unknown as { hacked?: number }).hacked)).toBeUndefined();
    await page.screenshot({ path: join(shots, '2-ticket-conversation.png') });

    // After a reload: the same conversation, rendered by the server (still as text).
    await page.reload();
    const texts = await page.locator('.chat-log li p').allTextContents();
    expect(texts).toEqual(['Is anyone there?', 'Seen, coming in five minutes', 'Which tray? <script>window.hacked = 1</script><b>bold</b>']);
    expect(await page.locator('.chat-log script, .chat-log b').count()).toBe(0);

    // Read: the queue shows no unread count any more.
    await page.goto(`${h.server.url}/queue`);
    expect(await page.locator(`tr[data-ticket-id="${id}"] .unread`).textContent()).toBe('');
    await page.context().close();
    client.stdin!.write('stop\n');
  }, 60_000);

  it('files each way: offered from the ticket page and saved by the terminal client without overwriting; sent back and downloaded in Chromium; SHA-256 both ways', async () => {
    const downloads = mkdtempSync(join(tmpdir(), 'cli-downloads-'));
    writeFileSync(join(downloads, 'fix.sh'), 'an older file of the same name');
    out = '';
    client = spawn(process.execPath, ['desktop-client/bin/helpdesk-client.js', '--description', 'Needs a script'], {
      env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '/tmp', HELPDESK_SERVER_URL: h.server.url, DISPLAY: ':0', HELPDESK_REQUESTER_NAME: 'Tess Terminal', HELPDESK_DOWNLOAD_DIR: downloads },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    client.stdout!.on('data', (d: Buffer) => (out += d.toString()));
    client.stderr!.on('data', (d: Buffer) => (out += d.toString()));
    const id = Number((await waitForOutput(/Your request is #(\d+)\./))[1]);
    const page = await technician('/queue');
    await page.waitForSelector('body[data-live="on"]');
    await page.getByRole('button', { name: new RegExp(`Accept #${id}`) }).click();
    await page.waitForURL('**/mine');
    await page.goto(`${h.server.url}/tickets/${id}`);

    // The technician offers a file from the page (a real browser upload).
    const script = randomBytes(120_000);
    const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');
    await page.locator('#file-input').setInputFiles({ name: 'fix.sh', mimeType: 'application/x-sh', buffer: script });
    await page.getByRole('button', { name: 'Send file' }).click();
    await expect.poll(() => page.locator('.files-status').textContent()).toMatch(new RegExp(`fix\\.sh offered to the user \\(SHA-256 ${sha(script)}\\)`));
    await waitForOutput(new RegExp(`Ana offers you a file: fix\\.sh \\(117\\.2 KiB, SHA-256 ${sha(script)}\\)\\. Type "accept 1"`));
    client.stdin!.write('accept 1\n');
    await waitForOutput(/Saved to .*fix \(1\)\.sh \(its SHA-256 checked\)\./);
    expect(sha(readFileSync(join(downloads, 'fix (1).sh')))).toBe(sha(script));
    expect(readFileSync(join(downloads, 'fix.sh'), 'utf8')).toBe('an older file of the same name');
    await expect.poll(() => page.locator('.file-list tr[data-state="accepted"]').count(), { timeout: 5_000 }).toBe(1);

    // The user sends a log back; the page lists it live; the technician downloads the same bytes.
    const logPath = join(downloads, 'app.log');
    const log = randomBytes(80_000);
    writeFileSync(logPath, log);
    client.stdin!.write(`send ${logPath}\n`);
    await waitForOutput(new RegExp(`Sent app\\.log \\(78\\.1 KiB, SHA-256 ${sha(log)}\\)\\.`));
    const link = page.locator('.file-list tr[data-state="available"] a');
    await link.waitFor({ timeout: 5_000 });
    const [download] = await Promise.all([page.waitForEvent('download'), link.click()]);
    expect(download.suggestedFilename()).toBe('app.log');
    expect(sha(readFileSync((await download.path())))).toBe(sha(log));
    await page.screenshot({ path: join(shots, '3-files.png'), fullPage: true });
    await page.context().close();
    client.stdin!.write('stop\n');
  }, 60_000);
});
