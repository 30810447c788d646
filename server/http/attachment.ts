// Serving a stored file as a download, never rendered by a browser: one place
// for ticket files and session recordings.
import type { Response } from 'express';
import type { Readable } from 'node:stream';

/** Streams `stream` as an attachment named `name` (RFC 5987 name too when it is not plain ASCII), with extra headers. */
export function sendAttachment(res: Response, stream: Readable, file: { name: string; size: number }, headers: Record<string, string> = {}): void {
  const ascii = file.name.replace(/[^\x20-\x7e]/g, '_').replace(/["\\]/g, '_');
  const encoded = encodeURIComponent(file.name);
  res.set({
    'content-type': 'application/octet-stream',
    'content-length': String(file.size),
    'content-disposition': `attachment; filename="${ascii}"${encoded === file.name ? '' : `; filename*=UTF-8''${encoded}`}`,
    'x-content-type-options': 'nosniff',
    'content-security-policy': "default-src 'none'; sandbox",
    'cache-control': 'private, no-store',
    ...headers,
  });
  stream.on('error', (err) => res.destroy(err));
  res.on('close', () => stream.destroy());
  stream.pipe(res);
}
