// How long a request's body may take to arrive. Node's own `requestTimeout`
// (300 s) is one limit for every request on the server, which makes a large
// recording handed over on a slow link impossible; so the server switches it
// off and keeps the same limit per request here, except where `longerMs`
// grants more (a hand-over: its declared length at a slow link's rate). The
// headers still must arrive within Node's `headersTimeout`. A request whose
// body is late is answered 408 and its connection closed.
import type { IncomingMessage, Server } from 'node:http';

export interface RequestDeadlines {
  /** Every request's body must have arrived this long after its headers (Node's default requestTimeout). */
  defaultMs: number;
  /** A longer limit for this request, or null. */
  longerMs: (req: IncomingMessage) => number | null;
}

export function applyRequestDeadlines(server: Server, deadlines: RequestDeadlines): void {
  server.requestTimeout = 0;
  server.on('request', (req: IncomingMessage, res) => {
    if (req.complete) return;
    const ms = Math.max(deadlines.defaultMs, deadlines.longerMs(req) ?? 0);
    const timer = setTimeout(() => {
      if (req.complete || res.writableEnded) return;
      if (!res.headersSent) res.writeHead(408, { 'content-type': 'application/json', connection: 'close' }).end(JSON.stringify({ error: { code: 'UPLOAD_TIMEOUT', message: `The request's body did not arrive within ${Math.round(ms / 1000)} s` } }));
      req.socket.destroy();
    }, ms);
    timer.unref();
    const clear = (): void => clearTimeout(timer);
    req.once('end', clear);
    req.once('close', clear);
    res.once('close', clear);
  });
}

/** A recording handed over (PUT /internal/v1/repeater/recordings/:id) may take its declared length at this rate (32 KiB/s), at least the default. */
export const HANDOVER_MIN_BYTES_PER_SECOND = 32 * 1024;

export function handoverDeadline(prefix: string): (req: IncomingMessage) => number | null {
  return (req) => {
    if (req.method !== 'PUT' || !req.url?.startsWith(`${prefix}/`)) return null;
    const length = Number(req.headers['content-length']);
    return Number.isSafeInteger(length) && length > 0 ? Math.ceil((length / HANDOVER_MIN_BYTES_PER_SECOND) * 1000) : null;
  };
}
