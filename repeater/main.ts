// The repeater as its own process (`npm run repeater`, or `node --import tsx
// repeater/main.ts` under a service manager): the same Repeater on its own
// port, linked to the server that stays the authority — this process claims
// the node's name (renewed by heartbeats), tokens are redeemed by the server,
// every leg and session event is reported to it, and it tells this node which
// tickets to end. GET /healthz answers for load balancers.
// SIGTERM/SIGINT: new upgrades refused, legs closed with 4010 SHUTDOWN, the
// events delivered, exit.
import { pino } from 'pino';
import { Repeater } from './repeater.ts';
import { RepeaterConfigError, loadRepeaterConfig } from './config.ts';
import { LinkRefusedError, NodeNameTakenError, ServerLink } from './server-link.ts';
import { RecordingOutbox } from './recording-outbox.ts';
import { nativeMasking } from './frames.ts';
import { forwardSessionEvents } from './wire-events.ts';
import { Registry } from 'prom-client';
import { addRepeaterMetrics, listenForMetrics, metricsOnMainPort, metricsText, serveMetrics } from './metrics.ts';

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
  // Not up yet: the link keeps trying; upgrades are refused with 503 until it answers. Or another
  // process holds this node's name (the link logged the server's words): the heartbeats keep
  // asking, and until the name is this process's, its command stream and upgrades are refused.
  if (!(err instanceof NodeNameTakenError)) logger.warn({ server: config.serverUrl, err: (err as Error).message }, 'server not reachable yet; will keep trying');
}

// A node with its own RECORDINGS_DIR hands every recording over to the server (and first what its last run left).
const outbox = config.recordingsUpload
  ? new RecordingOutbox({ recordingsDir: config.options.recordingsDir, node: config.name, logger, link, eventsDelivered: () => link.drain(5_000) })
  : null;
await outbox?.start();

const repeater = new Repeater({ authorizeLeg: link.authorize, logger, options: config.options, node: config.name, trustProxy: config.trustProxy });

// The server closes the row of a recording handed over when it holds the file: no `recordingClosed` for it.
forwardSessionEvents(repeater, (e) => link.report(e), { recordingClosed: !outbox });
if (outbox) {
  repeater.on('paired', (e) => e.recording && outbox.begun(e.recording, e.ticketId, e.at.getTime(), e.sessionId));
  repeater.on('recordingClosed', (result) => outbox.closed(result));
}

link.follow({
  end: ({ ticketId, reason }) => void repeater.endTicket(ticketId, reason),
  onOpen: () => outbox?.kick(),
});

// GET /metrics: this node's own numbers (repeater/metrics.ts), behind METRICS_TOKEN or on METRICS_BIND; not served without either.
const metricsRegistry = new Registry();
addRepeaterMetrics(metricsRegistry, repeater);
const metrics = serveMetrics(config.metrics, () => metricsText([metricsRegistry]));
const metricsListener = config.metrics.bind ? await listenForMetrics(config.metrics.bind, metrics) : null;
if (metricsListener) logger.info({ host: metricsListener.address.address, port: metricsListener.address.port }, 'metrics listening');

const address = await repeater.listen(config.port, config.host, (req, res) => {
  if (req.method === 'GET' && (req.url ?? '').split('?')[0] === '/metrics' && metricsOnMainPort(config.metrics)) {
    metrics(req, res);
    return;
  }
  if (req.method === 'GET' && req.url === '/healthz') {
    const healthy = link.connected && !repeater.closing;
    const status = healthy ? 'ok' : repeater.closing ? 'shutting_down' : link.nameTaken ? 'name_taken' : 'server_unreachable';
    res.writeHead(healthy ? 200 : 503, { 'content-type': 'application/json', 'cache-control': 'no-store' });
    res.end(JSON.stringify({ status, node: config.name, ...repeater.stats, queuedEvents: link.queued, recordingsToHandOver: outbox?.pending ?? 0 }));
    return;
  }
  res.writeHead(404, { 'content-type': 'application/json' });
  res.end(JSON.stringify({ error: { code: 'NOT_FOUND', message: 'Only websocket upgrades on /wsServer and /wsClient, and GET /healthz, are served here' } }));
});
logger.info({ host: address.address, port: address.port, server: config.serverUrl }, 'repeater listening');

// Heartbeats renew this process's claim on the node's name (at least three times per lease, or
// the server counts the node lost and ends its sessions); with a public URL they also say where
// clients reach the node and how loaded it is, so it can be given tickets.
let beating: NodeJS.Timeout | null = null;
const beat = (): void => {
  void link.heartbeat({ url: config.nodeUrl ?? null, sessions: repeater.stats.sessions, legs: repeater.stats.legs });
  beating = setTimeout(beat, Math.min(config.nodeHeartbeatMs, Math.floor(link.leaseMs / 3)));
};
beat();
process.send?.({ type: 'ready', port: address.port, metricsPort: metricsListener?.address.port ?? null });

let stopping = false;
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.on(signal, () => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, 'shutting down');
    if (beating) clearTimeout(beating);
    void (async () => {
      await repeater.close('SHUTDOWN');
      const delivered = await link.drain(5_000);
      if (!delivered) logger.error({ queued: link.queued }, 'some events could not be delivered to the server before exit');
      if (outbox && !(await outbox.drain(5_000))) logger.warn({ pending: outbox.pending }, 'some recordings are not handed over yet: they stay in the outbox for the next start');
      outbox?.close();
      metricsListener?.server.close();
      // The name is free for the next start at once (what ran here ended above, in the events).
      await link.heartbeat({ url: config.nodeUrl ?? null, sessions: 0, legs: 0, leaving: true });
      link.close();
      process.exit(0);
    })();
  });
}
