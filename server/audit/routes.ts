// The audit log, for administrators: filterable, newest first, paged by id.
import { Router } from 'express';
import { requireAdmin } from '../auth/guards.ts';
import { validate } from '../http/validate.ts';
import { auditFilterSchema } from './schema.ts';
import type { AuditService } from './service.ts';

const query = validate({ query: auditFilterSchema });

export function auditRoutes({ audit }: { audit: AuditService }): Router {
  const router = Router();
  router.get('/', requireAdmin, query, async (req, res) => {
    res.json(await audit.list(query.input(req).query));
  });
  return router;
}
