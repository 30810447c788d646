// Server-Sent Events: one helper for every stream the server offers. A comment
// line every heartbeatMs keeps proxies from closing an idle stream. Streams are
// counted per remote address and per key (a ticket), with coded refusals past
// the caps, and registered on the app so a shutdown ends each one cleanly (the
// reader sees an end it can reconnect from, not a cut). A reader that stops
// reading is not buffered for without end: past MAX_BUFFERED_BYTES waiting to
// be sent, its stream is ended (a stream with event ids resumes from there).
import type { Application, Request, Response } from 'express';
import { AppError } from '../errors.ts';

/** A stream whose event names and payloads are one of protocol/'s stream contracts. */
export interface SseChannel<Events extends object = Record<string, unknown>> {
  /** `id`: the event's id (Last-Event-ID resumes after it); null: none; left out: a count per connection. */
  send<K extends keyof Events & string>(event: K, data: Events[K], id?: number | null): void;
  /** Runs when the client goes away or the server ends the stream. */
  onClose(cleanup: () => void): void;
  /** Ends the stream from the server's side. */
  end(): void;
  /** The client went away, or the stream was ended. */
  readonly closed: boolean;
}

export interface SseLimits {
  perAddress: number;
  perKey: number;
}

/** What a stream may have waiting to be sent before it is ended. */
export const MAX_BUFFERED_BYTES = 4 * 1024 * 1024;

interface SseRegistry {
  limits: SseLimits;
  open: Set<Response>;
  byAddress: Map<string, number>;
  byKey: Map<string, number>;
}

/** Sets up an app's stream registry (createApp calls it once). */
export function installSse(app: Application, limits: SseLimits): void {
  const registry: SseRegistry = { limits, open: new Set(), byAddress: new Map(), byKey: new Map() };
  app.locals.sse = registry;
}

/** Streams open on an app now (the metrics' helpdesk_sse_clients). */
export function openSseCount(app: Application): number {
  return (app.locals.sse as SseRegistry | undefined)?.open.size ?? 0;
}

/** Ends every open stream of an app (at shutdown) cleanly — a terminated chunked body — and resolves once they are flushed (1 s at most). */
export async function endAllSse(app: Application): Promise<number> {
  const registry = app.locals.sse as SseRegistry | undefined;
  if (!registry) return 0;
  const streams = [...registry.open];
  const flushed = streams.map((res) => new Promise<void>((resolve) => {
    if (res.writableFinished || res.destroyed) return resolve();
    res.once('finish', () => resolve());
    res.once('close', () => resolve());
  }));
  for (const res of streams) res.end();
  let timer: NodeJS.Timeout | undefined;
  await Promise.race([Promise.all(flushed), new Promise<void>((resolve) => (timer = setTimeout(resolve, 1_000)))]);
  clearTimeout(timer);
  return streams.length;
}

export function openSse<Events extends object>(req: Request, res: Response, options: { heartbeatMs?: number; key?: string } = {}): SseChannel<Events> {
  const registry = req.app.locals.sse as SseRegistry | undefined;
  const address = req.ip ?? req.socket.remoteAddress ?? 'unknown';
  if (registry) {
    if ((registry.byAddress.get(address) ?? 0) >= registry.limits.perAddress) {
      throw new AppError('TOO_MANY_STREAMS', `Too many live streams from this address (at most ${registry.limits.perAddress}); close some and retry`);
    }
    if (options.key && (registry.byKey.get(options.key) ?? 0) >= registry.limits.perKey) {
      throw new AppError('TOO_MANY_STREAMS', `Too many live streams for this request (at most ${registry.limits.perKey}); close some and retry`);
    }
    bump(registry.byAddress, address, 1);
    if (options.key) bump(registry.byKey, options.key, 1);
    registry.open.add(res);
  }
  res.status(200).set({
    'Content-Type': 'text/event-stream; charset=utf-8',
    'Cache-Control': 'no-cache, no-transform',
    Connection: 'keep-alive',
    'X-Accel-Buffering': 'no',
  });
  res.flushHeaders();
  res.write('retry: 2000\n\n');
  let nextId = 1;
  let closed = false;
  const cleanups: (() => void)[] = [];
  const heartbeat = setInterval(() => res.write(': keep-alive\n\n'), options.heartbeatMs ?? 25_000);
  heartbeat.unref();
  const onGone = (): void => {
    if (closed) return;
    closed = true;
    clearInterval(heartbeat);
    if (registry) {
      registry.open.delete(res);
      bump(registry.byAddress, address, -1);
      if (options.key) bump(registry.byKey, options.key, -1);
    }
    for (const cleanup of cleanups.splice(0)) cleanup();
  };
  req.on('close', onGone);
  res.on('close', onGone);
  const channel: SseChannel<Events> = {
    send(event, data, id) {
      if (res.writableEnded) return;
      if (res.writableLength > MAX_BUFFERED_BYTES) return channel.end();
      const idLine = id === undefined ? `id: ${nextId++}\n` : id === null ? '' : `id: ${id}\n`;
      res.write(`${idLine}event: ${event}\ndata: ${JSON.stringify(data)}\n\n`);
    },
    onClose(cleanup) {
      if (closed) cleanup();
      else cleanups.push(cleanup);
    },
    end() {
      if (!res.writableEnded) res.end();
      onGone();
    },
    get closed() {
      return closed;
    },
  };
  return channel;
}

function bump(counts: Map<string, number>, key: string, by: number): void {
  const next = (counts.get(key) ?? 0) + by;
  if (next <= 0) counts.delete(key);
  else counts.set(key, next);
}
