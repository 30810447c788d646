// Technician management (administrators) and one's own account.
import { Router } from 'express';
import { z } from 'zod';
import { parseOrThrow } from '../errors.ts';
import { requireAdmin, requireTechnician, technicianContext, technicianOf } from '../auth/guards.ts';
import { changePasswordSchema } from './schema.ts';
import type { TechnicianService } from './service.ts';

const idSchema = z.coerce.number().int().positive();
const resetSchema = z.object({ password: z.string().optional() });

export function technicianRoutes({ technicians }: { technicians: TechnicianService }): Router {
  const router = Router();

  router.get('/me', requireTechnician, (req, res) => {
    res.json({ technician: technicianOf(req) });
  });

  router.post('/me/password', requireTechnician, async (req, res) => {
    const body = parseOrThrow(changePasswordSchema, req.body, 'password change');
    await technicians.changeOwnPassword(technicianOf(req).id, body.currentPassword, body.newPassword, technicianContext(req), req.sessionID);
    res.status(204).end();
  });

  router.get('/technicians', requireAdmin, async (_req, res) => {
    const trouble = await technicians.loginTrouble();
    const none = { failedLogins: 0, lockedAddresses: 0, lastFailureAt: null };
    res.json({ technicians: (await technicians.list()).map((t) => ({ ...t, logins: trouble.get(t.id) ?? none })) });
  });

  router.post('/technicians/:id/unlock', requireAdmin, async (req, res) => {
    const id = parseOrThrow(idSchema, req.params.id, 'technician id');
    res.json({ technician: await technicians.unlock(id, technicianContext(req)) });
  });

  router.post('/technicians', requireAdmin, async (req, res) => {
    res.status(201).json({ technician: await technicians.create(req.body, technicianContext(req)) });
  });

  router.patch('/technicians/:id', requireAdmin, async (req, res) => {
    const id = parseOrThrow(idSchema, req.params.id, 'technician id');
    res.json({ technician: await technicians.update(id, req.body, technicianContext(req)) });
  });

  router.post('/technicians/:id/password', requireAdmin, async (req, res) => {
    const id = parseOrThrow(idSchema, req.params.id, 'technician id');
    const { password } = parseOrThrow(resetSchema, req.body ?? {}, 'password reset');
    const result = await technicians.resetPassword(id, password, technicianContext(req));
    // A generated password is shown once, to the administrator who asked.
    res.json({ technician: result.technician, ...(password === undefined ? { password: result.password } : {}) });
  });

  return router;
}
