// The repeater benchmark's runs: streams through each system, 64-byte echo
// round trips, pairing latency, idle sessions held, and a ping flood that
// never reads its pongs. Every loop is bounded in count and in time.
import { once } from 'node:events';
import { connect, type Socket } from 'node:net';
import { WebSocket } from 'ws';
import { countBytes, countFramePayload, maskedFrame, pump, rawWebSocket } from './raw-ws.ts';
import { treeCpuSeconds } from './proc-cpu.ts';
import { GiB, HOST, MiB, PHASE_LIMIT_MS, childRss, driverCpuSeconds, sleep, startRepeater, withDeadline, type Relay, type Sink } from './bench-kit.ts';

const MESSAGE_BYTES = 64 * 1024;
const PAIR_SESSIONS = 2000;
export const PAIR_RATE_PER_S = 500;
const RTT_SAMPLES = 2000;
const IDLE_SESSIONS = 9000;
const IDLE_HOLD_MS = 10_000;
const GREETING = Buffer.from('RFB 003.008\n');

let sessionSeq = 0;

/** Opens `streams` sender/receiver pairs through a system; returns their sockets ready to flow. */
export async function openStreams(system: Relay | null, sink: Sink, streams: number): Promise<{ sender: Socket; receive: (total: number) => Promise<void> }[]> {
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
      // The repeater, on its own or embedded: a desktop leg sends masked frames, a viewer leg receives.
      const id = `s${sessionSeq++}`;
      const { socket: sender } = await rawWebSocket(HOST, system.port, `/wsServer?token=bench.${id}.desktop`);
      const { socket: receiver, head } = await rawWebSocket(HOST, system.port, `/wsClient?token=bench.${id}.viewer`);
      pairs.push({ sender, receive: (total) => countFramePayload(receiver, head, total) });
    }
  }
  return pairs;
}

export interface RunFigures {
  mibs: number;
  relayCpuSPerGiB: number | null;
  driverCpuSPerGiB: number;
}

export async function streamRun(system: Relay | null, sink: Sink, streams: number, bytesPerStream: number): Promise<RunFigures> {
  const pairs = await openStreams(system, sink, streams);
  // Masked frames go to the repeater's desktop leg; websockify is fed raw TCP from its VNC side.
  const kind = system?.name === 'repeater' || system?.name === 'embedded' ? 'ws' : 'tcp';
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
export async function echoSamples(system: Relay | null, sink: Sink): Promise<number[]> {
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
  if (system?.name === 'repeater' || system?.name === 'embedded') {
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

export function openWs(url: string, localAddress?: string): Promise<WebSocket> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, { perMessageDeflate: false, ...(localAddress ? { localAddress } : {}) });
    ws.once('open', () => resolve(ws));
    ws.once('error', reject);
    ws.once('unexpected-response', (_r, res) => reject(new Error(`HTTP ${res.statusCode}`)));
  });
}

export async function pairLatency(port: number): Promise<{ samples: number[]; ratePerS: number; failed: number }> {
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

export async function idleSessions(): Promise<{ held: number; failed: number; rssKiBPerSession: number }> {
  const r = await startRepeater();
  const rss = () => childRss(r.child);
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

