// The OpenID Connect sign-in's two doors: /auth/oidc/:provider sends the
// browser to the provider (state, nonce and PKCE verifier kept in its web
// session), /auth/oidc/:provider/callback takes the answer once. A refusal
// goes back to the login page, which says it in the reader's language.
import { Router, type Request, type RequestHandler, type Response } from 'express';
import { z } from 'zod';
import { AppError, isAppError } from '../errors.ts';
import { validate } from '../http/validate.ts';
import { neverCached } from '../http/never-cached.ts';
import { publicOrigin } from '../http/base-url.ts';
import { ssoLogin } from '../auth/routes.ts';
import type { IdentityService } from './service.ts';
import { ATTEMPT_MS } from './oidc.ts';

const providerParams = z.object({ provider: z.string().regex(/^[a-z0-9][a-z0-9_-]{0,31}$/) }).describe('provider');
/** Only same-site paths are followed after sign-in (no open redirect), as on the login form. */
const nextPath = z
  .string()
  .regex(/^\/(?![/\\])[\x20-\x7e]*$/)
  .max(2000)
  .optional()
  .catch(undefined)
  .transform((n) => n ?? '/');
const start = validate({ params: providerParams, query: z.object({ next: nextPath }).describe('query') });
const callback = validate({ params: providerParams });

export function identityRoutes({ identity, publicUrl, limiter, autoCreate }: { identity: IdentityService; publicUrl: string | null; limiter: RequestHandler; autoCreate: boolean }): Router {
  const { clock } = identity;
  const router = Router();
  router.use(neverCached);

  /** Back to the login page, which says why (expected refusals only; anything else is the error page's). */
  const refuse = async (req: Request, res: Response, err: unknown, providerName: string) => {
    if (!isAppError(err) || !err.expected) throw err;
    // Refusals the accounts already audited (no account, disabled) are not counted twice.
    if (err.code !== 'SSO_NO_ACCOUNT' && err.code !== 'ACCOUNT_DISABLED' && err.code !== 'SSO_PROVIDER_UNKNOWN') {
      await identity.accounts.refused(`(${providerName})`, err.code === 'SSO_UNAVAILABLE' ? 'provider_down' : 'sso_refused', { source: 'oidc', providerName }, req.ip ?? '');
    }
    req.session.loginRefusal = { code: err.code, message: err.message, details: err.details };
    res.redirect(303, '/login');
  };

  router.get('/:provider', limiter, start, async (req, res) => {
    const { params, query } = start.input(req);
    const origin = publicOrigin(req, publicUrl);
    try {
      const { url, attempt } = await identity.oidc.start(params.provider, `${origin}/auth/oidc/${params.provider}/callback`, query.next, clock.now());
      req.session.oidcAttempt = attempt;
      res.redirect(303, url);
    } catch (err) {
      await refuse(req, res, err, identity.oidc.nameOf(params.provider) ?? params.provider);
    }
  });

  router.get('/:provider/callback', limiter, callback, async (req, res) => {
    const { params } = callback.input(req);
    const providerName = identity.oidc.nameOf(params.provider) ?? params.provider;
    // The attempt is used once: a replayed answer, or one for another browser or provider, finds none.
    const attempt = req.session.oidcAttempt;
    delete req.session.oidcAttempt;
    const origin = publicOrigin(req, publicUrl);
    try {
      if (!attempt || attempt.provider !== params.provider || clock.now() - attempt.at > ATTEMPT_MS || req.query.state !== attempt.state) {
        throw new AppError('SSO_FAILED', `This ${providerName} sign-in answer was already used, has expired, or belongs to another browser: sign in again`, { provider: providerName, variant: 'state' });
      }
      const answer = new URL(attempt.redirectUri);
      answer.search = new URL(req.originalUrl, origin).search;
      const { identity: who, expiresAt, logoutUrl } = await identity.oidc.finish(attempt, answer, `${origin}/login?loggedOut=1`, clock.now());
      const technician = await identity.accounts.signIn(who, autoCreate, req.ip ?? '');
      await ssoLogin(req, res, technician, { method: 'oidc', expiresAt: identity.sessionUntil(expiresAt), logoutUrl });
      res.redirect(303, attempt.next);
    } catch (err) {
      await refuse(req, res, err, providerName);
    }
  });

  return router;
}
