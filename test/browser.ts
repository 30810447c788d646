// Debian's Chromium driven by playwright-core (never a downloaded browser).
// Playwright gives every launch a fresh, empty user-data-dir of its own.
import { join } from 'node:path';
import { chromium, type Browser } from 'playwright-core';

export async function launchChromium(): Promise<Browser> {
  return chromium.launch({
    executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium',
    headless: true,
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  });
}

/** Where tests save screenshots (kept as CI artifacts). */
export const artifactsDir = join(process.cwd(), 'artifacts');

/**
 * Opens `path` on a server in a fresh browser context as a technician: the
 * page sends a visitor without a session to the login form and back, which is
 * filled in (passwords as the harness's createTechnician makes them).
 */
export async function technicianPage(
  browser: Browser,
  serverUrl: string,
  path: string,
  username = 'ana',
  viewport = { width: 1280, height: 900 },
): Promise<import('playwright-core').Page> {
  const page = await (await browser.newContext({ viewport })).newPage();
  await page.goto(`${serverUrl}${path}`);
  await page.getByLabel('Username').fill(username);
  await page.getByLabel('Password').fill(`${username}-password-123`);
  await page.getByRole('button', { name: 'Log in' }).click();
  await page.waitForURL(`**${path}`);
  return page;
}
