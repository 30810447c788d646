// Technician management (administrators) and one's own account.
import { Router } from 'express';
import { z } from 'zod';
import QRCode from 'qrcode';
import { AppError, parseOrThrow } from '../errors.ts';
import { requireAdmin, requireTechnician, technicianContext, technicianOf } from '../auth/guards.ts';
import { changePasswordSchema } from './schema.ts';
import type { TechnicianService } from './service.ts';

const idSchema = z.coerce.number().int().positive();
const resetSchema = z.object({ password: z.string().optional() });
const codeSchema = z.object({ code: z.string().trim().regex(/^\d{6}$/, 'must be the 6 digits your app shows') });

declare module 'express-session' {
  interface SessionData {
    /** A two-factor secret being set up, until a code confirms it. */
    enrolSecret?: string;
  }
}

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

  // Two-factor login: setup (a secret kept in the session until a code proves it), enable, disable.
  router.post('/me/2fa/setup', requireTechnician, async (req, res) => {
    const setup = await technicians.startTwoFactor(technicianOf(req).id);
    req.session.enrolSecret = setup.secret;
    res.json({ secret: setup.secret, uri: setup.uri, qr: await QRCode.toDataURL(setup.uri) });
  });

  router.post('/me/2fa/enable', requireTechnician, async (req, res) => {
    const { code } = parseOrThrow(codeSchema, req.body, 'code');
    const secret = req.session.enrolSecret;
    if (!secret) throw new AppError('VALIDATION_FAILED', 'Start with POST /api/v1/me/2fa/setup');
    const { recoveryCodes } = await technicians.confirmTwoFactor(technicianOf(req).id, secret, code, technicianContext(req));
    delete req.session.enrolSecret;
    res.json({ recoveryCodes });
  });

  router.post('/me/2fa/disable', requireTechnician, async (req, res) => {
    const { password } = parseOrThrow(z.object({ password: z.string().min(1).max(200) }), req.body, 'password');
    await technicians.disableTwoFactor(technicianOf(req).id, password, technicianContext(req));
    res.status(204).end();
  });

  router.post('/technicians/:id/2fa/reset', requireAdmin, async (req, res) => {
    const id = parseOrThrow(idSchema, req.params.id, 'technician id');
    res.json({ technician: await technicians.resetTwoFactor(id, technicianContext(req)) });
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
