// Prometheus metrics (prom-client) of a repeater — the embedded one (the
// server adds them to its own registry) or a repeater process — and the door
// both serve /metrics through. Every number here is this process's own: a
// deployment's total is Prometheus's sum over its targets.
//
// The door: with METRICS_TOKEN, `Authorization: Bearer <token>` compared in
// constant time; with METRICS_BIND, a listener of its own on that address
// (loopback or a management network), where the token is still asked for when
// set. With neither, /metrics is not served at all: an unprotected /metrics on
// the public port would tell anyone the service's load and failures.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Counter, Gauge, Registry, collectDefaultMetrics } from 'prom-client';
import { z } from 'zod';
import { sameSecret } from '../lib/crypto.ts';
import type { Repeater } from './repeater.ts';

/** METRICS_TOKEN and METRICS_BIND: the same names and rules in the server and in a repeater process. */
export const metricsEnv = {
  METRICS_TOKEN: z.string().min(16, 'must be at least 16 characters').optional(),
  METRICS_BIND: z
    .string()
    .regex(/^(\[[0-9a-fA-F:.]+\]|[A-Za-z0-9.-]+):\d{1,5}$/, 'must be host:port, like 127.0.0.1:9464 or [::1]:9464')
    .refine((v) => Number(v.slice(v.lastIndexOf(':') + 1)) <= 65535, 'the port must be at most 65535')
    .optional(),
};

export interface MetricsDoor {
  /** Asked for as `Authorization: Bearer …` (null: none — only with a bind address). */
  token: string | null;
  /** A listener of its own for /metrics (null: /metrics on the main port, with the token). */
  bind: { host: string; port: number } | null;
}

export function metricsDoorFrom(e: { METRICS_TOKEN?: string | undefined; METRICS_BIND?: string | undefined }): MetricsDoor {
  const bind = e.METRICS_BIND ? { host: e.METRICS_BIND.slice(0, e.METRICS_BIND.lastIndexOf(':')).replace(/^\[|\]$/g, ''), port: Number(e.METRICS_BIND.slice(e.METRICS_BIND.lastIndexOf(':') + 1)) } : null;
  return { token: e.METRICS_TOKEN ?? null, bind };
}

/** Whether /metrics is served on the main port (a token is set and no bind address is). */
export const metricsOnMainPort = (door: MetricsDoor): boolean => door.token !== null && door.bind === null;

let processWide: Registry | null = null;

/** Process metrics (CPU, memory, handles, event-loop lag, GC), standard names: one set per process, however many servers it runs (tests). */
export function processRegistry(): Registry {
  if (!processWide) {
    processWide = new Registry();
    collectDefaultMetrics({ register: processWide, eventLoopMonitoringPrecision: 10 });
  }
  return processWide;
}

/** The repeater's gauges and its relay counter, read at each scrape: nothing is added to the byte path. */
export function addRepeaterMetrics(registry: Registry, repeater: Repeater): void {
  const ended = { desktopToViewer: 0, viewerToDesktop: 0 };
  // Emitted in the same tick the session leaves liveRelayBytes: the counter never goes back.
  repeater.on('ended', (e) => {
    ended.desktopToViewer += e.bytesDesktopToViewer;
    ended.viewerToDesktop += e.bytesViewerToDesktop;
  });
  new Gauge({
    name: 'helpdesk_sessions_live',
    help: 'Remote sessions relaying now through this process\'s repeater (both legs paired)',
    registers: [registry],
    collect() {
      this.set(repeater.stats.sessions);
    },
  });
  new Gauge({
    name: 'helpdesk_legs_live',
    help: 'Legs (desktop or viewer websockets) connected to this process\'s repeater, waiting or paired',
    registers: [registry],
    collect() {
      this.set(repeater.stats.legs);
    },
  });
  new Counter({
    name: 'helpdesk_relay_bytes_total',
    help: 'Payload bytes this process\'s repeater relayed, by direction (desktop_to_viewer, viewer_to_desktop)',
    labelNames: ['direction'],
    registers: [registry],
    collect() {
      let { desktopToViewer, viewerToDesktop } = ended;
      for (const live of repeater.liveRelayBytes) {
        desktopToViewer += live.desktopToViewer;
        viewerToDesktop += live.viewerToDesktop;
      }
      this.reset();
      this.inc({ direction: 'desktop_to_viewer' }, desktopToViewer);
      this.inc({ direction: 'viewer_to_desktop' }, viewerToDesktop);
    },
  });
}

/** The registries' text, process metrics first (names never repeat between them). */
export async function metricsText(registries: readonly Registry[]): Promise<string> {
  const parts = await Promise.all([processRegistry(), ...registries].map((r) => r.metrics()));
  return parts.join('\n');
}

/**
 * Answers GET /metrics: refused (401) without the token when one is set,
 * otherwise the metrics. Refusals cost nothing (no metric is read for them).
 */
export function serveMetrics(door: MetricsDoor, render: () => Promise<string>) {
  // Served at all: the process metrics (the event loop's lag among them) are measured from now, not from the first scrape.
  if (door.token !== null || door.bind !== null) processRegistry();
  return (req: IncomingMessage, res: ServerResponse): void => {
    if (door.token !== null) {
      const header = req.headers.authorization ?? '';
      const given = /^Bearer (.+)$/i.exec(header)?.[1] ?? null;
      if (!sameSecret(given, door.token)) {
        res.writeHead(401, { 'content-type': 'application/json', 'www-authenticate': 'Bearer realm="metrics"', 'cache-control': 'no-store' });
        res.end(JSON.stringify({ error: { code: 'UNAUTHENTICATED', message: 'Send Authorization: Bearer <METRICS_TOKEN> to read /metrics' } }));
        return;
      }
    }
    render().then(
      (text) => {
        res.writeHead(200, { 'content-type': processRegistry().contentType, 'cache-control': 'no-store' });
        res.end(text);
      },
      (err: unknown) => {
        res.writeHead(500, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ error: { code: 'INTERNAL', message: `The metrics could not be read: ${(err as Error).message}` } }));
      },
    );
  };
}

/** METRICS_BIND: a listener serving only GET /metrics; resolves with its address. */
export async function listenForMetrics(bind: { host: string; port: number }, handler: ReturnType<typeof serveMetrics>): Promise<{ server: Server; address: AddressInfo }> {
  const server = createServer((req, res) => {
    if (req.method === 'GET' && (req.url ?? '').split('?')[0] === '/metrics') return handler(req, res);
    res.writeHead(404, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ error: { code: 'NOT_FOUND', message: 'Only GET /metrics is served here' } }));
  });
  server.requestTimeout = 30_000;
  server.maxConnections = 64;
  server.headersTimeout = 10_000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(bind.port, bind.host, () => resolve());
  });
  return { server, address: server.address() as AddressInfo };
}
