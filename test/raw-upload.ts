// Uploads over a raw socket, to see what the server does before it reads a
// body: `declaredOnly` declares a Content-Length and sends only a few bytes of
// it (the answer that comes back was given without the body being read: a
// server that read it would wait for the rest); `heldUpload` keeps such an
// upload open, to finish or drop it later.
import { connect, type Socket } from 'node:net';

/** POSTs `path` declaring `length` bytes of application/octet-stream and sends a handful; resolves with the raw answer once the server closes. */
export function declaredOnly(serverUrl: string, path: string, headers: Record<string, string>, length: number): Promise<string> {
  return new Promise<string>((resolve, reject) => {
    const url = new URL(serverUrl);
    const extra = Object.entries(headers).map(([k, v]) => `${k}: ${v}\r\n`).join('');
    const socket = connect(Number(url.port), url.hostname, () => {
      socket.write(`POST ${path} HTTP/1.1\r\nHost: ${url.host}\r\n${extra}Content-Type: application/octet-stream\r\nContent-Length: ${length}\r\n\r\nonly a few bytes`);
    });
    let data = '';
    socket.on('data', (d) => (data += d.toString()));
    socket.on('close', () => resolve(data));
    socket.on('error', reject);
    setTimeout(() => socket.destroy(new Error(`no answer; got ${data}`)), 5_000);
  });
}

/** An upload under way: the first bytes sent, the rest held back. */
export interface HeldUpload {
  /** The answer so far ('' while none came): a status line, headers and the whole body once complete. */
  answer(): string;
  /** Whether a whole answer has come (or the server closed the connection). */
  answered(): boolean;
  /** Sends the rest of the body (zeros; for a chunked upload, `rest` bytes and the last chunk). */
  finish(rest?: number): void;
  /** Drops the connection, the body unfinished (a client that went away). */
  drop(): void;
}

/**
 * POSTs `path` as application/octet-stream declaring `length` bytes (null:
 * chunked) and sends `first` of them; resolves once they are written. The
 * server's answer, if it gives one before the rest, is then `answer()`.
 */
export function heldUpload(serverUrl: string, path: string, headers: Record<string, string>, length: number | null, first = 1024): Promise<HeldUpload> {
  const url = new URL(serverUrl);
  const extra = Object.entries(headers).map(([k, v]) => `${k}: ${v}\r\n`).join('');
  const framing = length === null ? 'Transfer-Encoding: chunked' : `Content-Length: ${length}`;
  const chunk = (n: number) => (length === null ? Buffer.concat([Buffer.from(`${n.toString(16)}\r\n`), Buffer.alloc(n), Buffer.from('\r\n')]) : Buffer.alloc(n));
  let data = '';
  let closed = false;
  const complete = (): boolean => {
    const end = data.indexOf('\r\n\r\n');
    if (end < 0) return false;
    const declared = /\r\ncontent-length: *(\d+)/i.exec(data.slice(0, end));
    return declared !== null && Buffer.byteLength(data.slice(end + 4)) >= Number(declared[1]);
  };
  return new Promise<HeldUpload>((resolve, reject) => {
    const socket: Socket = connect(Number(url.port), url.hostname, () => {
      socket.write(`POST ${path} HTTP/1.1\r\nHost: ${url.host}\r\n${extra}Content-Type: application/octet-stream\r\n${framing}\r\n\r\n`);
      socket.write(chunk(first), () =>
        resolve({
          answer: () => data,
          answered: () => closed || complete(),
          finish(rest = length === null ? 0 : length - first) {
            if (rest > 0) socket.write(chunk(rest));
            if (length === null) socket.write('0\r\n\r\n');
          },
          drop: () => void socket.destroy(),
        }),
      );
    });
    socket.on('data', (d) => (data += d.toString()));
    socket.on('close', () => (closed = true));
    socket.on('error', reject); // after the first bytes went, a reset is the server closing: answered() says so
  });
}
