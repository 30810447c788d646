// Starts x11vnc in reverse mode: it connects out to the client's loopback
// listener and listens on no port itself (-rfbport 0). The process is owned
// by whoever started it and killed by its pid.
import { spawn, type ChildProcess } from 'node:child_process';
import { DesktopError } from './errors.ts';

export interface X11vncOptions {
  /** Path or name of the x11vnc binary. */
  binary: string;
  /** X display to share, e.g. ":0". */
  display: string;
  /** Loopback port of the client's listener. */
  port: number;
  viewOnly: boolean;
  /** Serve only this rectangle (one monitor: WxH+X+Y), or the whole display when absent. */
  clip?: string | null;
}

export interface X11vncProcess {
  pid: number;
  /** Resolves when the process exits, with a DesktopError when it failed before being stopped. */
  exited: Promise<DesktopError | null>;
  /**
   * SIGTERM, then SIGKILL after killAfterMs: x11vnc can deadlock in its own
   * SIGTERM handler (seen here: stuck on a futex with SIGTERM blocked), so the
   * escalation is what guarantees it is gone. Resolves once it has exited.
   */
  stop(killAfterMs?: number): Promise<void>;
}

export function startX11vnc(options: X11vncOptions): Promise<X11vncProcess> {
  const args = [
    '-display', options.display,
    '-connect_or_exit', `127.0.0.1:${options.port}`,
    '-rfbport', '0',
    '-once',
    '-nopw',
    '-noxdamage',
    '-quiet',
    ...(options.viewOnly ? ['-viewonly'] : []),
    ...(options.clip ? ['-clip', options.clip] : []),
  ];
  return new Promise((resolve, reject) => {
    let child: ChildProcess;
    try {
      child = spawn(options.binary, args, { stdio: ['ignore', 'ignore', 'pipe'] });
    } catch (err) {
      reject(new DesktopError('X11VNC_MISSING', `x11vnc could not be started: ${(err as Error).message}`));
      return;
    }
    let stderr = '';
    let stopped = false;
    child.stderr?.on('data', (chunk: Buffer) => {
      stderr = (stderr + chunk.toString()).slice(-4000);
    });
    const exited = new Promise<DesktopError | null>((resolveExit) => {
      child.once('exit', (code, signal) => {
        if (stopped || code === 0) return resolveExit(null);
        const noDisplay = /XOpenDisplay|cannot open display|Can't open display/i.test(stderr);
        resolveExit(
          noDisplay
            ? new DesktopError('NO_DISPLAY', `x11vnc cannot open display ${options.display}`, stderr)
            : new DesktopError('X11VNC_FAILED', `x11vnc exited (${signal ?? `code ${code}`})`, stderr),
        );
      });
    });
    child.once('error', (err: NodeJS.ErrnoException) => {
      reject(
        err.code === 'ENOENT'
          ? new DesktopError('X11VNC_MISSING', `x11vnc is not installed (looked for "${options.binary}")`)
          : new DesktopError('X11VNC_FAILED', `x11vnc could not be started: ${err.message}`),
      );
    });
    child.once('spawn', () =>
      resolve({
        pid: child.pid!,
        exited,
        stop(killAfterMs = 1500) {
          if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
          const gone = new Promise<void>((resolveGone) => child.once('exit', () => resolveGone()));
          if (!stopped) {
            stopped = true;
            child.kill('SIGTERM');
            // Kept referenced on purpose: a process about to exit waits for this.
            const force = setTimeout(() => child.kill('SIGKILL'), killAfterMs);
            void gone.then(() => clearTimeout(force));
          }
          return gone;
        },
      }),
    );
  });
}
