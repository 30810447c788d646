// A test's X display ends when the test fails (issue 31: each of two failed
// end-to-end runs left its Xvfb running for good). A fixture test that fails
// inside — an assertion (afterAll runs), or its worker killed outright (no
// clean-up can run: the kernel's parent-death signal ends Xvfb) — and a
// display whose own start fails (no xdotool on the PATH, as on the machine of
// the second failure) leave no Xvfb of theirs behind.
import { describe, expect, it } from 'vitest';
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startXDisplay } from './x-display.ts';

/** The Xvfb processes running with this display name, and those whose parent is this process. */
function xvfbs(): { pid: number; display: string; ppid: number }[] {
  const found = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const argv = readFileSync(`/proc/${entry}/cmdline`, 'utf8').split('\0');
      const at = argv.findIndex((a) => a === 'Xvfb' || a.endsWith('/Xvfb'));
      if (at < 0) continue;
      const ppid = Number(readFileSync(`/proc/${entry}/stat`, 'utf8').split(') ')[1]!.split(' ')[1]);
      found.push({ pid: Number(entry), display: argv[at + 1] ?? '', ppid });
    } catch {
      // the process ended while it was read
    }
  }
  return found;
}

/** Runs the fixture test in a vitest of its own; resolves with its exit code and the display it started. */
async function runFixture(mode: 'throw' | 'kill'): Promise<{ code: number | null; display: string }> {
  const out = join(mkdtempSync(join(tmpdir(), 'helpdesk-xfixture-')), 'display');
  const child = spawn(process.execPath, ['node_modules/vitest/vitest.mjs', 'run', '--config', 'test/fixtures/vitest.fixture.config.ts'], {
    env: { ...process.env, XFIXTURE_MODE: mode, XFIXTURE_OUT: out, CI: '' },
    stdio: 'ignore',
  });
  const code = await new Promise<number | null>((resolve) => child.once('exit', (c) => resolve(c)));
  return { code, display: existsSync(out) ? readFileSync(out, 'utf8') : '' };
}

describe('a failing test leaves no Xvfb of its own', () => {
  it.each(['throw', 'kill'] as const)('the test fails inside (%s)', async (mode) => {
    const { code, display } = await runFixture(mode);
    expect(code).not.toBe(0);
    expect(display).toMatch(/^:\d+$/);
    await expect.poll(() => xvfbs().filter((x) => x.display === display), { timeout: 10_000 }).toEqual([]);
  }, 90_000);

  it('the display\'s own start fails (no xdotool)', async () => {
    // Everything startXDisplay runs, except xdotool.
    const bin = mkdtempSync(join(tmpdir(), 'helpdesk-no-xdotool-'));
    for (const tool of ['Xvfb', 'xsetroot', 'xterm', 'setpriv', 'sh', 'stty', 'cat']) {
      const path = ['/usr/bin', '/bin', '/usr/sbin'].map((d) => join(d, tool)).find((p) => existsSync(p));
      if (path) symlinkSync(path, join(bin, tool));
    }
    const savedPath = process.env.PATH;
    process.env.PATH = bin;
    try {
      await expect(startXDisplay()).rejects.toThrow(/xterm did not appear/);
    } finally {
      process.env.PATH = savedPath;
    }
    expect(xvfbs().filter((x) => x.ppid === process.pid)).toEqual([]);
  }, 60_000);
});
