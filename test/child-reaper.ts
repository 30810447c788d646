// The floor under a test helper's own stop(): helper processes (Xvfb, xterm,
// the product's server in its process group…) never outlive the test process
// that started them. Two nets, for two ways a test ends badly:
// - the test process exits (a failed start, a hook that timed out, a worker
//   ended with process.exit): every child still registered gets SIGKILL
//   (its whole group when it leads one) in the process's 'exit' handler;
// - the test process is killed outright (SIGKILL, a crash): a daemon started
//   through `daemonArgs` carries PR_SET_PDEATHSIG (setpriv --pdeathsig), so the
//   kernel kills it when its parent goes.
// The clean way stays the helper's stop() in afterAll/finally; a child that
// exits is forgotten here.
import type { ChildProcess } from 'node:child_process';

const running = new Map<ChildProcess, { group: boolean }>();

function killAll(): void {
  for (const [child, { group }] of running) {
    if (child.exitCode !== null || child.signalCode !== null || !child.pid) continue;
    try {
      if (group) process.kill(-child.pid, 'SIGKILL');
      else child.kill('SIGKILL');
    } catch {
      // ESRCH: it exited between the check and the signal
    }
  }
}

process.on('exit', killAll);

/** Registers a child to be killed if the test process exits while it runs; `group`: it leads a process group (spawned detached). */
export function reapOnExit<T extends ChildProcess>(child: T, options: { group?: boolean } = {}): T {
  running.set(child, { group: options.group ?? false });
  child.once('exit', () => running.delete(child));
  return child;
}

/** The command and arguments that run `command` with SIGKILL as its parent-death signal. */
export function daemonArgs(command: string, args: string[]): [string, string[]] {
  return ['setpriv', ['--pdeathsig', 'SIGKILL', '--', command, ...args]];
}

/** The pids of the children registered and still running (for tests of the helpers). */
export function registeredPids(): number[] {
  return [...running.keys()].filter((c) => c.exitCode === null && c.signalCode === null && c.pid).map((c) => c.pid!);
}
