// Technician management (administrators) and one's own account.
import { Router, type RequestHandler } from 'express';
import { z } from 'zod';
import QRCode from 'qrcode';
import { AppError } from '../errors.ts';
import { requireAdmin, requireTechnician, technicianContext, technicianOf } from '../auth/guards.ts';
import { validate } from '../http/validate.ts';
import { neverCached } from '../http/never-cached.ts';
import { changePasswordSchema, createTechnicianSchema, passwordSchema, technicianParams, updateTechnicianSchema } from './schema.ts';
import type { TechnicianService } from './service.ts';

const byId = validate({ params: technicianParams });
const changePassword = validate({ body: changePasswordSchema.describe('password change') });
const enable2fa = validate({ body: z.object({ code: z.string().trim().regex(/^\d{6}$/, 'must be the 6 digits your app shows') }).describe('code') });
const disable2fa = validate({ body: z.object({ password: z.string().min(1).max(200) }).describe('password') });
const renewRecovery = validate({ body: z.object({ confirm: z.string().min(1).max(200).describe('My password, or a current code of my authenticator app') }).describe('password or code') });
const create = validate({ body: createTechnicianSchema.describe('technician') });
const update = validate({ params: technicianParams, body: updateTechnicianSchema.describe('technician change') });
const reset = validate({ params: technicianParams, body: z.object({ password: passwordSchema.optional() }).describe('password reset') });

declare module 'express-session' {
  interface SessionData {
    /** A two-factor secret being set up, until a code confirms it — sealed (lib/sealed.ts), never in the clear in the session store. */
    enrolSecret?: string;
  }
}

/** `limiter`: the login's limit per address, for the routes that try a password or a code (as the profile page's forms). */
export function technicianRoutes({ technicians, limiter }: { technicians: TechnicianService; limiter: RequestHandler }): Router {
  const router = Router();

  router.get('/me', requireTechnician, (req, res) => {
    res.json({ technician: technicianOf(req) });
  });

  router.post('/me/password', requireTechnician, limiter, changePassword, async (req, res) => {
    const { body } = changePassword.input(req);
    await technicians.changeOwnPassword(technicianOf(req).id, body.currentPassword, body.newPassword, technicianContext(req), req.sessionID);
    res.status(204).end();
  });

  // Two-factor login: setup (a secret kept in the session until a code proves it), enable, disable.
  router.post('/me/2fa/setup', requireTechnician, neverCached, async (req, res) => {
    const setup = await technicians.startTwoFactor(technicianOf(req).id);
    req.session.enrolSecret = setup.pending;
    res.json({ secret: setup.secret, uri: setup.uri, qr: await QRCode.toDataURL(setup.uri) });
  });

  router.post('/me/2fa/enable', requireTechnician, enable2fa, neverCached, async (req, res) => {
    const { code } = enable2fa.input(req).body;
    const secret = req.session.enrolSecret;
    if (!secret) throw new AppError('VALIDATION_FAILED', 'Start with POST /api/v1/me/2fa/setup');
    const { recoveryCodes } = await technicians.confirmTwoFactor(technicianOf(req).id, secret, code, technicianContext(req));
    delete req.session.enrolSecret;
    res.json({ recoveryCodes });
  });

  // Recovery codes (issue 31), as on the profile page: how many are left; new ones only after the password or a
  // current code (spent by it), shown once, the old ones void. A password or a code is tried as at login: its limit applies.
  router.get('/me/2fa/recovery-codes', requireTechnician, async (req, res) => {
    const me = technicianOf(req);
    res.json({ enabled: me.twoFactor.enabled, left: me.twoFactor.enabled ? await technicians.recoveryCodesLeft(me.id) : 0 });
  });

  router.post('/me/2fa/recovery-codes', requireTechnician, limiter, renewRecovery, neverCached, async (req, res) => {
    const { confirm } = renewRecovery.input(req).body;
    res.json(await technicians.renewRecoveryCodes(technicianOf(req).id, confirm, technicianContext(req)));
  });

  router.post('/me/2fa/disable', requireTechnician, limiter, disable2fa, async (req, res) => {
    const { password } = disable2fa.input(req).body;
    await technicians.disableTwoFactor(technicianOf(req).id, password, technicianContext(req));
    res.status(204).end();
  });

  router.post('/technicians/:id/2fa/reset', requireAdmin, byId, async (req, res) => {
    const { id } = byId.input(req).params;
    res.json({ technician: await technicians.resetTwoFactor(id, technicianContext(req)) });
  });

  // Whom a technician may invite or hand a ticket over to (issue 26): enabled accounts, names only.
  router.get('/colleagues', requireTechnician, async (_req, res) => {
    const active = (await technicians.list()).filter((t) => t.active);
    res.json({ colleagues: active.map((t) => ({ id: t.id, displayName: t.displayName, role: t.role })) });
  });

  router.get('/technicians', requireAdmin, async (_req, res) => {
    const trouble = await technicians.loginTrouble();
    const none = { failedLogins: 0, lockedAddresses: 0, lastFailureAt: null, slowedUntil: null };
    res.json({ technicians: (await technicians.list()).map((t) => ({ ...t, logins: trouble.get(t.id) ?? none })) });
  });

  router.post('/technicians/:id/unlock', requireAdmin, byId, async (req, res) => {
    const { id } = byId.input(req).params;
    res.json({ technician: await technicians.unlock(id, technicianContext(req)) });
  });

  router.post('/technicians', requireAdmin, create, async (req, res) => {
    res.status(201).json({ technician: await technicians.create(create.input(req).body, technicianContext(req)) });
  });

  router.patch('/technicians/:id', requireAdmin, update, async (req, res) => {
    const { params, body } = update.input(req);
    res.json({ technician: await technicians.update(params.id, body, technicianContext(req)) });
  });

  router.post('/technicians/:id/password', requireAdmin, reset, neverCached, async (req, res) => {
    const { params: { id }, body: { password } } = reset.input(req);
    const result = await technicians.resetPassword(id, password, technicianContext(req));
    // A generated password is shown once, to the administrator who asked.
    res.json({ technician: result.technician, ...(password === undefined ? { password: result.password } : {}) });
  });

  return router;
}
