// A real Wayland desktop for tests: Debian's sway, headless, with a solid
// background colour, served by wayvnc on loopback — both run as the
// unprivileged user `nobody` (sway refuses root) with their own runtime folder.
import { spawn, type ChildProcess } from 'node:child_process';
import { chownSync, mkdtempSync, chmodSync, mkdirSync, writeFileSync, existsSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort, stopProcess, waitForPort } from './processes.ts';

export interface WaylandDesktop {
  /** wayvnc's loopback port (RFB 3.8, security None). */
  port: number;
  /** The background colour sway paints. */
  rgb: [number, number, number];
  stop(): Promise<void>;
}

const NOBODY = { uid: 65534, gid: 65534 };

function asNobody(command: string, args: string[], env: Record<string, string>): ChildProcess {
  return spawn('setpriv', ['--reuid=nobody', '--regid=nogroup', '--clear-groups', 'env', '-i', ...Object.entries(env).map(([k, v]) => `${k}=${v}`), command, ...args], {
    stdio: 'ignore',
  });
}

/** `extraConfig`: more lines for sway's config (a test's key bindings, say). */
export async function startWaylandDesktop(options: { extraConfig?: string } = {}): Promise<WaylandDesktop> {
  const root = mkdtempSync(join(tmpdir(), 'helpdesk-wayland-'));
  chmodSync(root, 0o755);
  const runtime = join(root, 'run');
  mkdirSync(runtime);
  chownSync(runtime, NOBODY.uid, NOBODY.gid);
  chmodSync(runtime, 0o700);
  const config = join(root, 'config');
  writeFileSync(config, `output HEADLESS-1 resolution 800x600\noutput * bg #336699 solid_color\n${options.extraConfig ?? ''}`);
  chmodSync(config, 0o644);
  const env = { XDG_RUNTIME_DIR: runtime, HOME: root, WLR_BACKENDS: 'headless', WLR_LIBINPUT_NO_DEVICES: '1', WLR_RENDERER: 'pixman' };
  const sway = asNobody('sway', ['-c', config], env);
  const children: ChildProcess[] = [sway];
  const stop = async (): Promise<void> => {
    // wayvnc first, then sway (which ends swaybg).
    for (const child of children.reverse()) await stopProcess(child, 3_000);
    rmSync(root, { recursive: true, force: true });
  };
  try {
    const deadline = Date.now() + 20_000;
    while (!existsSync(join(runtime, 'wayland-1'))) {
      if (sway.exitCode !== null) throw new Error(`sway exited with ${sway.exitCode}`);
      if (Date.now() > deadline) throw new Error('sway did not start within 20 s');
      await new Promise((r) => setTimeout(r, 100));
    }
    const port = await freePort();
    const wayvnc = asNobody('wayvnc', ['127.0.0.1', String(port)], { XDG_RUNTIME_DIR: runtime, HOME: root, WAYLAND_DISPLAY: 'wayland-1' });
    children.push(wayvnc);
    await waitForPort(port, 'wayvnc', wayvnc, Math.max(1_000, deadline - Date.now()));
    return { port, rgb: [0x33, 0x66, 0x99], stop };
  } catch (err) {
    await stop();
    throw err;
  }
}
