// Start-up benchmark (not a test): how long the server takes from `node` to a
// 200 on /healthz, and its resident memory then and 2 s later, started the way
// production starts it — through tsx's loader (as before Node 24) and, where
// this Node strips types itself (24 LTS, 22.18+), with no loader at all.
// Five starts each, interleaved, each on a fresh SQLite database under /tmp.
// Loopback only; every wait is bounded. Last line: one JSON object.
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { treeRssBytes } from './proc-cpu.ts';
import { freePort, machineLine, median, round, sleep } from './bench-kit.ts';

const STARTS = 5;
const main = fileURLToPath(new URL('../server/main.ts', import.meta.url));
const native = Boolean((process.features as { typescript?: string | false }).typescript);
type Mode = 'tsx' | 'native';

async function start(mode: Mode): Promise<{ ms: number; rssMiB: number; rssLaterMiB: number }> {
  const dir = mkdtempSync(join(tmpdir(), 'hd-startup-'));
  const port = await freePort();
  const args = mode === 'tsx' ? ['--import', 'tsx', main] : [main];
  const t0 = performance.now();
  const child = spawn(process.execPath, args, {
    env: { PATH: process.env.PATH ?? '', PORT: String(port), HOST: '127.0.0.1', DATABASE_URL: `sqlite:${join(dir, 'h.db')}`, ADMIN_PASSWORD: 'Zq8-harbour-lantern-91', RECORDINGS_DIR: join(dir, 'rec'), FILES_DIR: join(dir, 'files'), SECRETS_KEY_FILE: join(dir, 'keys', 'secrets.key'), LOG_LEVEL: 'warn' },
    stdio: 'ignore',
  });
  try {
    for (const deadline = Date.now() + 30_000; ; ) {
      if (Date.now() > deadline || child.exitCode !== null) throw new Error(`the server (${mode}) did not answer /healthz within 30 s`);
      const ok = await fetch(`http://127.0.0.1:${port}/healthz`).then((r) => r.ok, () => false);
      if (ok) break;
      await sleep(5);
    }
    const ms = performance.now() - t0;
    const rssMiB = treeRssBytes(child.pid!) / 2 ** 20;
    await sleep(2000);
    return { ms, rssMiB, rssLaterMiB: treeRssBytes(child.pid!) / 2 ** 20 };
  } finally {
    child.kill('SIGKILL');
    await new Promise((resolve) => child.once('exit', resolve));
    rmSync(dir, { recursive: true, force: true });
  }
}

const modes: Mode[] = native ? ['tsx', 'native'] : ['tsx'];
console.log(`start-up benchmark: ${machineLine()}; ${STARTS} starts per mode, interleaved${native ? '' : ' (this Node cannot strip types: tsx only)'}`);
const results = new Map<Mode, { ms: number; rssMiB: number; rssLaterMiB: number }[]>();
for (let i = 0; i < STARTS; i++) {
  for (const mode of modes) {
    const r = await start(mode);
    results.set(mode, [...(results.get(mode) ?? []), r]);
    console.log(`  ${mode.padEnd(6)} ${r.ms.toFixed(0).padStart(5)} ms to /healthz, RSS ${r.rssMiB.toFixed(1)} MiB, ${r.rssLaterMiB.toFixed(1)} MiB 2 s later`);
  }
}
const summary = Object.fromEntries(
  modes.map((mode) => {
    const list = results.get(mode)!;
    return [mode, { startMs: round(median(list.map((r) => r.ms)), 0), rssMiB: round(median(list.map((r) => r.rssMiB)), 1), rssLaterMiB: round(median(list.map((r) => r.rssLaterMiB)), 1) }];
  }),
);
for (const [mode, s] of Object.entries(summary)) console.log(`${mode}: median ${s.startMs} ms to /healthz, RSS ${s.rssMiB} MiB (${s.rssLaterMiB} MiB 2 s later)`);
console.log(JSON.stringify({ node: process.version, ...summary }));
process.exit(0);
