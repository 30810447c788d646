// The API reference page (issue 28): the OpenAPI description of /api/v1
// drawn by Swagger UI, served from node_modules (its bundle and stylesheet
// only), under the app's own Content-Security-Policy. For every signed-in
// technician: anyone may make API tokens.
import { Router, static as serveStatic } from 'express';
import { dirname } from 'node:path';
import { createRequire } from 'node:module';
import { requirePageLogin } from './page-helpers.ts';

const swaggerUiRoot = dirname(createRequire(import.meta.url).resolve('swagger-ui-dist/package.json'));
const swaggerUiFiles = serveStatic(swaggerUiRoot, { index: false, fallthrough: true, maxAge: '1h' });

export function apiDocsPages(): Router {
  const router = Router();
  // Only the bundle and its stylesheet: not the package's sample page, whose initializer points at a remote example.
  router.use('/vendor/swagger-ui', (req, res, next) => (/^\/(swagger-ui-bundle\.js|swagger-ui\.css)$/.test(req.path) ? swaggerUiFiles(req, res, next) : next()));
  router.get('/api-docs', requirePageLogin, (_req, res) => {
    res.render('api-docs', { title: res.locals.t('apiDocs.title') });
  });
  return router;
}
