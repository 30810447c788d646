// Server-Sent Events: one helper for every stream the server offers. A comment
// line every heartbeatMs keeps proxies from closing an idle stream.
import type { Request, Response } from 'express';

export interface SseChannel {
  send(event: string, data: unknown): void;
  /** Runs when the client goes away. */
  onClose(cleanup: () => void): void;
}

export function openSse(req: Request, res: Response, heartbeatMs = 25_000): SseChannel {
  res.status(200).set({
    'Content-Type': 'text/event-stream; charset=utf-8',
    'Cache-Control': 'no-cache, no-transform',
    Connection: 'keep-alive',
    'X-Accel-Buffering': 'no',
  });
  res.flushHeaders();
  res.write('retry: 2000\n\n');
  let nextId = 1;
  const cleanups: (() => void)[] = [];
  const heartbeat = setInterval(() => res.write(': keep-alive\n\n'), heartbeatMs);
  heartbeat.unref();
  req.on('close', () => {
    clearInterval(heartbeat);
    for (const cleanup of cleanups.splice(0)) cleanup();
  });
  return {
    send(event, data) {
      if (res.writableEnded) return;
      res.write(`id: ${nextId++}\nevent: ${event}\ndata: ${JSON.stringify(data)}\n\n`);
    },
    onClose(cleanup) {
      cleanups.push(cleanup);
    },
  };
}
