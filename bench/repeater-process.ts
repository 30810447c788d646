// The repeater under benchmark, in its own process: started by
// bench/repeater-bench.ts with fork(), it reports its port over IPC and
// answers RSS queries. Its authorizer accepts tokens of the form
// `bench.<ticketId>.<side>` so the driver needs no shared state; it keeps no
// per-token memory, so it adds nothing to the per-session RSS figure.
// BENCH_EMBEDDED=1: the repeater is attached to an HTTP server behind the
// connection gate, as the helpdesk server runs it (its other requests answered
// 404 here), instead of listening on its own.
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { pino } from 'pino';
import { Repeater } from '../repeater/repeater.ts';
import { ConnectionGate } from '../repeater/connection-gate.ts';
import { defaultRepeaterOptions } from '../repeater/contract.ts';
import type { Authorization, LegRequest } from '../protocol/repeater.ts';
import { nativeMasking } from '../repeater/frames.ts';

// `bench.<ticketId>.<side>.rec` also orders the session recorded (under BENCH_RECORDINGS_DIR).
function benchAuthorize(request: LegRequest): Authorization {
  const parts = request.token?.split('.') ?? [];
  const recorded = parts.length === 4 && parts[3] === 'rec';
  if ((parts.length !== 3 && !recorded) || parts[0] !== 'bench' || (parts[2] !== 'desktop' && parts[2] !== 'viewer')) {
    return { ok: false, code: 'TOKEN_INVALID', message: 'not a bench token' };
  }
  return { ok: true, ticketId: parts[1]!, side: parts[2], record: recorded ? { meta: { bench: true } } : null };
}

const options = {
  maxLegs: 19_500,
  maxLegsPerAddress: 19_500,
  ...(process.env.BENCH_RECORDINGS_DIR ? { recordingsDir: process.env.BENCH_RECORDINGS_DIR } : {}),
  ...(process.env.BENCH_HWM ? { highWaterMarkBytes: Number(process.env.BENCH_HWM) } : {}),
};
const embedded = process.env.BENCH_EMBEDDED === '1';
// The server's default TRUST_PROXY is loopback: loopback counts only to the gate's total.
const gate = embedded ? ConnectionGate.fromOptions(defaultRepeaterOptions, (a) => a.startsWith('127.') || a === '::1') : undefined;
const repeater = new Repeater({ authorizeLeg: benchAuthorize, logger: pino({ level: 'warn' }), options, ...(gate ? { gate } : {}) });

let port: number;
if (embedded) {
  const server = createServer((_req, res) => {
    res.writeHead(404, { 'content-type': 'application/json' });
    res.end('{"error":{"code":"NOT_FOUND"}}');
  });
  gate!.attach(server);
  repeater.attach(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  port = (server.address() as AddressInfo).port;
} else {
  port = (await repeater.listen(0, '127.0.0.1')).port;
}
process.send?.({ type: 'ready', port, nativeMasking });
process.on('message', (message: { type: string }) => {
  if (message.type === 'rss') {
    const gc = (globalThis as { gc?: () => void }).gc;
    gc?.();
    process.send?.({ type: 'rss', rss: process.memoryUsage().rss, stats: repeater.stats });
  } else if (message.type === 'stop') {
    void repeater.close().then(() => process.exit(0));
  }
});
process.on('disconnect', () => process.exit(0));
process.on('SIGTERM', () => process.exit(0)); // a clean exit writes a --cpu-prof profile
