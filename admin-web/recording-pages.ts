// The recording player page: /recordings/:id, for administrators and the
// technician who held the session. The page itself grants nothing: the player
// fetches the file from the API (audited as a playback there).
import { Router } from 'express';
import { parseOrThrow } from '../server/errors.ts';
import { recordingIdSchema } from '../server/recordings/routes.ts';
import type { RecordingService } from '../server/recordings/service.ts';
import { bytesText, requirePageLogin, timeText } from './page-helpers.ts';

export function recordingPages({ recordings }: { recordings: RecordingService }): Router {
  const router = Router();
  router.get('/recordings/:id', requirePageLogin, async (req, res) => {
    const recording = await recordings.get(parseOrThrow(recordingIdSchema, req.params.id, 'recording id'), req.user!);
    res.render('player', { title: res.locals.t('recording.title', { id: recording.ticketId }), recording, bytesText, timeText });
  });
  return router;
}
