// The recordings API (session-authenticated): a recording's metadata and its
// file as stored. Only administrators and the technician who held the session
// may read them; every file served is an audit event (`?purpose=playback`
// from the player, a download otherwise).
import { Router } from 'express';
import { z } from 'zod';
import { parseOrThrow } from '../errors.ts';
import { requireTechnician, technicianContext, technicianOf } from '../auth/guards.ts';
import type { RecordingService } from './service.ts';
import { sendAttachment } from '../http/attachment.ts';

export const recordingIdSchema = z.uuid('must be a recording id (a UUID)');
const fileQuerySchema = z.object({ purpose: z.enum(['playback', 'download']).default('download') });

export function recordingRoutes({ recordings }: { recordings: RecordingService }): Router {
  const router = Router();
  router.use(requireTechnician);

  router.get('/:id', async (req, res) => {
    res.json({ recording: await recordings.get(parseOrThrow(recordingIdSchema, req.params.id, 'recording id'), technicianOf(req)) });
  });

  router.get('/:id/file', async (req, res) => {
    const id = parseOrThrow(recordingIdSchema, req.params.id, 'recording id');
    const { purpose } = parseOrThrow(fileQuerySchema, req.query, 'file query');
    const { stream, size, name, view } = await recordings.open(id, technicianOf(req), purpose, technicianContext(req));
    sendAttachment(res, stream, { name, size }, view.sha256 ? { 'x-recording-sha256': view.sha256 } : {});
  });

  return router;
}
