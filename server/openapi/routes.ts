// GET /api/v1/openapi.json and /api/v1/openapi.yaml: the description of the
// app serving them, written at the first request (document.ts). Public: it
// holds the API's shape and words only — no setting, address, account or secret.
import { Router } from 'express';
import { stringify } from 'yaml';
import { describedApi } from './document.ts';

export function openApiRoutes({ version }: { version: string }): Router {
  const router = Router();
  router.get('/openapi.json', (req, res) => {
    res.json(describedApi(req.app, version).document);
  });
  router.get('/openapi.yaml', (req, res) => {
    res.type('application/yaml').send(stringify(describedApi(req.app, version).document, { aliasDuplicateObjects: false }));
  });
  return router;
}
