// An upload that declares a Content-Length and sends only a few bytes of it,
// over a raw socket: the answer that comes back was given without the body
// being read (a server that read it would wait for the rest).
import { connect } from 'node:net';

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
