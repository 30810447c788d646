// The recordings API (session-authenticated): a recording's metadata and its
// file as stored. Only administrators and the technician who held the session
// may read them; every file served is an audit event (`?purpose=playback`
// from the player, a download otherwise).
import { Router } from 'express';
import { z } from 'zod';
import { validate } from '../http/validate.ts';
import { requireTechnician, technicianContext, technicianOf } from '../auth/guards.ts';
import type { RecordingService } from './service.ts';
import { sendAttachment } from '../http/attachment.ts';

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
    const { stream, size, name, view } = await recordings.open(id, technicianOf(req), purpose, technicianContext(req));
    sendAttachment(res, stream, { name, size }, view.sha256 ? { 'x-recording-sha256': view.sha256 } : {});
  });

  return router;
}
