// Serving and receiving ticket files over HTTP: attachments only, never
// rendered by a browser; uploads as raw bodies (application/octet-stream).
import type { Request, Response } from 'express';
import type { ReadStream } from 'node:fs';
import type { TicketFile } from '../events/contract.ts';

/** The body's declared length, or null (chunked). */
export function declaredLength(req: Request): number | null {
  const raw = req.get('content-length');
  return raw === undefined || !/^\d+$/.test(raw) ? null : Number(raw);
}

/** Before a refusal of an upload whose body is not read: the connection closes after the answer. */
export function closeAfterAnswer(res: Response): void {
  res.set('connection', 'close');
}

export function sendAttachment(res: Response, stream: ReadStream, file: TicketFile): void {
  const ascii = file.name.replace(/[^\x20-\x7e]/g, '_').replace(/["\\]/g, '_');
  res.set({
    'content-type': 'application/octet-stream',
    'content-length': String(file.size),
    'content-disposition': `attachment; filename="${ascii}"; filename*=UTF-8''${encodeURIComponent(file.name)}`,
    'x-content-type-options': 'nosniff',
    'content-security-policy': "default-src 'none'; sandbox",
    'cache-control': 'private, no-store',
    'x-file-sha256': file.sha256,
  });
  stream.on('error', (err) => res.destroy(err));
  res.on('close', () => stream.destroy());
  stream.pipe(res);
}
