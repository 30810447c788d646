// The recordings API (session-authenticated): a recording's metadata and its
// file, whole or one byte range (Range: 206, 416 past the end). Only
// administrators and the technician who held the session may read them; every
// file served is an audit event (`?purpose=playback` from the player, a
// download otherwise; a player's later ranges are not audited again, see
// RecordingService.open). A download is the file as stored; playback serves
// encrypted blocks opened (file-serving.ts).
import { Router } from 'express';
import { z } from 'zod';
import { validate } from '../http/validate.ts';
import { requireTechnician, technicianContext, technicianOf } from '../auth/guards.ts';
import type { RecordingService } from './service.ts';
import { sendAttachment } from '../http/attachment.ts';
import { AppError } from '../errors.ts';

/** A recording's id in a path (/recordings/:id). */
export const recordingParams = z.object({ id: z.uuid('must be a recording id (a UUID)') }).describe('recording id');
const byId = validate({ params: recordingParams });
const file = validate({ params: recordingParams, query: z.object({ purpose: z.enum(['playback', 'download']).default('download') }).describe('file query') });

export function recordingRoutes({ recordings }: { recordings: RecordingService }): Router {
  const router = Router();
  router.use(requireTechnician);

  router.get('/:id', byId, async (req, res) => {
    res.json({ recording: await recordings.get(byId.input(req).params.id, technicianOf(req)) });
  });

  router.get('/:id/file', file, async (req, res) => {
    const { params: { id }, query: { purpose } } = file.input(req);
    const served = await recordings.open(id, technicianOf(req), purpose, technicianContext(req), req.headers.range);
    res.set('accept-ranges', 'bytes');
    if (served.kind === 'unsatisfiable') {
      res.set('content-range', `bytes */${served.size}`);
      throw new AppError('RANGE_NOT_SATISFIABLE', `The range asked for (${req.headers.range}) is past the end of the file (${served.size} bytes)`, { size: served.size });
    }
    const { stream, size, range, name, view } = served;
    const headers: Record<string, string> = view.sha256 ? { 'x-recording-sha256': view.sha256 } : {};
    if (range) {
      res.status(206);
      headers['content-range'] = `bytes ${range.start}-${range.end}/${size}`;
    }
    sendAttachment(res, stream, { name, size: range ? range.end - range.start + 1 : size }, headers);
  });

  return router;
}
