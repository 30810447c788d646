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
