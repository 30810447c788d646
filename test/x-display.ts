// A private X display for tests: Xvfb with -noreset (so a painted root
// survives clients leaving), a solid root colour, and an xterm whose typed
// lines land in a file, so keys sent through the viewer can be read back.
import { spawn, execFileSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { daemonArgs, reapOnExit } from './child-reaper.ts';
import { stopProcess } from './processes.ts';

export interface XDisplay {
  display: string;
  /** File the xterm's `cat` writes each typed line to. */
  typedFile: string;
  /** The root colour as [r, g, b]. */
  rootRgb: [number, number, number];
  /** The xterm's background colour as [r, g, b]. */
  xtermRgb: [number, number, number];
  typed(): string;
  stop(): Promise<void>;
}

const ROOT = '#1e7b4d';
const XTERM_BG = '#ffcc00';
const hex = (h: string): [number, number, number] => [1, 3, 5].map((i) => parseInt(h.slice(i, i + 2), 16)) as [number, number, number];

export interface XDisplayOptions {
  /** Run an interactive shell in the xterm (after printing `banner`) instead of the typed-lines recorder. */
  shell?: { banner: string; cwd: string };
  /**
   * Two monitors side by side (RandR monitors LEFT 800×600+0+0 and RIGHT
   * 640×480+800+0 on a 1440×600 screen), with a second window, in its own
   * colour, on RIGHT at +900+40 (100,40 within RIGHT).
   */
  twoMonitors?: boolean;
}

export const RIGHT_WINDOW_BG = '#7733cc';

export async function startXDisplay(options: XDisplayOptions = {}): Promise<XDisplay> {
  let number = 90 + Math.floor(Math.random() * 400);
  while (existsSync(`/tmp/.X11-unix/X${number}`) || existsSync(`/tmp/.X${number}-lock`)) number += 1;
  const display = `:${number}`;
  const children: ChildProcess[] = [];
  // Stops what was started, last first; also when the start itself fails (else its Xvfb ran on for good).
  const stopAll = async (): Promise<void> => {
    for (const child of children.splice(0).reverse()) await stopProcess(child);
  };
  try {
    return await startIn(display, number, children, options, stopAll);
  } catch (err) {
    await stopAll();
    throw err;
  }
}

async function startIn(display: string, number: number, children: ChildProcess[], options: XDisplayOptions, stopAll: () => Promise<void>): Promise<XDisplay> {
  const size = options.twoMonitors ? '1440x600x24' : '1024x768x24';
  // Killed with this process even when no clean-up runs (child-reaper.ts).
  const xvfb = reapOnExit(spawn(...daemonArgs('Xvfb', [display, '-screen', '0', size, '-noreset', '-nolisten', 'tcp']), { stdio: 'ignore' }));
  children.push(xvfb);
  const deadline = Date.now() + 15_000;
  while (!existsSync(`/tmp/.X11-unix/X${number}`)) {
    if (xvfb.exitCode !== null) throw new Error(`Xvfb ${display} exited with ${xvfb.exitCode}`);
    if (Date.now() > deadline) throw new Error(`Xvfb ${display} did not start`);
    await new Promise((r) => setTimeout(r, 50));
  }
  const env = { ...process.env, DISPLAY: display };
  execFileSync('xsetroot', ['-solid', ROOT], { env });
  if (options.twoMonitors) {
    execFileSync('xrandr', ['--setmonitor', 'LEFT', '800/200x600/150+0+0', 'none'], { env });
    execFileSync('xrandr', ['--setmonitor', 'RIGHT', '640/160x480/120+800+0', 'none'], { env });
    children.push(reapOnExit(spawn('xterm', ['-geometry', '30x6+900+40', '-bg', RIGHT_WINDOW_BG, '-e', 'sh', '-c', 'exec sleep 3600'], { env, stdio: 'ignore' })));
  }
  const dir = mkdtempSync(join(tmpdir(), 'helpdesk-x-'));
  const typedFile = join(dir, 'typed.txt');
  writeFileSync(typedFile, '');
  const program = options.shell
    ? `printf '%s\\n' '${options.shell.banner}'; exec sh -i`
    : `stty -echo; exec cat > '${typedFile}'`;
  const xterm = reapOnExit(spawn('xterm', ['-geometry', '60x8+40+40', '-bg', XTERM_BG, '-fg', 'black', '-e', 'sh', '-c', program], {
    env: { ...env, PS1: '$ ' },
    cwd: options.shell?.cwd,
    stdio: 'ignore',
  }));
  children.push(xterm);
  // Wait for the xterm window to be mapped.
  const windowDeadline = Date.now() + 15_000;
  for (;;) {
    try {
      const windows = execFileSync('xdotool', ['search', '--onlyvisible', '--class', 'xterm'], { env, stdio: 'pipe' }).toString().trim().split('\n');
      if (windows.length >= (options.twoMonitors ? 2 : 1)) break;
      throw new Error(`${windows.length} xterm window(s) so far`);
    } catch (err) {
      if (Date.now() > windowDeadline) throw new Error(`xterm did not appear: ${(err as Error).message}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  }
  return {
    display,
    typedFile,
    rootRgb: hex(ROOT),
    xtermRgb: hex(XTERM_BG),
    typed: () => readFileSync(typedFile, 'utf8'),
    stop: stopAll,
  };
}
