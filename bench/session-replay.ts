// Replays a recorded x11vnc session (bench/traces: each message's direction,
// time and size) through N concurrent sessions of a relay, both directions at
// their recorded times, each session from its own random point in the trace.
// Delay is measured by bytes, not messages, so a relay that re-frames or
// merges (websockify's TCP side has no message boundaries) is measured the
// same way: a message has arrived when every byte up to its end has.
import { once } from 'node:events';
import { connect, type Socket } from 'node:net';
import { framePayloadCounter, maskedFrame, rawWebSocket } from './raw-ws.ts';
import { HOST, sleep, type Relay, type Sink } from './bench-kit.ts';

export interface Trace {
  source: string;
  durationMs: number;
  /** [direction (0 desktop→viewer, 1 viewer→desktop), ms, bytes] */
  messages: [0 | 1, number, number][];
}

/** One end of one direction: how it writes a message and how it counts what arrives. */
interface End {
  socket: Socket;
  ws: boolean;
}

interface Session {
  /** [0]: the desktop end (sends direction 0), [1]: the viewer end (sends direction 1). */
  ends: [End, End];
  /** Per direction, messages in flight: where each ends in the byte stream, and when it was written. */
  queue: [number[], number[]];
  head: [number, number];
  sent: [number, number];
  received: [number, number];
}

const ZEROS = Buffer.alloc(1 << 20);
const ZERO_MASK = Buffer.alloc(4);

export interface ReplayFigures {
  system: string;
  sessions: number;
  seconds: number;
  delaysMs: number[];
  undelivered: number;
  relayCpuS: number | null;
  driverCpuS: number;
}

let seq = 0;

async function openSession(system: Relay | null, sink: Sink): Promise<[End, End]> {
  if (!system || system.name === 'nodePipe') {
    // Straight to the sink, or through a bare Node TCP pipe: raw bytes both ways.
    const a = connect({ host: HOST, port: system ? system.port : sink.port, noDelay: true });
    await once(a, 'connect');
    return [{ socket: a, ws: false }, { socket: await sink.next(), ws: false }];
  }
  if (system.name === 'websockify') {
    const { socket: viewer, head } = await rawWebSocket(HOST, system.port, '/');
    const desktop = await sink.next();
    if (head.length) viewer.unshift(head);
    return [{ socket: desktop, ws: false }, { socket: viewer, ws: true }];
  }
  const id = `r${seq++}`;
  const { socket: desktop, head: dh } = await rawWebSocket(HOST, system.port, `/wsServer?token=bench.${id}.desktop`);
  const { socket: viewer, head: vh } = await rawWebSocket(HOST, system.port, `/wsClient?token=bench.${id}.viewer`);
  if (dh.length) desktop.unshift(dh);
  if (vh.length) viewer.unshift(vh);
  return [{ socket: desktop, ws: true }, { socket: viewer, ws: true }];
}

/** Opens N sessions through `system` (null: straight to the sink), replays `runMs` of the trace in each, and measures. */
export async function replay(system: Relay | null, sink: Sink, trace: Trace, n: number, runMs: number, cpu: { relay: () => number | null; driver: () => number }): Promise<ReplayFigures> {
  const sessions: Session[] = [];
  for (let i = 0; i < n; i++) {
    const ends = await openSession(system, sink);
    sessions.push({ ends, queue: [[], []], head: [0, 0], sent: [0, 0], received: [0, 0] });
  }
  const delays: number[] = [];
  for (const s of sessions) {
    for (const dir of [0, 1] as const) {
      // Direction d is written by end d and arrives at the other end.
      const at = s.ends[1 - dir]!;
      const arrived = (bytes: number): void => {
        s.received[dir] += bytes;
        const q = s.queue[dir];
        const now = performance.now();
        while (s.head[dir] < q.length && q[s.head[dir]]! <= s.received[dir]) {
          delays.push(now - q[s.head[dir] + 1]!);
          s.head[dir] += 2;
        }
      };
      at.socket.on('data', at.ws ? framePayloadCounter(arrived) : (chunk: Buffer) => arrived(chunk.length));
      at.socket.on('error', () => undefined);
      at.socket.resume();
    }
  }
  // The zero mask: legal, and the driver need not XOR what it sends.
  const frames = trace.messages.map(([, , len]) => ({ ws: maskedFrame(ZEROS.subarray(0, len), { mask: ZERO_MASK }), raw: ZEROS.subarray(0, len) }));
  // The schedule: 1 ms buckets of (session, message) for the run.
  const buckets: number[][] = Array.from({ length: runMs + 1 }, () => []);
  const { durationMs, messages } = trace;
  sessions.forEach((_, i) => {
    const offset = Math.floor(Math.random() * durationMs);
    messages.forEach(([, ms], k) => {
      const t = (ms - offset + durationMs) % durationMs;
      if (t <= runMs) buckets[t]!.push(i * 4096 + k);
    });
  });
  await sleep(500);
  const relay0 = cpu.relay();
  const driver0 = cpu.driver();
  const started = performance.now();
  let done = 0;
  const touched = new Set<Socket>();
  await new Promise<void>((resolve) => {
    const tick = (): void => {
      const now = Math.min(runMs, Math.floor(performance.now() - started));
      const sentAt = performance.now();
      for (; done <= now; done++) {
        for (const code of buckets[done]!) {
          const s = sessions[code >> 12]!;
          const k = code & 4095;
          const dir = messages[k]![0];
          const end = s.ends[dir]!;
          if (!touched.has(end.socket)) {
            end.socket.cork();
            touched.add(end.socket);
          }
          end.socket.write(end.ws ? frames[k]!.ws : frames[k]!.raw);
          s.sent[dir] += messages[k]![2];
          s.queue[dir].push(s.sent[dir], sentAt);
        }
      }
      for (const socket of touched) socket.uncork();
      touched.clear();
      if (done > runMs) resolve();
      else setTimeout(tick, 1);
    };
    tick();
  });
  const seconds = (performance.now() - started) / 1000;
  const relayCpu = cpu.relay();
  const driverCpu = cpu.driver() - driver0;
  await sleep(1000); // what is in flight arrives (its delay is counted)
  let undelivered = 0;
  for (const s of sessions) for (const dir of [0, 1] as const) undelivered += (s.queue[dir].length - s.head[dir]) / 2;
  for (const s of sessions) for (const e of s.ends) e.socket.destroy();
  await sleep(300);
  return {
    system: system?.name ?? 'direct',
    sessions: n,
    seconds,
    delaysMs: delays,
    undelivered,
    relayCpuS: relay0 === null || relayCpu === null ? null : relayCpu - relay0,
    driverCpuS: driverCpu,
  };
}
