// Repeater benchmark (not a test). In one process tree, interleaved, three
// rounds: a direct TCP stream; a bare Node TCP relay (net sockets piped, the
// floor for any Node relay); websockify (Debian's package, when installed);
// and the repeater in its own process. Each relay runs as its own process and
// its CPU is read from /proc (every thread, children included), so CPU per GiB
// is the relay's alone; the driver's own CPU is printed beside it.
//
// What flows, 64 KiB at a time, the way a screen flows in each deployment:
// through the repeater, from a desktop leg (masked websocket frames) to a
// viewer leg (unmasked frames), so the repeater unmasks and re-frames every
// byte; through websockify, from its TCP side (where x11vnc would be) to a
// websocket client (where noVNC would be), so it only frames; through the Node
// pipe and directly, raw TCP. Before the measured rounds each system carries
// one unmeasured warm-up stream (JIT, TCP windows).
//
// Then, on the repeater: pairing latency (2,000 sessions offered at 500/s),
// 64-byte echo RTT next to the same on the other paths, and 9,000 idle paired
// sessions (RSS per session). Every loop is bounded in count and in time; all
// traffic is loopback. Last line: one JSON object.
import { fork, spawn, execFileSync, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { readFileSync } from 'node:fs';
import { connect, createServer, type Server, type Socket } from 'node:net';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { WebSocket } from 'ws';
import { countBytes, countFramePayload, maskedFrame, pump, rawWebSocket } from './raw-ws.ts';
import { treeCpuSeconds } from './proc-cpu.ts';

const HOST = '127.0.0.1';
const MiB = 1024 * 1024;
const GiB = 1024 * MiB;
const MESSAGE_BYTES = 64 * 1024;
const ONE_STREAM_BYTES = 256 * MiB;
const MANY_STREAMS = 50;
const MANY_STREAM_BYTES = 5 * MiB;
const ROUNDS = 3;
const PAIR_SESSIONS = 2000;
const PAIR_RATE_PER_S = 500;
const RTT_SAMPLES = 2000;
const IDLE_SESSIONS = 9000;
const IDLE_HOLD_MS = 10_000;
const PHASE_LIMIT_MS = 120_000;
const GREETING = Buffer.from('RFB 003.008\n');

type SystemName = 'direct' | 'nodePipe' | 'websockify' | 'repeater';

interface Relay {
  name: SystemName;
  pid: number | null;
  port: number;
  stop(): Promise<void>;
}

// ---------------------------------------------------------------- helpers

function withDeadline<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout;
  return Promise.race([
    promise,
    new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`${what}: no answer within ${ms} ms`)), ms);
    }),
  ]).finally(() => clearTimeout(timer));
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
};
const percentile = (xs: number[], p: number): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.ceil((p / 100) * s.length) - 1)] ?? NaN;
};
const round = (x: number, digits = 2): number => Number(x.toFixed(digits));

const driverCpuSeconds = (): number => {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1e6;
};

// ---------------------------------------------------------------- the systems

/** The driver's sink: counts what arrives on each accepted connection. */
class Sink {
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

async function forkReady(script: string, args: string[] = []): Promise<{ child: ChildProcess; message: Record<string, unknown> }> {
  const child = fork(fileURLToPath(new URL(script, import.meta.url)), args, {
    execArgv: ['--import', 'tsx', '--expose-gc'],
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  const [message] = (await withDeadline(once(child, 'message'), 30_000, `${script} start`)) as [Record<string, unknown>];
  return { child, message };
}

async function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  child.kill('SIGTERM');
  await withDeadline(once(child, 'exit'), 5_000, 'child stop').catch(() => child.kill('SIGKILL'));
}

async function startRepeater(): Promise<Relay & { child: ChildProcess; nativeMasking: boolean }> {
  const { child, message } = await forkReady('./repeater-process.ts');
  return {
    name: 'repeater',
    pid: child.pid ?? null,
    port: Number(message.port),
    child,
    nativeMasking: message.nativeMasking === true,
    stop: () => stopChild(child),
  };
}

async function startNodePipe(sinkPort: number): Promise<Relay> {
  const { child, message } = await forkReady('./node-pipe.ts', [String(sinkPort)]);
  return { name: 'nodePipe', pid: child.pid ?? null, port: Number(message.port), stop: () => stopChild(child) };
}

function websockifyInstalled(): boolean {
  try {
    execFileSync('sh', ['-c', 'command -v websockify'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

async function freePort(): Promise<number> {
  const s = createServer();
  s.listen(0, HOST);
  await once(s, 'listening');
  const port = (s.address() as { port: number }).port;
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}

async function startWebsockify(sinkPort: number): Promise<Relay> {
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

// ---------------------------------------------------------------- one stream set

let sessionSeq = 0;

/** Opens `streams` sender/receiver pairs through a system; returns their sockets ready to flow. */
async function openStreams(system: Relay | null, sink: Sink, streams: number): Promise<{ sender: Socket; receive: (total: number) => Promise<void> }[]> {
  const pairs: { sender: Socket; receive: (total: number) => Promise<void> }[] = [];
  for (let i = 0; i < streams; i++) {
    if (!system) {
      const sender = connect({ host: HOST, port: sink.port, noDelay: true });
      await once(sender, 'connect');
      const receiver = await sink.next();
      pairs.push({ sender, receive: (total) => countBytes(receiver, total) });
    } else if (system.name === 'nodePipe') {
      const sender = connect({ host: HOST, port: system.port, noDelay: true });
      await once(sender, 'connect');
      const receiver = await sink.next();
      pairs.push({ sender, receive: (total) => countBytes(receiver, total) });
    } else if (system.name === 'websockify') {
      // As deployed in front of a VNC server: the screen flows from TCP to the websocket.
      const { socket: receiver, head } = await rawWebSocket(HOST, system.port, '/');
      const sender = await sink.next();
      pairs.push({ sender, receive: (total) => countFramePayload(receiver, head, total) });
    } else {
      const id = `s${sessionSeq++}`;
      const { socket: sender } = await rawWebSocket(HOST, system.port, `/wsServer?token=bench.${id}.desktop`);
      const { socket: receiver, head } = await rawWebSocket(HOST, system.port, `/wsClient?token=bench.${id}.viewer`);
      pairs.push({ sender, receive: (total) => countFramePayload(receiver, head, total) });
    }
  }
  return pairs;
}

interface RunFigures {
  mibs: number;
  relayCpuSPerGiB: number | null;
  driverCpuSPerGiB: number;
}

async function streamRun(system: Relay | null, sink: Sink, streams: number, bytesPerStream: number): Promise<RunFigures> {
  const pairs = await openStreams(system, sink, streams);
  // Masked frames go to the repeater's desktop leg; websockify is fed raw TCP from its VNC side.
  const kind = system?.name === 'repeater' ? 'ws' : 'tcp';
  const payload = Buffer.alloc(MESSAGE_BYTES, 7);
  const frame = kind === 'ws' ? maskedFrame(payload) : payload;
  const frames = Math.ceil(bytesPerStream / MESSAGE_BYTES);
  const total = frames * MESSAGE_BYTES;
  const relayBefore = system?.pid ? treeCpuSeconds(system.pid) : 0;
  const driverBefore = driverCpuSeconds();
  const started = process.hrtime.bigint();
  await withDeadline(
    Promise.all(pairs.map(async (p) => Promise.all([pump(p.sender, frame, frames), p.receive(total)]))),
    PHASE_LIMIT_MS,
    `${system?.name ?? 'direct'} stream run`,
  );
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  const driverCpu = driverCpuSeconds() - driverBefore;
  // Read before the connections close, so per-connection workers (websockify forks one) are still counted.
  const relayCpu = system?.pid ? treeCpuSeconds(system.pid) - relayBefore : null;
  for (const p of pairs) p.sender.destroy();
  await sleep(200);
  const gib = (total * streams) / GiB;
  return { mibs: (total * streams) / MiB / seconds, relayCpuSPerGiB: relayCpu === null ? null : relayCpu / gib, driverCpuSPerGiB: driverCpu / gib };
}

// ---------------------------------------------------------------- latency

/** Reads exactly `n` bytes from a raw socket. */
function readExactly(socket: Socket, n: number, state: { buf: Buffer }): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const check = (): boolean => {
      if (state.buf.length < n) return false;
      const out = state.buf.subarray(0, n);
      state.buf = state.buf.subarray(n);
      resolve(out);
      return true;
    };
    if (check()) return;
    const timer = setTimeout(() => reject(new Error('echo: no answer within 5 s')), 5000);
    const onData = (d: Buffer): void => {
      state.buf = state.buf.length ? Buffer.concat([state.buf, d]) : d;
      if (check()) {
        clearTimeout(timer);
        socket.off('data', onData);
      }
    };
    socket.on('data', onData);
  });
}

/**
 * 64-byte round trips, with the same lean ends on every path: raw sockets, and
 * pre-masked frames where a websocket is spoken (so the driver's websocket
 * library is not what is measured).
 */
async function echoSamples(system: Relay | null, sink: Sink): Promise<number[]> {
  const payload = Buffer.alloc(64, 1);
  const samples: number[] = [];
  const deadline = Date.now() + PHASE_LIMIT_MS;
  const time = async (send: () => void, receive: () => Promise<unknown>): Promise<void> => {
    for (let i = 0; i < RTT_SAMPLES && Date.now() < deadline; i++) {
      const t0 = process.hrtime.bigint();
      send();
      await receive();
      samples.push(Number(process.hrtime.bigint() - t0) / 1000);
    }
  };
  const frame = maskedFrame(payload);
  const state: { buf: Buffer } = { buf: Buffer.alloc(0) };
  if (system?.name === 'repeater') {
    const id = `rtt${sessionSeq++}`;
    const { socket: desktop } = await rawWebSocket(HOST, system.port, `/wsServer?token=bench.${id}.desktop`);
    const { socket: viewer, head } = await rawWebSocket(HOST, system.port, `/wsClient?token=bench.${id}.viewer`);
    state.buf = head;
    // The desktop end echoes each 66-byte frame (2-byte header, 64 bytes) as a masked frame.
    let pending: Buffer = Buffer.alloc(0);
    desktop.on('data', (d: Buffer) => {
      pending = pending.length ? Buffer.concat([pending, d]) : d;
      while (pending.length >= 66) {
        desktop.write(frame);
        pending = pending.subarray(66);
      }
    });
    desktop.resume();
    viewer.resume();
    await time(() => viewer.write(frame), () => readExactly(viewer, 66, state));
    desktop.destroy();
    viewer.destroy();
    return samples;
  }
  sink.echo = true;
  try {
    if (system?.name === 'websockify') {
      const { socket, head } = await rawWebSocket(HOST, system.port, '/');
      state.buf = head;
      socket.resume();
      await time(() => socket.write(frame), () => readExactly(socket, 66, state));
      socket.destroy();
      return samples;
    }
    const socket = connect({ host: HOST, port: system ? system.port : sink.port, noDelay: true });
    await once(socket, 'connect');
    await time(() => socket.write(payload), () => readExactly(socket, 64, state));
    socket.destroy();
    return samples;
  } finally {
    sink.echo = false;
  }
}

function openWs(url: string, localAddress?: string): Promise<WebSocket> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, { perMessageDeflate: false, ...(localAddress ? { localAddress } : {}) });
    ws.once('open', () => resolve(ws));
    ws.once('error', reject);
    ws.once('unexpected-response', (_r, res) => reject(new Error(`HTTP ${res.statusCode}`)));
  });
}

async function pairLatency(port: number): Promise<{ samples: number[]; ratePerS: number; failed: number }> {
  const samples: number[] = [];
  let failed = 0;
  const intervalMs = 1000 / PAIR_RATE_PER_S;
  const deadline = Date.now() + PHASE_LIMIT_MS;
  const inFlight: Promise<void>[] = [];
  const startedAt = performance.now();
  for (let i = 0; i < PAIR_SESSIONS && Date.now() < deadline; i++) {
    const due = startedAt + i * intervalMs;
    const wait = due - performance.now();
    if (wait > 1) await sleep(wait);
    inFlight.push(
      (async () => {
        const id = `p${i}`;
        const desktop = await openWs(`ws://${HOST}:${port}/wsServer?token=bench.${id}.desktop`);
        desktop.send(GREETING);
        const viewer = new WebSocket(`ws://${HOST}:${port}/wsClient?token=bench.${id}.viewer`, { perMessageDeflate: false });
        let openedAt = 0;
        viewer.once('open', () => (openedAt = performance.now()));
        const [first] = (await withDeadline(once(viewer, 'message'), 10_000, 'first byte')) as [Buffer];
        samples.push(performance.now() - openedAt);
        if (!first.equals(GREETING)) throw new Error('greeting altered');
        viewer.close();
        desktop.close();
      })().catch(() => {
        failed += 1;
      }),
    );
  }
  await Promise.all(inFlight);
  const elapsedS = (performance.now() - startedAt) / 1000;
  return { samples, ratePerS: samples.length / elapsedS, failed };
}

async function idleSessions(): Promise<{ held: number; failed: number; rssKiBPerSession: number }> {
  const r = await startRepeater();
  const rss = async (): Promise<{ rss: number; stats: { sessions: number } }> => {
    r.child.send({ type: 'rss' });
    const [reply] = (await withDeadline(once(r.child, 'message'), 10_000, 'rss')) as [{ rss: number; stats: { sessions: number } }];
    return reply;
  };
  try {
    for (let i = 0; i < 50; i++) {
      const d = await openWs(`ws://${HOST}:${r.port}/wsServer?token=bench.w${i}.desktop`);
      const v = await openWs(`ws://${HOST}:${r.port}/wsClient?token=bench.w${i}.viewer`);
      d.close();
      v.close();
    }
    await sleep(500);
    const before = await rss();
    const sockets: WebSocket[] = [];
    let failed = 0;
    let closedEarly = 0;
    const deadline = Date.now() + PHASE_LIMIT_MS;
    let next = 0;
    const worker = async (): Promise<void> => {
      while (next < IDLE_SESSIONS && Date.now() < deadline) {
        const i = next++;
        const localAddress = `127.0.0.${1 + (i % 16)}`;
        try {
          const d = await openWs(`ws://${HOST}:${r.port}/wsServer?token=bench.i${i}.desktop`, localAddress);
          const v = await openWs(`ws://${HOST}:${r.port}/wsClient?token=bench.i${i}.viewer`, localAddress);
          for (const ws of [d, v]) {
            ws.once('close', () => (closedEarly += 1));
            sockets.push(ws);
          }
        } catch {
          failed += 1;
        }
      }
    };
    await Promise.all(Array.from({ length: 100 }, worker));
    const opened = sockets.length / 2;
    await sleep(IDLE_HOLD_MS);
    const after = await rss();
    const held = Math.min(after.stats.sessions, opened) - Math.ceil(closedEarly / 2);
    console.log(`idle: ${opened} sessions opened (${failed} refused), ${after.stats.sessions} held after ${IDLE_HOLD_MS / 1000} s, repeater RSS ${(before.rss / MiB).toFixed(1)} → ${(after.rss / MiB).toFixed(1)} MiB`);
    for (const ws of sockets) ws.terminate();
    return { held, failed: IDLE_SESSIONS - held, rssKiBPerSession: (after.rss - before.rss) / 1024 / Math.max(1, held) };
  } finally {
    await r.stop();
  }
}

// ---------------------------------------------------------------- main

function bufferutilInDriver(): boolean {
  try {
    const util = createRequire(import.meta.url)('bufferutil') as { unmask: () => void };
    return /\[native code\]/.test(Function.prototype.toString.call(util.unmask));
  } catch {
    return false;
  }
}

async function main(): Promise<void> {
  console.log(`repeater benchmark: ${HOST}, node ${process.version}, ${readFileSync('/proc/cpuinfo', 'utf8').match(/model name\s*:\s*(.*)/)?.[1] ?? 'cpu'}, ${(await import('node:os')).cpus().length} cores`);
  const sink = new Sink();
  await sink.listen();
  const repeater = await startRepeater();
  if (!repeater.nativeMasking) console.log('\n!!! WARNING: bufferutil is NOT loaded in the repeater: unmasking runs in JavaScript; figures are not representative !!!\n');
  if (!bufferutilInDriver()) console.log('\n!!! WARNING: bufferutil is NOT loaded in the driver (ws clients mask in JavaScript) !!!\n');
  const systems: (Relay | null)[] = [null, await startNodePipe(sink.port)];
  const hasWebsockify = websockifyInstalled();
  if (hasWebsockify) systems.push(await startWebsockify(sink.port));
  else console.log('websockify is not installed (Debian package "websockify"): its column is left empty');
  systems.push(repeater);

  const one = new Map<SystemName, RunFigures[]>();
  const many = new Map<SystemName, RunFigures[]>();
  const name = (s: Relay | null): SystemName => s?.name ?? 'direct';
  for (const system of systems) await streamRun(system, sink, 1, 64 * MiB);
  for (let round_ = 1; round_ <= ROUNDS; round_++) {
    for (const [label, streams, bytes, store] of [
      ['1 × 256 MiB', 1, ONE_STREAM_BYTES, one],
      [`${MANY_STREAMS} × 5 MiB`, MANY_STREAMS, MANY_STREAM_BYTES, many],
    ] as const) {
      for (const system of systems) {
        const figures = await streamRun(system, sink, streams, bytes);
        const list = store.get(name(system)) ?? [];
        list.push(figures);
        store.set(name(system), list);
        console.log(
          `round ${round_} ${label.padEnd(11)} ${name(system).padEnd(10)} ${figures.mibs.toFixed(0).padStart(5)} MiB/s` +
            `  relay CPU ${figures.relayCpuSPerGiB === null ? '   –' : figures.relayCpuSPerGiB.toFixed(2)} s/GiB  driver CPU ${figures.driverCpuSPerGiB.toFixed(2)} s/GiB`,
        );
      }
    }
  }

  const rtt = new Map<SystemName, number[]>();
  for (const system of systems) rtt.set(name(system), await echoSamples(system, sink));
  for (const system of systems) if (system && system !== repeater) await system.stop();

  const pairs = await pairLatency(repeater.port);
  await repeater.stop();
  sink.server.close();
  const idle = await idleSessions();

  const med = (store: Map<SystemName, RunFigures[]>, s: SystemName, pick: (f: RunFigures) => number | null): number | null => {
    const list = store.get(s);
    if (!list) return null;
    const values = list.map(pick).filter((v): v is number => v !== null);
    return values.length ? median(values) : null;
  };
  const fmt = (v: number | null, digits = 2): string => (v === null ? '–' : v.toFixed(digits));
  const names: SystemName[] = ['direct', 'nodePipe', 'websockify', 'repeater'];
  const header = '| figure (median of 3, interleaved) | direct | node pipe | websockify | repeater |';
  const row = (label: string, f: (s: SystemName) => string): string => `| ${label} | ${names.map(f).join(' | ')} |`;
  const table = [
    header,
    '|---|---|---|---|---|',
    row('1 × 256 MiB, MiB/s', (s) => fmt(med(one, s, (f) => f.mibs), 0)),
    row(`${MANY_STREAMS} × 5 MiB, MiB/s`, (s) => fmt(med(many, s, (f) => f.mibs), 0)),
    row('relay CPU s/GiB, 1 stream', (s) => fmt(med(one, s, (f) => f.relayCpuSPerGiB))),
    row(`relay CPU s/GiB, ${MANY_STREAMS} streams`, (s) => fmt(med(many, s, (f) => f.relayCpuSPerGiB))),
    row('driver CPU s/GiB, 1 stream', (s) => fmt(med(one, s, (f) => f.driverCpuSPerGiB))),
    row(`driver CPU s/GiB, ${MANY_STREAMS} streams`, (s) => fmt(med(many, s, (f) => f.driverCpuSPerGiB))),
    row('64-byte echo p50 / p99, µs', (s) => (rtt.get(s) ? `${fmt(percentile(rtt.get(s)!, 50), 0)} / ${fmt(percentile(rtt.get(s)!, 99), 0)}` : '–')),
  ];
  console.log(`\n${table.join('\n')}\n`);
  console.log(`repeater pairing: ${pairs.samples.length} sessions at ${pairs.ratePerS.toFixed(0)}/s (offered ${PAIR_RATE_PER_S}/s), ${pairs.failed} failed, p50 ${percentile(pairs.samples, 50).toFixed(2)} ms, p99 ${percentile(pairs.samples, 99).toFixed(2)} ms`);
  console.log(`repeater idle sessions: ${idle.held} held, ${idle.failed} failed, ${idle.rssKiBPerSession.toFixed(2)} KiB RSS each`);

  const rttRepeater = rtt.get('repeater') ?? [];
  const result = {
    relayCpuSPerGiB1: round(med(one, 'repeater', (f) => f.relayCpuSPerGiB) ?? NaN, 3),
    relayCpuSPerGiB50: round(med(many, 'repeater', (f) => f.relayCpuSPerGiB) ?? NaN, 3),
    websockifyCpuSPerGiB1: hasWebsockify ? round(med(one, 'websockify', (f) => f.relayCpuSPerGiB) ?? NaN, 3) : null,
    websockifyCpuSPerGiB50: hasWebsockify ? round(med(many, 'websockify', (f) => f.relayCpuSPerGiB) ?? NaN, 3) : null,
    nodePipeCpuSPerGiB1: round(med(one, 'nodePipe', (f) => f.relayCpuSPerGiB) ?? NaN, 3),
    relayMiBs1: round(med(one, 'repeater', (f) => f.mibs) ?? NaN, 0),
    directMiBs1: round(med(one, 'direct', (f) => f.mibs) ?? NaN, 0),
    relayMiBs50: round(med(many, 'repeater', (f) => f.mibs) ?? NaN, 0),
    pairP99Ms: round(percentile(pairs.samples, 99), 3),
    rttP50Us: round(percentile(rttRepeater, 50), 1),
    sessionsHeld: idle.held,
    sessionsFailed: idle.failed,
    rssKiBPerSession: round(idle.rssKiBPerSession, 2),
  };
  console.log(JSON.stringify(result));
}

const watchdog = setTimeout(() => {
  console.error('benchmark exceeded 15 minutes; stopping');
  process.exit(2);
}, 900_000);
watchdog.unref();
await main();
process.exit(0);
