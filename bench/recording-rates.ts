// Recording-rates benchmark (not a test; issue 23): what recording costs at
// bulk rates, and whether every recording survives them. In one run,
// interleaved: websockify (Debian's package, from its TCP side to a websocket
// client, as it fronts a VNC server), the helpdesk server with
// RECORD_SESSIONS=off and the helpdesk server with recording on (default
// settings: encryption on, its key file under the bench's directory) — the
// product started as a user would, each session set up through its APIs
// (bench/product-streams.ts).
//
// Four cases: 1 × 256 MiB and 50 × 5 MiB, each once with compressible bytes
// (a constant pixel, as raw framebuffer updates) and once with random bytes
// (as Tight or ZRLE output), 64 KiB messages. Per case and round the systems
// run ABCCBA (websockify, off, on, on, off, websockify), after one unmeasured
// warm-up stream each. For each run: MiB/s, the relay's CPU per GiB (every
// thread of its process tree, from /proc; for the product through the
// sessions' close and the recordings' last bytes), the driver's own CPU per
// GiB; for recorded runs the recordings' final states (from the server's
// database) and their bytes on disk. Targets: on ≤ 1.5 × off in every case;
// no recording dropped, failed or incomplete.
//
// Sizes: BENCH_ONE_MIB (256), BENCH_MANY (50), BENCH_MANY_MIB (5), BENCH_ROUNDS
// (2); BENCH_DIR: where the databases and recordings go (default: the OS temp
// dir; its file system is printed — it should be a real disk, not tmpfs).
// Loopback only; every wait is bounded. Last line: one JSON object.
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { maskedFrame } from './raw-ws.ts';
import { treeCpuSeconds } from './proc-cpu.ts';
import { GiB, HOST, MiB, Sink, bufferutilInDriver, machineLine, median, round, sleep, startWebsockify, websockifyInstalled, type Relay } from './bench-kit.ts';
import { openStreams } from './stream-runs.ts';
import { drive, productRun, startProduct, type EndState, type RunFigures } from './product-streams.ts';

const ONE_MIB = Number(process.env.BENCH_ONE_MIB ?? 256);
const MANY = Number(process.env.BENCH_MANY ?? 50);
const MANY_MIB = Number(process.env.BENCH_MANY_MIB ?? 5);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 2);
const MESSAGE_BYTES = 64 * 1024;
const TARGET_RATIO = 1.5;

type Payload = 'const' | 'random';
type SystemId = 'websockify' | 'off' | 'on';
interface Case {
  key: string;
  label: string;
  streams: number;
  mib: number;
  payload: Payload;
}

const cases: Case[] = [
  ...(['const', 'random'] as const).map((payload) => ({ key: `one-${payload}`, label: `1 × ${ONE_MIB} MiB ${payload}`, streams: 1, mib: ONE_MIB, payload })),
  ...(['const', 'random'] as const).map((payload) => ({ key: `many-${payload}`, label: `${MANY} × ${MANY_MIB} MiB ${payload}`, streams: MANY, mib: MANY_MIB, payload })),
];

// The payloads, made once: a constant 32-bit pixel, and 16 different random messages taken in turn.
const constPayload = Buffer.alloc(MESSAGE_BYTES).fill(Buffer.from([0x30, 0x60, 0x90, 0x00]));
const randomPayloads = Array.from({ length: 16 }, () => randomBytes(MESSAGE_BYTES));
const payloads: Record<Payload, { tcp: Buffer[]; ws: Buffer[] }> = {
  const: { tcp: [constPayload], ws: [maskedFrame(constPayload)] },
  random: { tcp: randomPayloads, ws: randomPayloads.map((p) => maskedFrame(p)) },
};

function fileSystemOf(dir: string): string {
  try {
    return execFileSync('findmnt', ['-n', '-o', 'FSTYPE,SOURCE', '-T', dir]).toString().trim().replace(/\s+/, ' on ');
  } catch {
    return 'unknown';
  }
}

/** Streams through websockify: the sink's side writes raw TCP, the driver's websocket reads frames. */
async function websockifyRun(w: Relay, sink: Sink, c: Case): Promise<RunFigures> {
  const pairs = await openStreams(w, sink, c.streams);
  const frameCount = Math.ceil((c.mib * MiB) / MESSAGE_BYTES);
  const total = frameCount * MESSAGE_BYTES;
  const cpu0 = treeCpuSeconds(w.pid!);
  const { seconds, driverCpuS } = await drive(pairs, payloads[c.payload].tcp, frameCount, total, 'websockify stream run');
  // Read before the connections close, while websockify's per-connection workers are still there.
  const cpu = treeCpuSeconds(w.pid!) - cpu0;
  for (const p of pairs) p.sender.destroy();
  await sleep(200);
  const gib = (total * c.streams) / GiB;
  return { mibs: (total * c.streams) / MiB / seconds, flowCpuSPerGiB: cpu / gib, relayCpuSPerGiB: cpu / gib, driverCpuSPerGiB: driverCpuS / gib, recordings: {}, recordedBytes: 0 };
}

async function main(): Promise<void> {
  if (!websockifyInstalled()) throw new Error('websockify is not installed (Debian package "websockify")');
  const dir = mkdtempSync(join(process.env.BENCH_DIR ?? tmpdir(), 'bench-recording-rates-'));
  const fs = fileSystemOf(dir);
  console.log(`recording rates: ${HOST}, ${machineLine()}, ${cpus().length} cores`);
  console.log(`cases ${cases.map((c) => c.label).join(', ')}; ${ROUNDS} round(s) of ABCCBA (websockify, off, on, on, off, websockify); 64 KiB messages`);
  console.log(`databases and recordings in ${dir} (${fs})`);
  if (/tmpfs|ramfs/.test(fs)) console.log('\n!!! WARNING: the recordings go to memory, not a disk: set BENCH_DIR to a directory on a real disk !!!\n');
  if (!bufferutilInDriver()) console.log('\n!!! WARNING: bufferutil is NOT loaded in the driver !!!\n');
  const sink = new Sink();
  await sink.listen();
  const websockify = await startWebsockify(sink.port);
  const off = await startProduct('off', dir);
  const on = await startProduct('on', dir);
  const results = new Map<string, RunFigures[]>();
  const at = (c: Case, s: SystemId) => results.get(`${c.key}/${s}`) ?? [];
  const run = (s: SystemId, c: Case): Promise<RunFigures> => {
    const frameCount = Math.ceil((c.mib * MiB) / MESSAGE_BYTES);
    if (s === 'websockify') return websockifyRun(websockify, sink, c);
    return productRun(s === 'off' ? off : on, c.streams, payloads[c.payload].ws, frameCount, MESSAGE_BYTES);
  };
  const recordingLine = (f: RunFigures) =>
    Object.keys(f.recordings).length ? `  recordings ${Object.entries(f.recordings).map(([k, v]) => `${v} ${k}`).join(', ')}, ${(f.recordedBytes / MiB).toFixed(1)} MiB on disk` : '';
  try {
    const warmUp: Case = { key: 'warm-up', label: 'warm-up', streams: 1, mib: Math.min(ONE_MIB, 64), payload: 'random' };
    for (const s of ['websockify', 'off', 'on'] as const) {
      const f = await run(s, warmUp);
      console.log(`warm-up ${s.padEnd(10)} ${f.mibs.toFixed(0).padStart(5)} MiB/s${recordingLine(f)}`);
    }
    for (let r = 1; r <= ROUNDS; r++) {
      for (const c of cases) {
        for (const s of ['websockify', 'off', 'on', 'on', 'off', 'websockify'] as const) {
          const f = await run(s, c);
          results.set(`${c.key}/${s}`, [...at(c, s), f]);
          console.log(
            `round ${r} ${c.label.padEnd(22)} ${s.padEnd(10)} ${f.mibs.toFixed(0).padStart(5)} MiB/s  relay CPU ${f.relayCpuSPerGiB.toFixed(2)} s/GiB` +
              `${s === 'websockify' ? '' : ` (${f.flowCpuSPerGiB.toFixed(2)} while flowing)`}  driver CPU ${f.driverCpuSPerGiB.toFixed(2)} s/GiB${recordingLine(f)}`,
          );
        }
      }
    }
  } finally {
    await websockify.stop();
    await off.stop();
    await on.stop();
    sink.server.close();
    rmSync(dir, { recursive: true, force: true });
  }
  summarize(at, fs);
}

function summarize(at: (c: Case, s: SystemId) => RunFigures[], fs: string): void {
  const med = (c: Case, s: SystemId, pick: (f: RunFigures) => number) => median(at(c, s).map(pick));
  const states = (c: Case) => {
    const counts: Partial<Record<EndState, number>> = {};
    for (const f of at(c, 'on')) for (const [k, v] of Object.entries(f.recordings)) counts[k as EndState] = (counts[k as EndState] ?? 0) + v;
    return counts;
  };
  const rows = cases.map((c) => {
    const ratio = med(c, 'on', (f) => f.relayCpuSPerGiB) / med(c, 'off', (f) => f.relayCpuSPerGiB);
    const counts = states(c);
    const bad = (counts.dropped ?? 0) + (counts.failed ?? 0) + (counts.incomplete ?? 0) + (counts.recording ?? 0) + (counts.missing ?? 0);
    return { c, ratio, counts, bad, recordedMiB: at(c, 'on').reduce((n, f) => n + f.recordedBytes, 0) / MiB, relayedMiB: at(c, 'on').length * c.streams * c.mib };
  });
  const fmt = (v: number, digits = 2) => v.toFixed(digits);
  console.log(`\n| case (median of ${2 * ROUNDS} runs each) | websockify s/GiB | off s/GiB | on s/GiB | on ÷ off | MiB/s websockify / off / on | driver s/GiB websockify / off / on | recordings (on) | on disk |`);
  console.log('|---|---|---|---|---|---|---|---|---|');
  for (const { c, ratio, counts, recordedMiB, relayedMiB } of rows) {
    const cpu = (s: SystemId) => fmt(med(c, s, (f) => f.relayCpuSPerGiB));
    const speed = (['websockify', 'off', 'on'] as const).map((s) => fmt(med(c, s, (f) => f.mibs), 0)).join(' / ');
    const driver = (['websockify', 'off', 'on'] as const).map((s) => fmt(med(c, s, (f) => f.driverCpuSPerGiB))).join(' / ');
    const recs = Object.entries(counts).map(([k, v]) => `${v} ${k}`).join(', ');
    console.log(`| ${c.label} | ${cpu('websockify')} | ${cpu('off')} | ${cpu('on')} | ${fmt(ratio)} | ${speed} | ${driver} | ${recs} | ${fmt(recordedMiB, 1)} MiB of ${relayedMiB} MiB relayed |`);
  }
  const worst = Math.max(...rows.map((r) => r.ratio));
  const bad = rows.reduce((n, r) => n + r.bad, 0);
  console.log(`\nrecording on ÷ off, worst case: ${fmt(worst)} (target ≤ ${TARGET_RATIO}: ${worst <= TARGET_RATIO ? 'met' : 'NOT met'})`);
  console.log(`recordings not complete: ${bad} (target 0: ${bad === 0 ? 'met' : 'NOT met'}); recordings written to ${fs}`);
  console.log(
    JSON.stringify({
      node: process.version,
      recordingsFs: fs,
      sizes: { oneMiB: ONE_MIB, many: MANY, manyMiB: MANY_MIB, rounds: ROUNDS },
      cases: Object.fromEntries(
        rows.map(({ c, ratio, counts, recordedMiB }) => [
          c.key,
          {
            ...Object.fromEntries(
              (['websockify', 'off', 'on'] as const).map((s) => [
                s,
                {
                  relayCpuSPerGiB: round(med(c, s, (f) => f.relayCpuSPerGiB), 3),
                  flowCpuSPerGiB: round(med(c, s, (f) => f.flowCpuSPerGiB), 3),
                  mibs: round(med(c, s, (f) => f.mibs), 0),
                  driverCpuSPerGiB: round(med(c, s, (f) => f.driverCpuSPerGiB), 3),
                },
              ]),
            ),
            onOverOff: round(ratio, 3),
            recordings: counts,
            recordedMiB: round(recordedMiB, 1),
          },
        ]),
      ),
      worstOnOverOff: round(worst, 3),
      recordingsNotComplete: bad,
    }),
  );
}

const watchdog = setTimeout(() => {
  console.error('benchmark exceeded 30 minutes; stopping');
  process.exit(2);
}, 1_800_000);
watchdog.unref();
await main();
process.exit(0);
