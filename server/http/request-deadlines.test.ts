// A request's body must arrive within its deadline (Node's 300 s requestTimeout,
// kept per request): a recording handed over gets longer, by its length.
import { afterEach, expect, it } from 'vitest';
import { createServer, type Server } from 'node:http';
import { connect } from 'node:net';
import type { AddressInfo } from 'node:net';
import { applyRequestDeadlines, handoverDeadline } from './request-deadlines.ts';

let server: Server | null = null;
afterEach(async () => {
  await new Promise((r) => server?.close(r) ?? r(null));
  server = null;
});

/** Sends headers and part of a body, the rest after `restAfterMs`; resolves with the answer's status (0: none). */
function slowPut(port: number, path: string, restAfterMs: number): Promise<number> {
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1', () => {
      socket.write(`PUT ${path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\nContent-Length: ${64 * 1024 * 4}\r\n\r\n`);
      socket.write(Buffer.alloc(1000));
      setTimeout(() => socket.writable && socket.write(Buffer.alloc(64 * 1024 * 4 - 1000)), restAfterMs);
    });
    let text = '';
    socket.on('data', (d: Buffer) => (text += d.toString()));
    socket.on('close', () => resolve(Number(/^HTTP\/1\.1 (\d{3})/.exec(text)?.[1] ?? 0)));
    socket.on('error', () => undefined);
  });
}

it('a slow body is cut at the default deadline (408); a hand-over of that length may take longer (its length at 32 KiB/s)', async () => {
  server = createServer((req, res) => {
    req.resume();
    req.on('end', () => res.end('ok'));
  });
  // A 256 KiB hand-over may take 8 s; everything else 500 ms here.
  applyRequestDeadlines(server, { defaultMs: 500, longerMs: handoverDeadline('/internal/v1/repeater/recordings') });
  expect(server.requestTimeout).toBe(0);
  await new Promise<void>((r) => server!.listen(0, '127.0.0.1', r));
  const { port } = server.address() as AddressInfo;
  expect(await slowPut(port, '/upload', 1_200)).toBe(408);
  expect(await slowPut(port, '/internal/v1/repeater/recordings/abc', 1_200)).toBe(200);
  expect(await slowPut(port, '/INTERNAL/v1/repeater/recordings/abc', 1_200)).toBe(408);
}, 15_000);
