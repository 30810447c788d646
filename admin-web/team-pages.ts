// Administrators' pages: technicians (create, edit, enable/disable, reset
// password, role) and the audit log.
import { Router, type RequestHandler } from 'express';
import { z } from 'zod';
import QRCode from 'qrcode';
import { AppError } from '../server/errors.ts';
import { validate } from '../server/http/validate.ts';
import { neverCached } from '../server/http/never-cached.ts';
import { scopesOfRole } from '../server/api-tokens/scopes.ts';
import { changePasswordSchema, createTechnicianSchema, technicianParams, updateTechnicianSchema, type Role } from '../server/technicians/schema.ts';
import { auditFilterSchema } from '../server/audit/schema.ts';
import type { AuditService } from '../server/audit/service.ts';
import { technicianContext, technicianOf } from '../server/auth/guards.ts';
import type { TechnicianService } from '../server/technicians/service.ts';
import { browserZoneOf, flash, formAction, requirePageAdmin, requirePageLogin } from './page-helpers.ts';
import { isTimeZone } from './public/format.js';
import { describeAudit } from './audit-words.ts';
import { languages, translator, type Translate } from './messages/index.ts';

/** Actions offered in the audit filter. */
const auditActions = [
  'ticket.created', 'ticket.accept', 'ticket.decline', 'ticket.release', 'ticket.approve', 'ticket.end', 'ticket.resolve', 'ticket.cancel', 'ticket.expire',
  'session.ended', 'message.sent', 'file.sent', 'recording.played', 'recording.downloaded', 'login.succeeded', 'login.failed', 'login.locked', 'login.slowed',
  'technician.created', 'technician.updated', 'technician.disabled', 'technician.password_reset', 'technician.unlocked',
  'token.created', 'token.revoked',
];

const byId = validate({ params: technicianParams });
const createForm = validate({ body: createTechnicianSchema.describe('technician') });
/** The technician form: an Enable/Disable button (op), or the edited fields. */
const editForm = validate({
  params: technicianParams,
  body: z
    .object({ op: z.enum(['enable', 'disable', 'edit']).optional(), displayName: z.string().optional(), email: z.string().optional(), role: z.string().optional() })
    // The role is a string from the form; the pipe checks it is one of the roles.
    .transform((b): z.input<typeof updateTechnicianSchema> => (b.op === 'enable' || b.op === 'disable' ? { active: b.op === 'enable' } : { displayName: b.displayName, email: b.email ?? '', role: b.role as Role | undefined }))
    .pipe(updateTechnicianSchema)
    .describe('technician change'),
});
const passwordForm = validate({ body: changePasswordSchema.describe('password change') });
const renewForm = validate({ body: z.object({ confirm: z.string().min(1).max(200) }).describe('password or code') });
const timeZoneForm = validate({ body: z.object({ timeZone: z.string().max(64).default('') }).describe('time zone') });
const timeZones = ['UTC', ...Intl.supportedValuesOf('timeZone')];
const languageForm = validate({ body: z.object({ language: z.enum(['', ...languages]).default('') }).describe('language') });
const auditQuery = validate({ query: auditFilterSchema });

declare module 'express-session' {
  interface SessionData {
    /** Recovery codes just made, shown on the next profile page only. */
    recoveryCodesOnce?: string[];
  }
}

export function teamPages({ technicians, audit, limiter }: { technicians: TechnicianService; audit: AuditService; limiter: RequestHandler }): Router {
  const router = Router();
  router.use(['/technicians', '/audit'], requirePageAdmin);
  router.use('/profile', requirePageLogin);

  router.get('/technicians', async (_req, res) => {
    const trouble = await technicians.loginTrouble();
    res.render('technicians', { title: res.locals.t('team.title'), technicians: await technicians.list(), trouble, now: Date.now() });
  });

  router.post('/technicians', formAction(async (req, _res, t, { body }) => {
    const created = await technicians.create(body, technicianContext(req));
    return { redirect: '/technicians', ok: t('team.created', { username: created.username }) };
  }, () => '/technicians', createForm));

  // A generated password is shown on this page once (the flash's Copy button).
  router.get('/technicians/:id', neverCached, byId, async (req, res) => {
    const technician = await technicians.get(byId.input(req).params.id);
    const logins = (await technicians.loginTrouble()).get(technician.id) ?? null;
    res.render('technician', { title: technician.displayName, technician, logins, now: Date.now() });
  });

  router.post('/technicians/:id/unlock', formAction(async (req, _res, t, { params: { id } }) => {
    const technician = await technicians.unlock(id, technicianContext(req));
    // From the list, back to the list; from the technician's page, back there.
    const fromList = (req.get('referer') ?? '').endsWith('/technicians');
    return { redirect: fromList ? '/technicians' : `/technicians/${id}`, ok: t('team.unlocked', { username: technician.username }) };
  }, (req) => `/technicians/${String(req.params.id)}`, byId));

  router.post('/technicians/:id', formAction(async (req, _res, t, { params: { id }, body: patch }) => {
    const updated = await technicians.update(id, patch, technicianContext(req));
    return { redirect: `/technicians/${id}`, ok: t(patch.active === false ? 'team.disabled' : 'team.updated', { username: updated.username }) };
  }, (req) => `/technicians/${String(req.params.id)}`, editForm));

  router.post('/technicians/:id/password', formAction(async (req, _res, t, { params: { id } }) => {
    const result = await technicians.resetPassword(id, undefined, technicianContext(req));
    return { redirect: `/technicians/${id}`, ok: t('team.newPassword', { username: result.technician.username }), copy: result.password };
  }, (req) => `/technicians/${String(req.params.id)}`, byId));

  router.get('/audit', auditQuery, async (req, res) => {
    const filter = auditQuery.input(req).query;
    const [{ events, nextBeforeId }, people] = await Promise.all([audit.list(filter), technicians.people()]);
    const older = nextBeforeId ? `/audit?${new URLSearchParams({ ...(req.query as Record<string, string>), beforeId: String(nextBeforeId) })}` : null;
    const t = res.locals.t as Translate;
    res.render('audit', { title: t('audit.title'), events: events.map((e) => ({ ...e, ...describeAudit(e, t, people, res.locals.fmt.bytes) })), filter, older, actions: auditActions });
  });

  // The two-factor secret while it is set up, and the recovery codes once.
  router.get('/profile', neverCached, async (req, res) => {
    const technician = technicianOf(req);
    // A setup in progress (its secret waits in the session) shows its QR code again.
    let enrol: { secret: string; qr: string } | null = null;
    const secret = req.session.enrolSecret ? technicians.pendingSecret(technician.id, req.session.enrolSecret) : null;
    if (secret && !technician.twoFactor.enabled) {
      const uri = `otpauth://totp/Helpdesk:${encodeURIComponent(technician.username)}?secret=${secret}&issuer=Helpdesk`;
      enrol = { secret, qr: await QRCode.toDataURL(uri) };
    }
    const recoveryCodes = req.session.recoveryCodesOnce ?? null;
    delete req.session.recoveryCodesOnce;
    res.locals.recoveryLeft = technician.twoFactor.enabled ? await technicians.recoveryCodesLeft(technician.id) : null;
    res.render('profile', { title: res.locals.t('profile.title'), technician, enrol, recoveryCodes, tokenScopes: scopesOfRole[technician.role], browserZone: browserZoneOf(req), timeZones });
  });

  // The time zone the pages show times in (issue 31); none follows the browser's.
  router.post('/profile/time-zone', formAction(async (req, _res, t, { body: { timeZone } }) => {
    // An unknown zone is said in the reader's words, and nothing changes.
    if (timeZone !== '' && !isTimeZone(timeZone)) {
      flash(req, 'error', t('profile.timeZoneUnknown'));
      return { redirect: '/profile#time-zone' };
    }
    await technicians.setTimeZone(technicianOf(req).id, timeZone === '' ? null : timeZone);
    return { redirect: '/profile#time-zone', ok: t('profile.timeZoneSaved', { zone: timeZone || (browserZoneOf(req) ?? 'UTC') }) };
  }, () => '/profile#time-zone', timeZoneForm));

  router.post('/profile/language', formAction(async (req, _res, _t, { body: { language } }) => {
    await technicians.setLanguage(technicianOf(req).id, language === '' ? null : language);
    // The confirmation is said in the language just chosen.
    const t = translator(language === '' ? 'en' : language);
    return { redirect: '/profile', ok: t('profile.languageSaved') };
  }, () => '/profile', languageForm));

  router.post('/profile/2fa/setup', formAction(async (req) => {
    req.session.enrolSecret = (await technicians.startTwoFactor(technicianOf(req).id)).pending;
    return { redirect: '/profile#twofa' };
  }, () => '/profile'));

  router.post('/profile/2fa/enable', formAction(async (req, _res, t) => {
    const body = req.body as Record<string, string>;
    const secret = req.session.enrolSecret;
    if (!secret) throw new AppError('VALIDATION_FAILED', t('twofa.startAgain'));
    const { recoveryCodes } = await technicians.confirmTwoFactor(technicianOf(req).id, secret, body.code ?? '', technicianContext(req));
    delete req.session.enrolSecret;
    req.session.recoveryCodesOnce = recoveryCodes;
    return { redirect: '/profile#twofa', ok: t('twofa.turnedOn') };
  }, () => '/profile#twofa'));

  // New recovery codes (issue 31): the password or a current code confirms; shown once, like the first ones.
  // A password or a code is tried here as at login: the login's limit per address applies (found by review: no bound).
  router.post('/profile/2fa/recovery-codes', limiter, formAction(async (req, _res, t, { body: { confirm } }) => {
    const { recoveryCodes } = await technicians.renewRecoveryCodes(technicianOf(req).id, confirm, technicianContext(req));
    req.session.recoveryCodesOnce = recoveryCodes;
    return { redirect: '/profile#twofa', ok: t('twofa.renewed') };
  }, () => '/profile#twofa', renewForm));

  router.post('/profile/2fa/disable', limiter, formAction(async (req, _res, t) => {
    const body = req.body as Record<string, string>;
    await technicians.disableTwoFactor(technicianOf(req).id, body.password ?? '', technicianContext(req));
    return { redirect: '/profile#twofa', ok: t('twofa.turnedOff') };
  }, () => '/profile#twofa'));

  router.post('/technicians/:id/2fa/reset', formAction(async (req, _res, t, { params: { id } }) => {
    const technician = await technicians.resetTwoFactor(id, technicianContext(req));
    return { redirect: `/technicians/${id}`, ok: t('team.twofaReset', { username: technician.username }) };
  }, (req) => `/technicians/${String(req.params.id)}`, byId));

  router.post('/profile/password', formAction(async (req, _res, t, { body }) => {
    await technicians.changeOwnPassword(technicianOf(req).id, body.currentPassword, body.newPassword, technicianContext(req), req.sessionID);
    return { redirect: '/profile', ok: t('profile.changed') };
  }, () => '/profile', passwordForm));

  return router;
}
