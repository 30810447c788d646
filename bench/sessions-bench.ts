// Realistic-session benchmark (not a test). Bulk streams are not what a
// helpdesk relays: a real session is a few dozen small messages a second. The
// two streams of a real recorded x11vnc session (bench/traces, made by
// `BENCH_TRACE_OUT=… npm run bench:recording`: sizes and timing, never
// content) are replayed through N = 100, 500 and 1,000 concurrent sessions —
// straight to the driver's sink (the floor: the driver's own delay), through a
// bare Node TCP pipe (the floor of any Node relay: no websocket work at all),
// through websockify (Debian's package, as users run it: one process per
// connection) and through the repeater in its own process — interleaved per N. For each:
// the relay's CPU per session (% of a core, read from /proc for its whole
// process tree), sessions per core, the delay a message gains (p50, p99) and
// the driver's own CPU. Every loop is bounded in count and time; loopback
// only. Last line: one JSON object.
import { readFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { treeCpuSeconds } from './proc-cpu.ts';
import { Sink, driverCpuSeconds, machineLine, percentile, round, startNodePipe, startRepeater, startWebsockify, websockifyInstalled, type Relay } from './bench-kit.ts';
import { replay, type ReplayFigures, type Trace } from './session-replay.ts';

const RUN_MS = Number(process.env.BENCH_RUN_MS ?? 20_000);
const SIZES = (process.env.BENCH_SESSIONS ?? '100,500,1000').split(',').map(Number);

interface Row {
  system: string;
  n: number;
  cpuPctPerSession: number | null;
  sessionsPerCore: number | null;
  p50Ms: number;
  p99Ms: number;
  undelivered: number;
  driverCpuPct: number;
}

function summarize(f: ReplayFigures): Row {
  const cores = f.relayCpuS === null ? null : f.relayCpuS / f.seconds;
  return {
    system: f.system,
    n: f.sessions,
    cpuPctPerSession: cores === null ? null : (cores / f.sessions) * 100,
    sessionsPerCore: cores === null || cores === 0 ? null : f.sessions / cores,
    p50Ms: percentile(f.delaysMs, 50),
    p99Ms: percentile(f.delaysMs, 99),
    undelivered: f.undelivered,
    driverCpuPct: (f.driverCpuS / f.seconds) * 100,
  };
}

async function main(): Promise<void> {
  const trace = JSON.parse(readFileSync(new URL('./traces/x11vnc-session.json', import.meta.url), 'utf8')) as Trace;
  const perS = trace.messages.length / (trace.durationMs / 1000);
  const kBps = trace.messages.reduce((n, m) => n + m[2], 0) / trace.durationMs;
  console.log(`realistic sessions: ${machineLine()}, ${cpus().length} cores; ${RUN_MS / 1000} s per run`);
  console.log(`trace: ${trace.source}; ${trace.messages.length} messages in ${(trace.durationMs / 1000).toFixed(1)} s (${perS.toFixed(0)}/s, ${kBps.toFixed(1)} KB/s)`);
  const sink = new Sink();
  await sink.listen();
  const repeater = await startRepeater('repeater');
  const websockify = websockifyInstalled() ? await startWebsockify(sink.port) : null;
  if (!websockify) console.log('websockify is not installed (Debian package "websockify"): its rows are left out');
  const nodePipe = await startNodePipe(sink.port);
  const systems: (Relay | null)[] = [null, nodePipe, websockify, repeater].filter((s, i) => i === 0 || s !== null);
  const rows: Row[] = [];
  for (const n of SIZES) {
    for (const system of systems) {
      const cpu = { relay: () => (system?.pid ? treeCpuSeconds(system.pid) : null), driver: driverCpuSeconds };
      const row = summarize(await replay(system, sink, trace, n, RUN_MS, cpu));
      rows.push(row);
      console.log(
        `N=${String(n).padStart(4)} ${row.system.padEnd(10)} relay ${row.cpuPctPerSession === null ? '    –' : row.cpuPctPerSession.toFixed(3)} % of a core per session` +
          ` (${row.sessionsPerCore === null ? '–' : row.sessionsPerCore.toFixed(0)} sessions/core), delay p50 ${row.p50Ms.toFixed(2)} ms p99 ${row.p99Ms.toFixed(2)} ms,` +
          ` undelivered ${row.undelivered}, driver ${row.driverCpuPct.toFixed(0)} % of a core`,
      );
    }
  }
  await repeater.stop();
  await nodePipe.stop();
  await websockify?.stop();
  sink.server.close();

  const fmt = (v: number | null, d = 2) => (v === null ? '–' : v.toFixed(d));
  console.log('\n| N | system | relay CPU per session, % of a core | sessions per core | delay p50 / p99, ms | driver CPU, % of a core |');
  console.log('|---|---|---|---|---|---|');
  for (const r of rows) console.log(`| ${r.n} | ${r.system} | ${fmt(r.cpuPctPerSession, 3)} | ${fmt(r.sessionsPerCore, 0)} | ${fmt(r.p50Ms)} / ${fmt(r.p99Ms)} | ${fmt(r.driverCpuPct, 0)} |`);
  const at = (system: string) => rows.find((r) => r.system === system && r.n === Math.max(...SIZES));
  const floor = at('direct');
  console.log(
    JSON.stringify({
      node: process.version,
      sessions: Math.max(...SIZES),
      runSeconds: RUN_MS / 1000,
      traceMessagesPerS: round(perS, 1),
      realisticSessionsPerCore: at('repeater')?.sessionsPerCore ? round(at('repeater')!.sessionsPerCore!, 0) : null,
      websockifyRealisticSessionsPerCore: at('websockify')?.sessionsPerCore ? round(at('websockify')!.sessionsPerCore!, 0) : null,
      nodePipeRealisticSessionsPerCore: at('nodePipe')?.sessionsPerCore ? round(at('nodePipe')!.sessionsPerCore!, 0) : null,
      realisticDelayP99Ms: at('repeater') ? round(at('repeater')!.p99Ms, 2) : null,
      realisticAddedDelayP99Ms: at('repeater') && floor ? round(Math.max(0, at('repeater')!.p99Ms - floor.p99Ms), 2) : null,
      websockifyDelayP99Ms: at('websockify') ? round(at('websockify')!.p99Ms, 2) : null,
      directDelayP99Ms: floor ? round(floor.p99Ms, 2) : null,
      undelivered: rows.reduce((n, r) => n + r.undelivered, 0),
    }),
  );
}

const watchdog = setTimeout(() => {
  console.error('benchmark exceeded 15 minutes; stopping');
  process.exit(2);
}, 900_000);
watchdog.unref();
await main();
process.exit(0);
