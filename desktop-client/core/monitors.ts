// The monitors of an X display, as XRandR lists them (RandR 1.5 monitors:
// real outputs, or virtual ones an administrator set up), so the user can
// share one instead of all. x11vnc then serves only that rectangle (-clip).
import { execFile } from 'node:child_process';

export interface Monitor {
  /** XRandR's name for it (DP-1, HDMI-2, or a virtual monitor's name). */
  name: string;
  width: number;
  height: number;
  x: number;
  y: number;
  primary: boolean;
}

/** "RIGHT 640×480": how the user and the technician read a monitor. */
export function monitorLabel(m: Monitor): string {
  return `${m.name} ${m.width}×${m.height}`;
}

/** x11vnc's -clip geometry of a monitor. */
export function clipOf(m: Monitor): string {
  return `${m.width}x${m.height}+${m.x}+${m.y}`;
}

/** Parses `xrandr --listmonitors`; the whole-screen entry Xvfb adds beside real monitors is left out. */
export function parseMonitors(text: string): Monitor[] {
  const monitors: Monitor[] = [];
  for (const line of text.split('\n')) {
    const m = /^\s*\d+:\s+([+*]*)(\S+)\s+(\d+)\/\d+x(\d+)\/\d+\+(\d+)\+(\d+)/.exec(line);
    if (!m) continue;
    monitors.push({ name: m[2]!, width: Number(m[3]), height: Number(m[4]), x: Number(m[5]), y: Number(m[6]), primary: m[1]!.includes('*') });
  }
  if (monitors.length <= 1) return monitors;
  // A monitor that covers all the others is the screen itself, not a choice.
  return monitors.filter((a) => !monitors.every((b) => a === b || (b.x >= a.x && b.y >= a.y && b.x + b.width <= a.x + a.width && b.y + b.height <= a.y + a.height)));
}

/** The display's monitors; an empty list when XRandR cannot tell (then only "all screens" is offered). */
export function listMonitors(display: string, xrandr = 'xrandr'): Promise<Monitor[]> {
  return new Promise((resolve) => {
    execFile(xrandr, ['-d', display, '--listmonitors'], { timeout: 5_000 }, (err, stdout) => {
      resolve(err ? [] : parseMonitors(stdout));
    });
  });
}
