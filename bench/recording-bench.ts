// Recording benchmark (not a test): what recording costs on a real screen.
// A real x11vnc on Xvfb (1280×800) shares its display through the repeater,
// running as its own process (bench/repeater-process.ts), with the desktop
// client's own tunnel core on the desktop side. The viewer is a small RFB
// client that asks for what noVNC asks (32-bit true colour; Tight, ZRLE, …;
// quality 6, compression 2) and requests an incremental update every 50 ms,
// counting bytes without decoding. The workload, scripted: an xterm scrolling
// text (100 lines/s), a second window moved every 100 ms, the root colour
// changed every 2 s.
//
// Runs, interleaved ABBA: off, on, on, off — RUN_S seconds each, so each mode
// gets 2 × RUN_S s of the same workload. For each: bytes relayed, the
// repeater process's CPU (every thread, from /proc) per GiB relayed, the
// recording's bytes on disk per minute; the driver's own CPU beside it. Last
// line: one JSON object.
import { fork, spawn, execFileSync, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { WebSocket } from 'ws';
import { Tunnel } from '../desktop-client/core/tunnel.ts';
import { treeCpuSeconds } from './proc-cpu.ts';
import { parseRecording } from '../repeater/recording-reader.ts';
import { tsExecArgv } from '../lib/node-entry.ts';

const RUN_S = Number(process.env.BENCH_RUN_S ?? 30);
const WIDTH = 1280;
const HEIGHT = 800;
const GiB = 1024 ** 3;
const MiB = 1024 ** 2;

function freeDisplay(): string {
  let n = 200 + Math.floor(Math.random() * 300);
  while (existsSync(`/tmp/.X11-unix/X${n}`) || existsSync(`/tmp/.X${n}-lock`)) n += 1;
  return `:${n}`;
}

async function startX(): Promise<{ display: string; xvfb: ChildProcess }> {
  const display = freeDisplay();
  const xvfb = spawn('Xvfb', [display, '-screen', '0', `${WIDTH}x${HEIGHT}x24`, '-noreset', '-nolisten', 'tcp'], { stdio: 'ignore' });
  const deadline = Date.now() + 15_000;
  while (!existsSync(`/tmp/.X11-unix/X${display.slice(1)}`)) {
    if (Date.now() > deadline || xvfb.exitCode !== null) throw new Error('Xvfb did not start');
    await new Promise((r) => setTimeout(r, 50));
  }
  return { display, xvfb };
}

/** The scripted workload; returns a function that stops it. */
function startWorkload(display: string): () => Promise<void> {
  const env = { ...process.env, DISPLAY: display };
  const children: ChildProcess[] = [];
  const scroller = 'i=0; while :; do i=$((i+1)); echo "line $i $(date +%T.%N) the quick brown fox jumps over the lazy dog 0123456789"; sleep 0.01; done';
  children.push(spawn('xterm', ['-geometry', '110x45+0+0', '-T', 'scroller', '-e', 'sh', '-c', scroller], { env, stdio: 'ignore' }));
  children.push(spawn('xterm', ['-geometry', '40x10+700+300', '-T', 'mover', '-bg', '#335577', '-e', 'sh', '-c', 'exec sleep 3600'], { env, stdio: 'ignore' }));
  let stopped = false;
  const colours = ['#1e7b4d', '#c0392b', '#2e86c1', '#8e44ad'];
  const loop = (async () => {
    let windowId = '';
    for (let i = 0; i < 50 && !windowId; i++) {
      try {
        windowId = execFileSync('xdotool', ['search', '--name', '^mover$'], { env }).toString().trim().split('\n')[0] ?? '';
      } catch {
        await new Promise((r) => setTimeout(r, 100));
      }
    }
    for (let tick = 0; !stopped; tick++) {
      const angle = tick / 10;
      if (windowId) {
        spawn('xdotool', ['windowmove', windowId, String(Math.round(700 + 200 * Math.cos(angle))), String(Math.round(300 + 150 * Math.sin(angle)))], { env, stdio: 'ignore' });
      }
      if (tick % 20 === 0) spawn('xsetroot', ['-solid', colours[(tick / 20) % colours.length]!], { env, stdio: 'ignore' });
      await new Promise((r) => setTimeout(r, 100));
    }
  })();
  return async () => {
    stopped = true;
    await loop;
    for (const c of children) c.kill('SIGKILL');
  };
}

/** The viewer: RFB 3.8 with noVNC's choices, an incremental update request every 50 ms; counts the bytes it gets. */
async function startViewer(url: string): Promise<{ bytes: () => number; stop: () => void }> {
  const ws = new WebSocket(url, { perMessageDeflate: false });
  let received = 0;
  let buffered = Buffer.alloc(0);
  let stage = 'version';
  let poll: NodeJS.Timeout | null = null;
  const fbur = Buffer.from([3, 1, 0, 0, 0, 0, WIDTH >> 8, WIDTH & 0xff, HEIGHT >> 8, HEIGHT & 0xff]);
  // noVNC's encodings: CopyRect, Tight, TightPNG, ZRLE, JPEG, Hextile, RRE, Zlib, Raw, quality 6, compression 2, DesktopSize, LastRect, cursor.
  const encodings = [1, 7, -260, 16, 21, 5, 2, 6, 0, -32 + 6, -256 + 2, -223, -224, -239];
  const setEncodings = Buffer.alloc(4 + 4 * encodings.length);
  setEncodings[0] = 2;
  setEncodings.writeUInt16BE(encodings.length, 2);
  encodings.forEach((e, i) => setEncodings.writeInt32BE(e, 4 + 4 * i));
  const pixelFormat = Buffer.from([0, 0, 0, 0, 32, 24, 0, 1, 0, 255, 0, 255, 0, 255, 0, 8, 16, 0, 0, 0]);
  ws.on('message', (data: Buffer) => {
    received += data.length;
    if (stage === 'streaming') return;
    buffered = Buffer.concat([buffered, data]);
    if (stage === 'version' && buffered.length >= 12) {
      ws.send(Buffer.from('RFB 003.008\n'));
      buffered = buffered.subarray(12);
      stage = 'security';
    }
    if (stage === 'security' && buffered.length >= 1 && buffered.length >= 1 + buffered[0]!) {
      buffered = buffered.subarray(1 + buffered[0]!);
      ws.send(Buffer.from([1]));
      stage = 'result';
    }
    if (stage === 'result' && buffered.length >= 4) {
      buffered = buffered.subarray(4);
      ws.send(Buffer.from([1])); // ClientInit, shared
      stage = 'init';
    }
    if (stage === 'init' && buffered.length >= 24 && buffered.length >= 24 + buffered.readUInt32BE(20)) {
      ws.send(pixelFormat);
      ws.send(setEncodings);
      ws.send(Buffer.from([3, 0, 0, 0, 0, 0, WIDTH >> 8, WIDTH & 0xff, HEIGHT >> 8, HEIGHT & 0xff]));
      stage = 'streaming';
      poll = setInterval(() => ws.readyState === WebSocket.OPEN && ws.send(fbur), 50);
    }
  });
  await once(ws, 'open');
  return {
    bytes: () => received,
    stop: () => {
      if (poll) clearInterval(poll);
      ws.close(1000);
    },
  };
}

interface RunResult {
  mode: 'off' | 'on';
  seconds: number;
  relayedBytes: number;
  relayCpuS: number;
  driverCpuS: number;
  recordingBytes: number;
}

const driverCpu = (): number => {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1e6;
};

async function run(mode: 'off' | 'on', ticket: number, display: string, relay: { pid: number; port: number }, recordingsDir: string): Promise<RunResult> {
  const token = (side: string) => `bench.${ticket}.${side}${mode === 'on' ? '.rec' : ''}`;
  const base = `ws://127.0.0.1:${relay.port}`;
  const stopWorkload = startWorkload(display);
  const tunnel = new Tunnel({ url: `${base}/wsServer?token=${token('desktop')}`, display, viewOnly: false, x11vncBinary: 'x11vnc' });
  await tunnel.open();
  const viewer = await startViewer(`${base}/wsClient?token=${token('viewer')}`);
  // Let the first full frame pass before measuring.
  await new Promise((r) => setTimeout(r, 1_000));
  const cpu0 = treeCpuSeconds(relay.pid);
  const driver0 = driverCpu();
  const bytes0 = viewer.bytes();
  const t0 = Date.now();
  await new Promise((r) => setTimeout(r, RUN_S * 1000));
  const relayCpuS = treeCpuSeconds(relay.pid) - cpu0;
  const driverCpuS = driverCpu() - driver0;
  const relayedBytes = viewer.bytes() - bytes0;
  const seconds = (Date.now() - t0) / 1000;
  viewer.stop();
  await tunnel.close();
  await stopWorkload();
  await new Promise((r) => setTimeout(r, 1_500)); // the recording's last block and trailer
  const recordingBytes = readdirSync(recordingsDir, { recursive: true })
    .map(String)
    .filter((f) => f.includes(`/${ticket}-`))
    .reduce((n, f) => n + statSync(join(recordingsDir, f)).size, 0);
  return { mode, seconds, relayedBytes, relayCpuS, driverCpuS, recordingBytes };
}

/**
 * BENCH_TRACE_OUT: the first recorded run's messages — direction, time and size,
 * never their bytes — as the realistic-session benchmark's workload (bench/sessions-bench.ts).
 */
function writeTrace(recordingsDir: string, out: string): void {
  const file = readdirSync(recordingsDir, { recursive: true }).map(String).find((f) => f.includes('/2-') && f.endsWith('.hcrec'));
  if (!file) throw new Error('no recording of the first recorded run to take a trace from');
  const { pieces } = parseRecording(readFileSync(join(recordingsDir, file)));
  const messages = pieces.map((p) => [p.direction, p.ms, p.data.length]);
  const source = `x11vnc on Xvfb ${WIDTH}×${HEIGHT} (scrolling xterm, a window moved every 100 ms, root colour every 2 s), a viewer asking as noVNC does every 50 ms; node ${process.version}`;
  writeFileSync(out, `${JSON.stringify({ source, durationMs: pieces.at(-1)?.ms ?? 0, messages })}\n`);
  console.log(`trace: ${messages.length} messages written to ${out}`);
}

async function main(): Promise<void> {
  for (const tool of ['Xvfb', 'x11vnc', 'xterm', 'xdotool', 'xsetroot']) {
    try {
      execFileSync('sh', ['-c', `command -v ${tool}`], { stdio: 'ignore' });
    } catch {
      throw new Error(`${tool} is not installed (bash .ci/run installs what the tests and benchmarks need)`);
    }
  }
  const recordingsDir = mkdtempSync(join(tmpdir(), 'bench-recordings-'));
  const { display, xvfb } = await startX();
  const child = fork(fileURLToPath(new URL('./repeater-process.ts', import.meta.url)), [], {
    execArgv: [...tsExecArgv(), ...(process.env.BENCH_PROF_DIR ? ['--cpu-prof', `--cpu-prof-dir=${process.env.BENCH_PROF_DIR}`] : [])],
    env: { ...process.env, BENCH_RECORDINGS_DIR: recordingsDir },
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  const [ready] = (await once(child, 'message')) as [{ port: number }];
  const relay = { pid: child.pid!, port: ready.port };
  console.log(`recording benchmark: x11vnc on Xvfb ${WIDTH}×${HEIGHT}, node ${process.version}, ${RUN_S} s per run, ABBA (off, on, on, off)`);
  const results: RunResult[] = [];
  try {
    let ticket = 1;
    for (const mode of ['off', 'on', 'on', 'off'] as const) {
      const r = await run(mode, ticket++, display, relay, recordingsDir);
      results.push(r);
      console.log(
        `  ${mode.padEnd(3)} ${(r.relayedBytes / MiB).toFixed(1).padStart(7)} MiB relayed in ${r.seconds.toFixed(1)} s, ` +
          `relay CPU ${r.relayCpuS.toFixed(2)} s (${((r.relayCpuS / r.relayedBytes) * GiB).toFixed(2)} s/GiB), driver CPU ${r.driverCpuS.toFixed(2)} s` +
          (mode === 'on' ? `, recording ${(r.recordingBytes / MiB).toFixed(2)} MiB on disk` : ''),
      );
    }
  } finally {
    child.send({ type: 'stop' });
    await Promise.race([once(child, 'exit'), new Promise((r) => setTimeout(r, 5_000))]);
    if (child.exitCode === null) child.kill('SIGKILL');
    xvfb.kill('SIGKILL');
    if (process.env.BENCH_TRACE_OUT) writeTrace(recordingsDir, process.env.BENCH_TRACE_OUT);
    rmSync(recordingsDir, { recursive: true, force: true });
  }
  const sum = (mode: 'off' | 'on', key: keyof Omit<RunResult, 'mode'>) => results.filter((r) => r.mode === mode).reduce((n, r) => n + (r[key]), 0);
  const perGiB = (mode: 'off' | 'on') => (sum(mode, 'relayCpuS') / sum(mode, 'relayedBytes')) * GiB;
  const off = perGiB('off');
  const on = perGiB('on');
  const recordedPerMinute = (sum('on', 'recordingBytes') / sum('on', 'seconds')) * 60;
  const relayedPerMinute = (sum('on', 'relayedBytes') / sum('on', 'seconds')) * 60;
  console.log(`relay CPU per GiB: off ${off.toFixed(2)} s, on ${on.toFixed(2)} s → recording adds ${(((on - off) / off) * 100).toFixed(1)} % (target ≤ 25 %)`);
  console.log(`recorded ${(recordedPerMinute / MiB).toFixed(2)} MiB per minute on disk for ${(relayedPerMinute / MiB).toFixed(2)} MiB relayed per minute (${((recordedPerMinute / relayedPerMinute) * 100).toFixed(0)} %)`);
  console.log(
    JSON.stringify({
      runSeconds: RUN_S,
      relayCpuSPerGiBOff: Number(off.toFixed(3)),
      relayCpuSPerGiBOn: Number(on.toFixed(3)),
      recordingOverheadPct: Number((((on - off) / off) * 100).toFixed(1)),
      recordedMiBPerMinute: Number((recordedPerMinute / MiB).toFixed(3)),
      relayedMiBPerMinute: Number((relayedPerMinute / MiB).toFixed(3)),
    }),
  );
}

await main();
process.exit(0);
