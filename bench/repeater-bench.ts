// Repeater benchmark (not a test): starts the repeater in its own process on
// loopback and drives it from this one. Prints readable figures, then one JSON
// line. Every loop is bounded in count and in time; all traffic is loopback.
import { fork, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import { WebSocket, WebSocketServer } from 'ws';

const HOST = '127.0.0.1';
const MiB = 1024 * 1024;
const THROUGHPUT_BYTES = 256 * MiB;
const MESSAGE_BYTES = 64 * 1024;
const ALTERNATIONS = 3;
const PAIR_SESSIONS = 2000;
const PAIR_RATE_PER_S = 250;
const RTT_SAMPLES = 2000;
const IDLE_SESSIONS = 5000;
const IDLE_HOLD_MS = 10_000;
const PHASE_LIMIT_MS = 120_000;
const GREETING = Buffer.from('RFB 003.008\n');

interface RepeaterChild {
  child: ChildProcess;
  port: number;
  rss(): Promise<{ rss: number; stats: { legs: number; sessions: number } }>;
  stop(): Promise<void>;
}

async function startRepeater(): Promise<RepeaterChild> {
  const child = fork(fileURLToPath(new URL('./repeater-process.ts', import.meta.url)), [], {
    execArgv: ['--import', 'tsx', '--expose-gc'],
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  const [ready] = (await withDeadline(once(child, 'message'), 30_000, 'repeater start')) as [{ port: number }];
  return {
    child,
    port: ready.port,
    async rss() {
      child.send({ type: 'rss' });
      const [reply] = (await withDeadline(once(child, 'message'), 10_000, 'rss')) as [{ rss: number; stats: { legs: number; sessions: number } }];
      return reply;
    },
    async stop() {
      child.send({ type: 'stop' });
      await withDeadline(once(child, 'exit'), 10_000, 'repeater stop').catch(() => child.kill('SIGKILL'));
    },
  };
}

function withDeadline<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout;
  return Promise.race([
    promise,
    new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`${what}: no answer within ${ms} ms`)), ms);
    }),
  ]).finally(() => clearTimeout(timer));
}

function open(url: string, localAddress?: string): Promise<WebSocket> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, { perMessageDeflate: false, ...(localAddress ? { localAddress } : {}) });
    ws.once('open', () => resolve(ws));
    ws.once('error', reject);
    ws.once('unexpected-response', (_r, res) => reject(new Error(`HTTP ${res.statusCode}`)));
  });
}

const legUrl = (port: number, ticketId: string, side: 'desktop' | 'viewer'): string =>
  `ws://${HOST}:${port}/${side === 'desktop' ? 'wsServer' : 'wsClient'}?token=bench.${ticketId}.${side}`;

/** Sends `total` bytes in MESSAGE_BYTES messages as fast as the receiver drains; resolves with MB/s at the receiver. */
async function transfer(sender: WebSocket, receiver: WebSocket): Promise<number> {
  const chunk = Buffer.alloc(MESSAGE_BYTES, 7);
  const maxQueued = 8 * MiB;
  let received = 0;
  const done = new Promise<void>((resolve, reject) => {
    receiver.on('message', (data: Buffer) => {
      received += data.length;
      if (received >= THROUGHPUT_BYTES) resolve();
    });
    receiver.once('close', () => reject(new Error('receiver closed mid-transfer')));
  });
  const started = process.hrtime.bigint();
  let sent = 0;
  await new Promise<void>((resolve) => {
    const pump = (): void => {
      while (sent < THROUGHPUT_BYTES && sender.bufferedAmount < maxQueued) {
        sent += MESSAGE_BYTES;
        sender.send(chunk, { binary: true }, sent >= THROUGHPUT_BYTES || sender.bufferedAmount + MESSAGE_BYTES >= maxQueued ? pump : undefined);
      }
      if (sent >= THROUGHPUT_BYTES) resolve();
    };
    pump();
  });
  await withDeadline(done, PHASE_LIMIT_MS, 'transfer');
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  receiver.removeAllListeners('message');
  return THROUGHPUT_BYTES / MiB / seconds;
}

async function relayRun(r: RepeaterChild, id: string): Promise<number> {
  const desktop = await open(legUrl(r.port, id, 'desktop'));
  const viewer = await open(legUrl(r.port, id, 'viewer'));
  const mbps = await transfer(desktop, viewer);
  desktop.close();
  viewer.close();
  return mbps;
}

async function directRun(): Promise<number> {
  const wss = new WebSocketServer({ host: HOST, port: 0, perMessageDeflate: false, maxPayload: 16 * MiB });
  await once(wss, 'listening');
  const port = (wss.address() as { port: number }).port;
  const accepted = once(wss, 'connection') as Promise<[WebSocket]>;
  const sender = await open(`ws://${HOST}:${port}/`);
  const [receiver] = await accepted;
  const mbps = await transfer(sender, receiver);
  sender.close();
  await new Promise<void>((resolve) => wss.close(() => resolve()));
  return mbps;
}

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

async function pairLatency(r: RepeaterChild): Promise<number[]> {
  const samples: number[] = [];
  const intervalMs = 1000 / PAIR_RATE_PER_S;
  const deadline = Date.now() + PHASE_LIMIT_MS;
  const inFlight: Promise<void>[] = [];
  const startedAt = performance.now();
  for (let i = 0; i < PAIR_SESSIONS && Date.now() < deadline; i++) {
    const due = startedAt + i * intervalMs;
    const wait = due - performance.now();
    if (wait > 1) await new Promise((res) => setTimeout(res, wait));
    inFlight.push(
      (async () => {
        const id = `p${i}`;
        const desktop = await open(legUrl(r.port, id, 'desktop'));
        desktop.send(GREETING);
        const viewer = new WebSocket(legUrl(r.port, id, 'viewer'), { perMessageDeflate: false });
        let openedAt = 0;
        viewer.once('open', () => (openedAt = performance.now()));
        const [first] = (await withDeadline(once(viewer, 'message'), 10_000, 'first byte')) as [Buffer];
        samples.push(performance.now() - openedAt);
        if (!first.equals(GREETING)) throw new Error('greeting altered');
        viewer.close();
        desktop.close();
      })(),
    );
  }
  await Promise.all(inFlight);
  const elapsedS = (performance.now() - startedAt) / 1000;
  console.log(`pairing: ${samples.length} sessions in ${elapsedS.toFixed(1)} s (${(samples.length / elapsedS).toFixed(0)}/s offered at ${PAIR_RATE_PER_S}/s)`);
  return samples;
}

async function roundTrips(r: RepeaterChild): Promise<number[]> {
  const desktop = await open(legUrl(r.port, 'rtt', 'desktop'));
  const viewer = await open(legUrl(r.port, 'rtt', 'viewer'));
  desktop.on('message', (data: Buffer) => desktop.send(data));
  const payload = Buffer.alloc(64, 1);
  const samples: number[] = [];
  const deadline = Date.now() + PHASE_LIMIT_MS;
  for (let i = 0; i < RTT_SAMPLES && Date.now() < deadline; i++) {
    const t0 = performance.now();
    viewer.send(payload);
    await withDeadline(once(viewer, 'message'), 5000, 'echo');
    samples.push(performance.now() - t0);
  }
  desktop.close();
  viewer.close();
  return samples;
}

async function idleSessions(): Promise<{ held: number; failed: number; rssKiBPerSession: number }> {
  const r = await startRepeater();
  try {
    // Warm up code paths so the baseline does not count JIT and first-use allocations.
    for (let i = 0; i < 50; i++) {
      const d = await open(legUrl(r.port, `w${i}`, 'desktop'));
      const v = await open(legUrl(r.port, `w${i}`, 'viewer'));
      d.close();
      v.close();
    }
    await new Promise((res) => setTimeout(res, 500));
    const before = await r.rss();
    const sockets: WebSocket[] = [];
    let failed = 0;
    let closedEarly = 0;
    const deadline = Date.now() + PHASE_LIMIT_MS;
    const concurrency = 100;
    let next = 0;
    const worker = async (): Promise<void> => {
      while (next < IDLE_SESSIONS && Date.now() < deadline) {
        const i = next++;
        const localAddress = `127.0.0.${1 + (i % 16)}`;
        try {
          const d = await open(legUrl(r.port, `i${i}`, 'desktop'), localAddress);
          const v = await open(legUrl(r.port, `i${i}`, 'viewer'), localAddress);
          for (const ws of [d, v]) {
            ws.once('close', () => (closedEarly += 1));
            sockets.push(ws);
          }
        } catch {
          failed += 1;
        }
      }
    };
    await Promise.all(Array.from({ length: concurrency }, worker));
    const opened = sockets.length / 2;
    await new Promise((res) => setTimeout(res, IDLE_HOLD_MS));
    const after = await r.rss();
    const held = Math.min(after.stats.sessions, opened) - Math.ceil(closedEarly / 2);
    const sessionsFailed = failed + (IDLE_SESSIONS - opened - failed) + (opened - held);
    console.log(`idle: ${opened} sessions opened, ${after.stats.sessions} held by the repeater after ${IDLE_HOLD_MS / 1000} s, RSS ${(before.rss / MiB).toFixed(1)} → ${(after.rss / MiB).toFixed(1)} MiB`);
    for (const ws of sockets) ws.terminate();
    return { held, failed: sessionsFailed, rssKiBPerSession: (after.rss - before.rss) / 1024 / Math.max(1, held) };
  } finally {
    await r.stop();
  }
}

async function main(): Promise<void> {
  console.log(`repeater benchmark on ${HOST}, node ${process.version}`);
  const r = await startRepeater();
  const relay: number[] = [];
  const direct: number[] = [];
  const ratios: number[] = [];
  for (let i = 0; i < ALTERNATIONS; i++) {
    const d = await directRun();
    const rl = await relayRun(r, `t${i}`);
    direct.push(d);
    relay.push(rl);
    ratios.push(rl / d);
    console.log(`throughput round ${i + 1}: direct ${d.toFixed(0)} MB/s, relay ${rl.toFixed(0)} MB/s, ratio ${(rl / d).toFixed(2)}`);
  }
  const pairs = await pairLatency(r);
  console.log(`pair latency: p50 ${percentile(pairs, 50).toFixed(2)} ms, p99 ${percentile(pairs, 99).toFixed(2)} ms`);
  const rtts = await roundTrips(r);
  console.log(`64-byte echo RTT: p50 ${percentile(rtts, 50).toFixed(3)} ms, p99 ${percentile(rtts, 99).toFixed(3)} ms over ${rtts.length} samples`);
  await r.stop();
  const idle = await idleSessions();
  console.log(`idle sessions: held ${idle.held}, failed ${idle.failed}, ${idle.rssKiBPerSession.toFixed(1)} KiB RSS per session`);
  const result = {
    relayMBps: round(median(relay), 1),
    directMBps: round(median(direct), 1),
    relayRatio: round(median(ratios), 3),
    pairP50Ms: round(percentile(pairs, 50), 3),
    pairP99Ms: round(percentile(pairs, 99), 3),
    rttP50Ms: round(percentile(rtts, 50), 3),
    rttP99Ms: round(percentile(rtts, 99), 3),
    sessionsHeld: idle.held,
    sessionsFailed: idle.failed,
    rssKiBPerSession: round(idle.rssKiBPerSession, 2),
  };
  console.log(JSON.stringify(result));
}

const watchdog = setTimeout(() => {
  console.error('benchmark exceeded 10 minutes; stopping');
  process.exit(2);
}, 600_000);
watchdog.unref();
await main();
process.exit(0);
