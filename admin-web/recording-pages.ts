// The recording player page: /recordings/:id, for administrators and the
// technician who held the session. The page itself grants nothing: the player
// fetches the file from the API (audited as a playback there).
import { Router } from 'express';
import { validate } from '../server/http/validate.ts';
import { recordingParams } from '../server/recordings/routes.ts';
import type { RecordingService } from '../server/recordings/service.ts';
import { requirePageLogin } from './page-helpers.ts';

export function recordingPages({ recordings }: { recordings: RecordingService }): Router {
  const router = Router();
  const byId = validate({ params: recordingParams });
  router.get('/recordings/:id', requirePageLogin, byId, async (req, res) => {
    const recording = await recordings.get(byId.input(req).params.id, req.user!);
    res.render('player', { title: res.locals.t('recording.title', { id: recording.ticketId }), recording });
  });
  return router;
}
