// Runs repeater/main.ts as its own process for tests, the way a service
// manager would (node directly, no npm), and stops it by its pid.
import { spawn, type ChildProcess } from 'node:child_process';
import { freePort } from './processes.ts';
import { fileURLToPath } from 'node:url';
import { entryArgs } from '../lib/node-entry.ts';
import { TEST_RECORDING_KEY } from './http-clients.ts';

export const TEST_REPEATER_SECRET = 'repeater-secret-for-tests-0123456789abcdef';

export interface RepeaterProcess {
  child: ChildProcess;
  port: number;
  url: string;
  /** What it printed (stdout and stderr), for failures. */
  output(): string;
  /** SIGTERM, then SIGKILL after 8 s; resolves with the exit code (null when killed by a signal). */
  stop(): Promise<number | null>;
  kill(): Promise<void>;
}

export { freePort };

const mainPath = fileURLToPath(new URL('../repeater/main.ts', import.meta.url));

/** Starts a repeater process; with `waitHealthy`, resolves once /healthz says it is linked to its server. */
export async function startRepeaterProcess(env: Record<string, string>, options: { port?: number; waitHealthy?: boolean } = {}): Promise<RepeaterProcess> {
  const port = options.port ?? (await freePort());
  const child = spawn(process.execPath, entryArgs(mainPath), {
    env: { PATH: process.env.PATH ?? '', REPEATER_PORT: String(port), REPEATER_HOST: '127.0.0.1', LOG_LEVEL: 'warn', RECORDING_KEY: TEST_RECORDING_KEY, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout.on('data', (d: Buffer) => (output += d.toString()));
  child.stderr.on('data', (d: Buffer) => (output += d.toString()));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const handle: RepeaterProcess = {
    child,
    port,
    url: `http://127.0.0.1:${port}`,
    output: () => output,
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return child.exitCode;
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 8_000);
      const code = await exited;
      clearTimeout(timer);
      return code;
    },
    async kill() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill('SIGKILL');
      await exited;
    },
  };
  if (options.waitHealthy !== false) {
    const deadline = Date.now() + 20_000;
    for (;;) {
      if (child.exitCode !== null) throw new Error(`repeater exited with ${child.exitCode}: ${output}`);
      const ok = await fetch(`${handle.url}/healthz`).then((r) => r.ok, () => false);
      if (ok) break;
      if (Date.now() > deadline) {
        await handle.kill();
        throw new Error(`repeater not healthy within 20 s: ${output}`);
      }
      await new Promise((r) => setTimeout(r, 100));
    }
  }
  return handle;
}
