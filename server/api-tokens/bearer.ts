// `Authorization: Bearer hd_…` on the staff API: the token and its owner are
// read from the database (service.authenticate), the owner becomes the
// request's technician (req.user, as a web session would make them) and the
// token is kept beside it (req.apiToken). What the token may do is decided
// by the guards (server/auth/guards.ts → assertTokenScope), from the one table
// in scopes.ts and the owner's role at this request. Each token has its own
// rate limit (API_TOKEN_RATE_PER_MINUTE, in Redis when REDIS_URL is set).
import type { Request, RequestHandler } from 'express';
import type { Redis } from 'ioredis';
import { AppError } from '../errors.ts';
import { createLimiter } from '../http/limiter.ts';
import { roleAllows, tokenRuleFor } from './scopes.ts';
import type { ApiTokenService, ApiTokenUse } from './service.ts';

declare module 'express-serve-static-core' {
  interface Request {
    /** The API token this request was authenticated with (absent: a web session, or nobody). */
    apiToken?: ApiTokenUse;
  }
}

export interface BearerDeps {
  tokens: ApiTokenService;
  ratePerMinute: number;
  redis: Redis | null;
}

/** Mounted on /api/v1 after the web session: a request with a Bearer header is its token's owner, whatever cookie it also sent. */
export function bearerAuthentication({ tokens, ratePerMinute, redis }: BearerDeps): RequestHandler {
  const limiter = createLimiter({
    name: 'api-token',
    perMinute: ratePerMinute,
    message: `Too many requests with this API token (at most ${ratePerMinute} a minute): wait a minute`,
    redis,
    key: (req) => `token:${req.apiToken?.id ?? 0}`,
  });
  return async (req, res, next) => {
    const header = req.get('authorization');
    // The desktop API (/api/v1/help-requests) has bearer secrets of its own.
    if (header === undefined || !/^bearer\s/i.test(header) || req.path.startsWith('/help-requests')) return next();
    const { token, owner } = await tokens.authenticate(header.slice(6).trim());
    req.user = owner;
    req.apiToken = token;
    await limiter(req, res, next);
  };
}

/**
 * Refuses a token request at a route its token may not reach, in words: one
 * that needs a web session, one no scope opens, a scope the token lacks, or
 * a scope the owner's current role no longer allows (a token never does more
 * than its owner may now).
 */
export function assertTokenScope(req: Request): void {
  const token = req.apiToken;
  if (!token || !req.user) return;
  const path = req.originalUrl.split('?')[0] ?? '';
  const rule = tokenRuleFor(req.method, path);
  if (rule === 'any') return;
  if (rule === 'session') {
    throw new AppError('WEB_SESSION_REQUIRED', `${req.method} ${path} needs a web session (log in): an API token cannot do it, and tokens cannot create tokens`);
  }
  if (rule === null) {
    throw new AppError('API_TOKEN_SCOPE', `API tokens are not accepted at ${req.method} ${path}: use a web session`, { variant: 'closed' });
  }
  if (!token.scopes.includes(rule)) {
    throw new AppError('API_TOKEN_SCOPE', `This API token ("${token.name}") lacks the scope ${rule}, which ${req.method} ${path} needs (it has: ${token.scopes.join(', ') || 'none'})`, { scope: rule });
  }
  if (!roleAllows(req.user.role, rule)) {
    throw new AppError('API_TOKEN_SCOPE', `The owner of this API token (${req.user.username}) may no longer use the scope ${rule}: their role (${req.user.role}) does not allow it`, { scope: rule, variant: 'role' });
  }
}
