// The benchmarks' shared kit: small helpers, the driver's sink, and the
// systems a relay benchmark puts side by side — a bare Node TCP pipe,
// websockify (Debian's package), and the repeater in its own process or
// embedded in an HTTP server as the helpdesk server runs it. Each runs as its
// own process, so its CPU can be read from /proc apart from the driver's.
import { fork, spawn, execFileSync, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { readFileSync } from 'node:fs';
import { connect, createServer, type Server, type Socket } from 'node:net';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { tsExecArgv } from '../lib/node-entry.ts';

export const HOST = '127.0.0.1';
export const MiB = 1024 * 1024;
export const GiB = 1024 * MiB;
export const PHASE_LIMIT_MS = 120_000;

export type SystemName = 'direct' | 'nodePipe' | 'websockify' | 'repeater' | 'embedded';

export interface Relay {
  name: SystemName;
  pid: number | null;
  port: number;
  child?: ChildProcess;
  stop(): Promise<void>;
}

export function withDeadline<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout;
  return Promise.race([
    promise,
    new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`${what}: no answer within ${ms} ms`)), ms);
    }),
  ]).finally(() => clearTimeout(timer));
}

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
export const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
};
export const percentile = (xs: number[], p: number): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.ceil((p / 100) * s.length) - 1)] ?? NaN;
};
export const round = (x: number, digits = 2): number => Number(x.toFixed(digits));

export const driverCpuSeconds = (): number => {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1e6;
};


/** The driver's sink: counts what arrives on each accepted connection. */
export class Sink {
  server: Server;
  port = 0;
  #waiting: ((s: Socket) => void)[] = [];
  #early: Socket[] = [];
  echo = false;

  constructor() {
    this.server = createServer({ noDelay: true }, (socket) => {
      socket.on('error', () => socket.destroy());
      if (this.echo) {
        socket.pipe(socket);
        return;
      }
      socket.pause();
      const waiter = this.#waiting.shift();
      if (waiter) waiter(socket);
      else this.#early.push(socket);
    });
  }

  async listen(): Promise<void> {
    this.server.listen(0, HOST);
    await once(this.server, 'listening');
    this.port = (this.server.address() as { port: number }).port;
  }

  next(): Promise<Socket> {
    const early = this.#early.shift();
    if (early) return Promise.resolve(early);
    return new Promise((resolve) => this.#waiting.push(resolve));
  }
}

export async function forkReady(script: string, args: string[] = [], env: Record<string, string> = {}): Promise<{ child: ChildProcess; message: Record<string, unknown> }> {
  const child = fork(fileURLToPath(new URL(script, import.meta.url)), args, {
    // BENCH_PROF_DIR: each child writes a V8 CPU profile there (where the time goes).
    execArgv: [...tsExecArgv(), '--expose-gc', ...(process.env.BENCH_PROF_DIR ? ['--cpu-prof', `--cpu-prof-dir=${process.env.BENCH_PROF_DIR}`] : [])],
    env: { ...process.env, ...env },
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  const [message] = (await withDeadline(once(child, 'message'), 30_000, `${script} start`)) as [Record<string, unknown>];
  return { child, message };
}

export async function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  child.kill('SIGTERM');
  await withDeadline(once(child, 'exit'), 5_000, 'child stop').catch(() => child.kill('SIGKILL'));
}

/** The repeater as its own process (`repeater.listen`), or embedded in an HTTP server behind the server's connection gate. */
export async function startRepeater(mode: 'repeater' | 'embedded' = 'repeater', env: Record<string, string> = {}): Promise<Relay & { child: ChildProcess; nativeMasking: boolean }> {
  const { child, message } = await forkReady('./repeater-process.ts', [], { ...env, ...(mode === 'embedded' ? { BENCH_EMBEDDED: '1' } : {}) });
  return {
    name: mode,
    pid: child.pid ?? null,
    port: Number(message.port),
    child,
    nativeMasking: message.nativeMasking === true,
    stop: () => stopChild(child),
  };
}

/** A child's resident memory, asked over IPC (after a GC). */
export async function childRss(child: ChildProcess): Promise<{ rss: number; stats: { sessions: number } }> {
  child.send({ type: 'rss' });
  const [reply] = (await withDeadline(once(child, 'message'), 10_000, 'rss')) as [{ rss: number; stats: { sessions: number } }];
  return reply;
}

export async function startNodePipe(sinkPort: number): Promise<Relay> {
  const { child, message } = await forkReady('./node-pipe.ts', [String(sinkPort)]);
  return { name: 'nodePipe', pid: child.pid ?? null, port: Number(message.port), stop: () => stopChild(child) };
}

export function websockifyInstalled(): boolean {
  try {
    execFileSync('sh', ['-c', 'command -v websockify'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

export async function freePort(): Promise<number> {
  const s = createServer();
  s.listen(0, HOST);
  await once(s, 'listening');
  const port = (s.address() as { port: number }).port;
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}

export async function startWebsockify(sinkPort: number): Promise<Relay> {
  const port = await freePort();
  const child = spawn('websockify', [`${HOST}:${port}`, `${HOST}:${sinkPort}`], { stdio: 'ignore', detached: true });
  const deadline = Date.now() + 15_000;
  for (;;) {
    const ok = await new Promise<boolean>((resolve) => {
      const s = connect(port, HOST, () => {
        s.destroy();
        resolve(true);
      });
      s.on('error', () => resolve(false));
    });
    if (ok) break;
    if (Date.now() > deadline) throw new Error('websockify did not start listening within 15 s');
    await sleep(100);
  }
  return {
    name: 'websockify',
    pid: child.pid ?? null,
    port,
    async stop() {
      if (child.exitCode !== null) return;
      process.kill(-child.pid!, 'SIGTERM'); // its process group: the forked per-connection workers too
      await withDeadline(once(child, 'exit'), 5_000, 'websockify stop').catch(() => process.kill(-child.pid!, 'SIGKILL'));
    },
  };
}

/** The machine and the runtime, for the first line of every benchmark. */
export function machineLine(): string {
  const cpu = readFileSync('/proc/cpuinfo', 'utf8').match(/model name\s*:\s*(.*)/)?.[1] ?? 'cpu';
  return `node ${process.version}, ${cpu}`;
}

/** Whether the driver's own websocket masking runs in bufferutil's native code. */
export function bufferutilInDriver(): boolean {
  try {
    const util = createRequire(import.meta.url)('bufferutil') as { unmask: () => void };
    return /\[native code\]/.test(Function.prototype.toString.call(util.unmask));
  } catch {
    return false;
  }
}
