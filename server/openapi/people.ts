// One's own account, colleagues, technician management (server/technicians/routes.ts)
// and one's API tokens (server/api-tokens/routes.ts).
import { z } from 'zod';
import { empty, type RouteDoc } from './describe.ts';
import { ApiScope, ApiToken, Role, Technician } from './views.ts';

const technician = z.object({ technician: Technician });

export const accountDocs: RouteDoc[] = [
  { method: 'get', path: '/me', id: 'getMe', summary: 'Who I am', responses: { 200: technician } },
  { method: 'post', path: '/me/password', id: 'changeMyPassword', summary: 'Change my password (my other sessions end)', responses: { 204: empty() }, errors: ['LOGIN_FAILED', 'PASSWORD_WEAK', 'RATE_LIMITED'] },
  {
    method: 'post',
    path: '/me/2fa/setup',
    id: 'startTwoFactor',
    summary: 'Start setting up two-factor login: a secret to scan',
    responses: { 200: z.object({ secret: z.string(), uri: z.string().describe('otpauth:// URI'), qr: z.string().describe('The URI as a QR code (a data: URL)') }) },
    errors: ['FORBIDDEN'],
  },
  {
    method: 'post',
    path: '/me/2fa/enable',
    id: 'enableTwoFactor',
    summary: 'Confirm two-factor login with a code; answers the recovery codes, once',
    responses: { 200: z.object({ recoveryCodes: z.array(z.string()) }) },
    errors: ['LOGIN_FAILED', 'FORBIDDEN'],
  },
  {
    method: 'get',
    path: '/me/2fa/recovery-codes',
    id: 'countMyRecoveryCodes',
    summary: 'How many of my recovery codes are left unused',
    responses: { 200: z.object({ enabled: z.boolean().describe('Whether two-factor login is on (no codes when it is off)'), left: z.number().int().nonnegative() }) },
  },
  {
    method: 'post',
    path: '/me/2fa/recovery-codes',
    id: 'renewMyRecoveryCodes',
    summary: 'New recovery codes, after my password or a current code (spent by it): answered once, the old ones void',
    responses: { 200: z.object({ recoveryCodes: z.array(z.string()) }) },
    errors: ['LOGIN_FAILED', 'TOTP_CODE_USED'],
  },
  { method: 'post', path: '/me/2fa/disable', id: 'disableTwoFactor', summary: 'Turn two-factor login off (with my password)', responses: { 204: empty() }, errors: ['LOGIN_FAILED', 'FORBIDDEN', 'RATE_LIMITED'] },
  {
    method: 'get',
    path: '/colleagues',
    id: 'listColleagues',
    summary: 'Whom I may invite or hand a ticket over to',
    responses: { 200: z.object({ colleagues: z.array(z.object({ id: z.number().int().positive(), displayName: z.string(), role: Role })) }) },
  },
];

const loginTrouble = z.object({
  failedLogins: z.number().int().nonnegative(),
  lockedAddresses: z.number().int().nonnegative(),
  lastFailureAt: z.number().int().nullable(),
  lockedUntil: z.number().int().nullable().optional(),
  slowedUntil: z.number().int().nullable(),
});
const managing = ['TECHNICIAN_NOT_FOUND'] as const;

export const technicianDocs: RouteDoc[] = [
  {
    method: 'get',
    path: '/technicians',
    id: 'listTechnicians',
    summary: 'Every account, with its failed logins and locks',
    responses: { 200: z.object({ technicians: z.array(Technician.extend({ logins: loginTrouble })) }) },
  },
  { method: 'post', path: '/technicians', id: 'createTechnician', summary: 'Make an account', responses: { 201: technician }, errors: ['USERNAME_TAKEN', 'PASSWORD_WEAK'] },
  { method: 'patch', path: '/technicians/{id}', id: 'updateTechnician', summary: 'Change an account (name, e-mail, role, enabled)', responses: { 200: technician }, errors: [...managing, 'LAST_ADMIN'] },
  {
    method: 'post',
    path: '/technicians/{id}/password',
    id: 'resetTechnicianPassword',
    summary: 'Set an account’s password, or generate one (shown once)',
    responses: { 200: technician.extend({ password: z.string().optional().describe('The generated password, when none was given') }) },
    errors: [...managing, 'PASSWORD_WEAK'],
  },
  { method: 'post', path: '/technicians/{id}/unlock', id: 'unlockTechnician', summary: 'Clear an account’s failed logins and locks', responses: { 200: technician }, errors: managing },
  { method: 'post', path: '/technicians/{id}/2fa/reset', id: 'resetTechnicianTwoFactor', summary: 'Turn off an account’s two-factor login', responses: { 200: technician }, errors: managing },
];

export const tokenDocs: RouteDoc[] = [
  {
    method: 'post',
    path: '/tokens',
    id: 'createApiToken',
    summary: 'Make an API token: its secret is answered once',
    responses: { 201: z.object({ id: z.number().int().positive(), token: z.string().describe('hd_…, shown once'), expiresAt: z.number().int() }) },
  },
  {
    method: 'get',
    path: '/tokens',
    id: 'listApiTokens',
    summary: 'My API tokens, and the scopes my role may give',
    responses: { 200: z.object({ tokens: z.array(ApiToken), grantableScopes: z.array(ApiScope) }) },
  },
  { method: 'delete', path: '/tokens/{id}', id: 'revokeApiToken', summary: 'Revoke one of my API tokens', responses: { 200: z.object({ token: ApiToken }) }, errors: ['API_TOKEN_NOT_FOUND'] },
];
