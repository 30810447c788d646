// The repeater under benchmark, in its own process: started by
// bench/repeater-bench.ts with fork(), it reports its port over IPC and
// answers RSS queries. Its authorizer accepts tokens of the form
// `bench.<ticketId>.<side>` so the driver needs no shared state; it keeps no
// per-token memory, so it adds nothing to the per-session RSS figure.
import { pino } from 'pino';
import { Repeater } from '../repeater/repeater.ts';
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

const repeater = new Repeater({
  authorizeLeg: benchAuthorize,
  logger: pino({ level: 'warn' }),
  options: {
    maxLegs: 19_500,
    maxLegsPerAddress: 19_500,
    ...(process.env.BENCH_RECORDINGS_DIR ? { recordingsDir: process.env.BENCH_RECORDINGS_DIR } : {}),
    ...(process.env.BENCH_HWM ? { highWaterMarkBytes: Number(process.env.BENCH_HWM) } : {}),
  },
});

const { port } = await repeater.listen(0, '127.0.0.1');
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
