// The repeater as its own process (`npm run repeater`, or `node --import tsx
// repeater/main.ts` under a service manager): the same Repeater on its own
// port, linked to the server that stays the authority — tokens are redeemed
// by the server, every leg and session event is reported to it, and it tells
// this node which tickets to end. GET /healthz answers for load balancers.
// SIGTERM/SIGINT: new upgrades refused, legs closed with 4010 SHUTDOWN, the
// events delivered, exit.
import { pino } from 'pino';
import { Repeater } from './repeater.ts';
import { RepeaterConfigError, loadRepeaterConfig } from './config.ts';
import { LinkRefusedError, ServerLink } from './server-link.ts';
import { RecordingOutbox } from './recording-outbox.ts';
import { nativeMasking } from './frames.ts';
import type { RepeaterEvents } from './contract.ts';
import type { WireEvent } from '../protocol/repeater.ts';

let config;
try {
  config = loadRepeaterConfig(process.env);
} catch (err) {
  if (err instanceof RepeaterConfigError) {
    process.stderr.write(`${err.message}\n`);
    process.exit(78);
  }
  throw err;
}

const logger = pino({ level: config.logLevel, base: { node: config.name } });
if (!nativeMasking) logger.warn('bufferutil is not loaded: websocket unmasking runs in JavaScript (slower); reinstall with npm ci');

const link = new ServerLink({ serverUrl: config.serverUrl, secret: config.secret, node: config.name, logger });
try {
  const { version } = await link.hello();
  logger.info({ server: config.serverUrl, version }, 'server answered');
} catch (err) {
  if (err instanceof LinkRefusedError) {
    process.stderr.write(`${err.message}\n`);
    process.exit(78);
  }
  // Not up yet: the link keeps trying; upgrades are refused with 503 until it answers.
  logger.warn({ server: config.serverUrl, err: (err as Error).message }, 'server not reachable yet; will keep trying');
}

// A node with its own RECORDINGS_DIR hands every recording over to the server (and first what its last run left).
const outbox = config.recordingsUpload
  ? new RecordingOutbox({ recordingsDir: config.options.recordingsDir, node: config.name, logger, link, eventsDelivered: () => link.drain(5_000) })
  : null;
await outbox?.start();

const repeater = new Repeater({ authorizeLeg: link.authorize, logger, options: config.options, node: config.name, trustProxy: config.trustProxy });

const forward = <K extends keyof RepeaterEvents>(type: K, toWire: (e: RepeaterEvents[K][0]) => WireEvent): void => {
  repeater.on(type, ((e: RepeaterEvents[K][0]) => link.report(toWire(e))) as never);
};
forward('legWaiting', (e) => ({ type: 'legWaiting', ticketId: e.ticketId, side: e.side, remoteAddress: e.remoteAddress, at: e.at.getTime() }));
forward('paired', (e) => ({
  type: 'paired',
  ticketId: e.ticketId,
  desktopAddress: e.desktopAddress,
  viewerAddress: e.viewerAddress,
  at: e.at.getTime(),
  sessionId: e.sessionId,
  recording: e.recording,
}));
if (outbox) {
  repeater.on('paired', (e) => e.recording && outbox.begun(e.recording, e.ticketId, e.at.getTime()));
  // The server closes the row when it holds the file: no `recordingClosed` for a file handed over.
  repeater.on('recordingClosed', (result) => outbox.closed(result));
} else forward('recordingClosed', (e) => ({ ...e, type: 'recordingClosed' }));
forward('ended', (e) => ({ ...e, type: 'ended', startedAt: e.startedAt.getTime(), endedAt: e.endedAt.getTime() }));
forward('legClosed', (e) => ({ type: 'legClosed', ticketId: e.ticketId, side: e.side, reason: e.reason, waitedMs: e.waitedMs }));
forward('progress', (e) => ({ type: 'progress', sessions: e.sessions }));

link.follow({
  end: ({ ticketId, reason }) => void repeater.endTicket(ticketId, reason),
  // Each time the server (re)connects, it learns what this node holds.
  onOpen: () => {
    link.report({ type: 'sync', ...repeater.holdings() });
    outbox?.kick();
  },
});

const address = await repeater.listen(config.port, config.host, (req, res) => {
  if (req.method === 'GET' && req.url === '/healthz') {
    const healthy = link.connected && !repeater.closing;
    res.writeHead(healthy ? 200 : 503, { 'content-type': 'application/json', 'cache-control': 'no-store' });
    res.end(JSON.stringify({ status: healthy ? 'ok' : repeater.closing ? 'shutting_down' : 'server_unreachable', node: config.name, ...repeater.stats, queuedEvents: link.queued, recordingsToHandOver: outbox?.pending ?? 0 }));
    return;
  }
  res.writeHead(404, { 'content-type': 'application/json' });
  res.end(JSON.stringify({ error: { code: 'NOT_FOUND', message: 'Only websocket upgrades on /wsServer and /wsClient, and GET /healthz, are served here' } }));
});
logger.info({ host: address.address, port: address.port, server: config.serverUrl }, 'repeater listening');

// With a public URL, this node can be given tickets: it says it is alive, and how loaded.
let beating: NodeJS.Timeout | null = null;
if (config.nodeUrl) {
  const nodeUrl = config.nodeUrl;
  const beat = (): void => {
    void link.heartbeat({ url: nodeUrl, sessions: repeater.stats.sessions, legs: repeater.stats.legs });
  };
  beat();
  beating = setInterval(beat, config.nodeHeartbeatMs);
}
process.send?.({ type: 'ready', port: address.port });

let stopping = false;
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.on(signal, () => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, 'shutting down');
    if (beating) clearInterval(beating);
    void (async () => {
      await repeater.close('SHUTDOWN');
      const delivered = await link.drain(5_000);
      if (!delivered) logger.error({ queued: link.queued }, 'some events could not be delivered to the server before exit');
      if (outbox && !(await outbox.drain(5_000))) logger.warn({ pending: outbox.pending }, 'some recordings are not handed over yet: they stay in the outbox for the next start');
      outbox?.close();
      link.close();
      process.exit(0);
    })();
  });
}
