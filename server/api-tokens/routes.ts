// One's own API tokens: make (shown once), list, revoke. A web session only —
// a token cannot make or manage tokens (requireWebSession says so in words).
import { Router } from 'express';
import { z } from 'zod';
import { requireWebSession, technicianContext, technicianOf } from '../auth/guards.ts';
import { validate } from '../http/validate.ts';
import { neverCached } from '../http/never-cached.ts';
import { apiScopes, scopesOfRole } from './scopes.ts';
import type { ApiTokenService } from './service.ts';

/** The longest a token may live. */
export const MAX_TOKEN_DAYS = 366;

const create = validate({
  body: z
    .object({
      name: z.string().trim().min(1, 'is required').max(80, 'must be at most 80 characters'),
      scopes: z.array(z.enum(apiScopes)).min(1, 'name at least one scope').max(apiScopes.length),
      expiresInDays: z.number().int().min(1).max(MAX_TOKEN_DAYS).default(90),
    })
    .describe('API token'),
});
const byId = validate({ params: z.object({ id: z.coerce.number().int().positive().max(2 ** 31 - 1) }).describe('token id') });

export function apiTokenRoutes({ tokens }: { tokens: ApiTokenService }): Router {
  const router = Router();
  router.use(requireWebSession);

  router.post('/', create, neverCached, async (req, res) => {
    const { id, token, expiresAt } = await tokens.create(technicianOf(req), create.input(req).body, technicianContext(req));
    res.status(201).json({ id, token, expiresAt });
  });

  // With the scopes this account may give (the profile page offers those).
  router.get('/', async (req, res) => {
    const me = technicianOf(req);
    res.json({ tokens: await tokens.list(me.id), grantableScopes: scopesOfRole[me.role] });
  });

  router.delete('/:id', byId, async (req, res) => {
    res.json({ token: await tokens.revoke(technicianOf(req), byId.input(req).params.id, technicianContext(req)) });
  });

  return router;
}
