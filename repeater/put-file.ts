// One file streamed to the server as a PUT body (a recording handed over,
// server-link.ts): the first `length` bytes of `file`, with Content-Length.
// Resolves with the answer's status and (the first 4 KiB of) its body; throws
// when the server cannot be reached, or after 30 s without progress.
import { createReadStream } from 'node:fs';
import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';

export function putFile(url: URL, file: string, length: number, headers: Record<string, string>, signal: AbortSignal): Promise<{ status: number; body: string }> {
  const send = url.protocol === 'https:' ? httpsRequest : httpRequest;
  return new Promise((resolve, reject) => {
    const req = send(url, { method: 'PUT', signal, headers: { ...headers, 'content-type': 'application/octet-stream', 'content-length': String(length) } });
    req.setTimeout(30_000, () => req.destroy(new Error('no progress for 30 s')));
    req.once('error', reject);
    req.once('response', (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (d: string) => (body = (body + d).slice(0, 4096)));
      res.once('end', () => resolve({ status: res.statusCode ?? 0, body }));
      res.once('error', reject);
    });
    if (length === 0) return void req.end();
    const source = createReadStream(file, { start: 0, end: length - 1 });
    source.once('error', (err) => req.destroy(err));
    source.pipe(req);
  });
}
