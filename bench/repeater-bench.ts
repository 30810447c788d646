// Repeater benchmark (not a test). In one process tree, interleaved, three
// rounds: a direct TCP stream; a bare Node TCP relay (net sockets piped, the
// floor for any Node relay); websockify (Debian's package, when installed);
// the repeater in its own process; and the repeater embedded in an HTTP
// server behind the connection gate, as the helpdesk server runs it. Each
// relay runs as its own process and its CPU is read from /proc (every thread,
// children included), so CPU per GiB is the relay's alone; the driver's own
// CPU is printed beside it.
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
// 64-byte echo RTT next to the same on the other paths, 9,000 idle paired
// sessions (RSS per session), and the ping flood (a client that pings and
// never reads) on the repeater and on websockify. Every loop is bounded in
// count and in time; all traffic is loopback. Last line: one JSON object.
import { cpus } from 'node:os';
import {
  HOST, MiB, Sink, bufferutilInDriver, machineLine, median, percentile, round, startNodePipe, startRepeater, startWebsockify, websockifyInstalled,
  type Relay, type SystemName,
} from './bench-kit.ts';
import { PAIR_RATE_PER_S, echoSamples, idleSessions, pairLatency, streamRun, type RunFigures } from './stream-runs.ts';
import { pingFlood, type FloodFigures } from './ping-flood.ts';

const ONE_STREAM_BYTES = 256 * MiB;
const MANY_STREAMS = 50;
const MANY_STREAM_BYTES = 5 * MiB;
const ROUNDS = 3;

async function main(): Promise<void> {
  console.log(`repeater benchmark: ${HOST}, ${machineLine()}, ${cpus().length} cores`);
  const sink = new Sink();
  await sink.listen();
  const repeater = await startRepeater('repeater');
  const embedded = await startRepeater('embedded');
  if (!repeater.nativeMasking) console.log('\n!!! WARNING: bufferutil is NOT loaded in the repeater: unmasking runs in JavaScript; figures are not representative !!!\n');
  if (!bufferutilInDriver()) console.log('\n!!! WARNING: bufferutil is NOT loaded in the driver (ws clients mask in JavaScript) !!!\n');
  const systems: (Relay | null)[] = [null, await startNodePipe(sink.port)];
  const hasWebsockify = websockifyInstalled();
  const websockify = hasWebsockify ? await startWebsockify(sink.port) : null;
  if (websockify) systems.push(websockify);
  else console.log('websockify is not installed (Debian package "websockify"): its column is left empty');
  systems.push(repeater, embedded);

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
        store.set(name(system), [...(store.get(name(system)) ?? []), figures]);
        console.log(
          `round ${round_} ${label.padEnd(11)} ${name(system).padEnd(10)} ${figures.mibs.toFixed(0).padStart(5)} MiB/s` +
            `  relay CPU ${figures.relayCpuSPerGiB === null ? '   –' : figures.relayCpuSPerGiB.toFixed(2)} s/GiB  driver CPU ${figures.driverCpuSPerGiB.toFixed(2)} s/GiB`,
        );
      }
    }
  }

  const rtt = new Map<SystemName, number[]>();
  for (const system of systems) rtt.set(name(system), await echoSamples(system, sink));
  const flood = new Map<SystemName, FloodFigures>();
  for (const system of [repeater, embedded, websockify]) {
    if (!system) continue;
    const f = await pingFlood(system, sink);
    flood.set(system.name, f);
    console.log(`ping flood ${system.name.padEnd(10)} ${f.sentMiB.toFixed(0).padStart(4)} MiB of pings sent, never read: relay grew ${f.relayGrowthMiB.toFixed(1)} MiB`);
  }
  for (const system of systems) if (system && system !== repeater) await system.stop();

  const pairs = await pairLatency(repeater.port);
  await repeater.stop();
  sink.server.close();
  const idle = await idleSessions();

  const med = (store: Map<SystemName, RunFigures[]>, s: SystemName, pick: (f: RunFigures) => number | null): number | null => {
    const values = (store.get(s) ?? []).map(pick).filter((v): v is number => v !== null);
    return values.length ? median(values) : null;
  };
  const fmt = (v: number | null | undefined, digits = 2): string => (v === null || v === undefined ? '–' : v.toFixed(digits));
  const names: SystemName[] = ['direct', 'nodePipe', 'websockify', 'repeater', 'embedded'];
  const row = (label: string, f: (s: SystemName) => string): string => `| ${label} | ${names.map(f).join(' | ')} |`;
  const table = [
    '| figure (median of 3, interleaved) | direct | node pipe | websockify | repeater (own process) | repeater (embedded) |',
    '|---|---|---|---|---|---|',
    row('1 × 256 MiB, MiB/s', (s) => fmt(med(one, s, (f) => f.mibs), 0)),
    row(`${MANY_STREAMS} × 5 MiB, MiB/s`, (s) => fmt(med(many, s, (f) => f.mibs), 0)),
    row('relay CPU s/GiB, 1 stream', (s) => fmt(med(one, s, (f) => f.relayCpuSPerGiB))),
    row(`relay CPU s/GiB, ${MANY_STREAMS} streams`, (s) => fmt(med(many, s, (f) => f.relayCpuSPerGiB))),
    row('driver CPU s/GiB, 1 stream', (s) => fmt(med(one, s, (f) => f.driverCpuSPerGiB))),
    row(`driver CPU s/GiB, ${MANY_STREAMS} streams`, (s) => fmt(med(many, s, (f) => f.driverCpuSPerGiB))),
    row('64-byte echo p50 / p99, µs', (s) => (rtt.get(s) ? `${fmt(percentile(rtt.get(s)!, 50), 0)} / ${fmt(percentile(rtt.get(s)!, 99), 0)}` : '–')),
    row('ping flood (never read): relay grew, MiB', (s) => fmt(flood.get(s)?.relayGrowthMiB, 1)),
  ];
  console.log(`\n${table.join('\n')}\n`);
  console.log(`repeater pairing: ${pairs.samples.length} sessions at ${pairs.ratePerS.toFixed(0)}/s (offered ${PAIR_RATE_PER_S}/s), ${pairs.failed} failed, p50 ${percentile(pairs.samples, 50).toFixed(2)} ms, p99 ${percentile(pairs.samples, 99).toFixed(2)} ms`);
  console.log(`repeater idle sessions: ${idle.held} held, ${idle.failed} failed, ${idle.rssKiBPerSession.toFixed(2)} KiB RSS each`);

  const fig = (store: Map<SystemName, RunFigures[]>, s: SystemName, pick: (f: RunFigures) => number | null, digits: number) => {
    const v = med(store, s, pick);
    return v === null ? null : round(v, digits);
  };
  const cpu = (f: RunFigures) => f.relayCpuSPerGiB;
  const speed = (f: RunFigures) => f.mibs;
  console.log(
    JSON.stringify({
      node: process.version,
      relayCpuSPerGiB1: fig(one, 'repeater', cpu, 3),
      relayCpuSPerGiB50: fig(many, 'repeater', cpu, 3),
      embeddedCpuSPerGiB1: fig(one, 'embedded', cpu, 3),
      embeddedCpuSPerGiB50: fig(many, 'embedded', cpu, 3),
      websockifyCpuSPerGiB1: fig(one, 'websockify', cpu, 3),
      websockifyCpuSPerGiB50: fig(many, 'websockify', cpu, 3),
      nodePipeCpuSPerGiB1: fig(one, 'nodePipe', cpu, 3),
      relayMiBs1: fig(one, 'repeater', speed, 0),
      relayMiBs50: fig(many, 'repeater', speed, 0),
      embeddedMiBs1: fig(one, 'embedded', speed, 0),
      embeddedMiBs50: fig(many, 'embedded', speed, 0),
      websockifyMiBs1: fig(one, 'websockify', speed, 0),
      websockifyMiBs50: fig(many, 'websockify', speed, 0),
      directMiBs1: fig(one, 'direct', speed, 0),
      pairP99Ms: round(percentile(pairs.samples, 99), 3),
      rttP50Us: round(percentile(rtt.get('repeater') ?? [], 50), 1),
      sessionsHeld: idle.held,
      sessionsFailed: idle.failed,
      rssKiBPerSession: round(idle.rssKiBPerSession, 2),
      pingFloodGrowthMiB: round(flood.get('repeater')?.relayGrowthMiB ?? NaN, 1),
      websockifyPingFloodGrowthMiB: flood.has('websockify') ? round(flood.get('websockify')!.relayGrowthMiB, 1) : null,
    }),
  );
}

const watchdog = setTimeout(() => {
  console.error('benchmark exceeded 20 minutes; stopping');
  process.exit(2);
}, 1_200_000);
watchdog.unref();
await main();
process.exit(0);
