// Serving and receiving ticket files over HTTP: attachments only (see
// http/attachment.ts); uploads as raw bodies (application/octet-stream).
import type { Request, RequestHandler, Response } from 'express';
import type { ReadStream } from 'node:fs';
import type { TicketFile } from '../../protocol/events.ts';
import { sendAttachment } from '../http/attachment.ts';

/** The body's declared length, or null (chunked). */
export function declaredLength(req: Request): number | null {
  const raw = req.get('content-length');
  return raw === undefined || !/^\d+$/.test(raw) ? null : Number(raw);
}

/** Before a refusal of an upload whose body is not read: the connection closes after the answer. */
export function closeAfterAnswer(res: Response): void {
  res.set('connection', 'close');
}

/** Before an upload is validated: a body declared larger than allowed will not be read, so its connection closes after the answer. */
export function closeWhenTooLarge(maxBytes: number): RequestHandler {
  return (req, res, next) => {
    const length = declaredLength(req);
    if (length !== null && length > maxBytes) closeAfterAnswer(res);
    next();
  };
}

/**
 * Runs an upload. Refused before its body was read to the end (not accepted
 * yet, a budget spent, the disk low), the connection closes after the answer,
 * so the rest of the body is never read.
 */
export async function closingIfRefused<T>(req: Request, res: Response, upload: () => Promise<T>): Promise<T> {
  try {
    return await upload();
  } catch (err) {
    if (!req.complete) closeAfterAnswer(res);
    throw err;
  }
}

/** A ticket file as an attachment, its SHA-256 in X-File-SHA256. */
export function sendTicketFile(res: Response, stream: ReadStream, file: TicketFile): void {
  sendAttachment(res, stream, file, { 'x-file-sha256': file.sha256 });
}
