// The admin web's page routers (filled in by the admin-web issue). Until then
// the root explains where the APIs are.
import { Router } from 'express';

export function adminWebPages(): Router[] {
  const router = Router();
  router.get('/', (_req, res) => {
    res.type('text/plain').send('Helpdesk server. APIs: /api/v1/help-requests (desktop), /api/v1/tickets (technicians), /healthz.\n');
  });
  return [router];
}
