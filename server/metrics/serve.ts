// Where the server's /metrics is answered: on its own port behind
// METRICS_TOKEN, or on a listener of its own (METRICS_BIND); not at all with
// neither (repeater/metrics.ts says why).
import type { Server } from 'node:http';
import { listenForMetrics, metricsOnMainPort, serveMetrics } from '../../repeater/metrics.ts';
import type { ObservabilityOptions } from './config.ts';
import { createServerMetrics, type ServerMetricsDeps } from './server-metrics.ts';

export function serverMetricsDoor(options: ObservabilityOptions['metrics'], deps: Omit<ServerMetricsDeps, 'cacheMs'>) {
  const metrics = createServerMetrics({ ...deps, cacheMs: options.dbCacheMs });
  const handler = serveMetrics(options, metrics.text);
  let listener: Server | null = null;
  return {
    metrics,
    /** For the app: GET /metrics on the main port, or null. */
    onMainPort: metricsOnMainPort(options) ? handler : null,
    /** Opens METRICS_BIND's listener, if set; resolves with its port (null: none). */
    async listen(): Promise<number | null> {
      if (!options.bind) return null;
      const opened = await listenForMetrics(options.bind, handler);
      listener = opened.server;
      return opened.address.port;
    },
    async close(): Promise<void> {
      const server = listener;
      if (!server) return;
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
