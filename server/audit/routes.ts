// The audit log, for administrators: filterable, newest first, paged by id.
import { Router } from 'express';
import { z } from 'zod';
import type { Knex } from 'knex';
import { parseOrThrow } from '../errors.ts';
import { requireAdmin } from '../auth/guards.ts';
import { listAuditEvents } from './store.ts';

const auditQuerySchema = z.object({
  ticketId: z.coerce.number().int().positive().optional(),
  action: z.string().trim().max(48).optional(),
  actor: z.string().trim().max(120).optional(),
  from: z.coerce.number().int().nonnegative().optional(),
  to: z.coerce.number().int().nonnegative().optional(),
  beforeId: z.coerce.number().int().positive().optional(),
  limit: z.coerce.number().int().min(1).max(500).default(100),
});

export function auditRoutes({ db }: { db: Knex }): Router {
  const router = Router();
  router.get('/', requireAdmin, async (req, res) => {
    const q = parseOrThrow(auditQuerySchema, req.query, 'audit query');
    const events = await listAuditEvents(db, { ...q, ...(q.actor ? { actorName: q.actor } : {}) });
    res.json({ events, nextBeforeId: events.length === q.limit ? events.at(-1)?.id : null });
  });
  return router;
}
