// Topics over HTTP. GET /api/v1/topics is open to the desktop client (with
// X-Client-Key when CLIENT_KEY is set, like the help request itself): the
// active topics in the caller's language (Accept-Language). Administrators
// manage them: the full list (/all, inactive ones too), one, create, change.
import { Router, type Request, type RequestHandler } from 'express';
import { sameSecret } from '../../lib/crypto.ts';
import { AppError } from '../errors.ts';
import type { Redis } from 'ioredis';
import { createLimiter } from '../http/limiter.ts';
import { requireAdmin, technicianContext } from '../auth/guards.ts';
import { validate } from '../http/validate.ts';
import { topicLanguages, type TopicLanguage, type TopicsResponse } from '../../protocol/teams.ts';
import { topicParams, topicSchema } from './schema.ts';
import type { TopicService } from './service.ts';

const byId = validate({ params: topicParams });
const create = validate({ body: topicSchema.describe('topic') });
const update = validate({ params: topicParams, body: topicSchema.describe('topic') });

/** The caller's language among the topics' (Accept-Language, else English). */
export function topicLanguageOf(req: Request): TopicLanguage {
  const found = req.acceptsLanguages([...topicLanguages]);
  return typeof found === 'string' && (topicLanguages as readonly string[]).includes(found) ? (found as TopicLanguage) : 'en';
}

/** The desktop client's list, mounted before sessions (no cookie, no CSRF). */
export function publicTopicRoutes({ topics, clientKey, ratePerMinute, redis = null }: { topics: TopicService; clientKey: string | null; ratePerMinute: number; redis?: Redis | null }): Router {
  const router = Router();
  // Bounded per address (TOPICS_RATE_PER_MINUTE), guesses at the client key included.
  const limiter = createLimiter({ name: 'topics', perMinute: ratePerMinute, message: 'Too many reads of the topics from this address; wait a minute', redis });
  const requireClientKey: RequestHandler = (req, _res, next) => {
    if (clientKey && !sameSecret(req.get('x-client-key'), clientKey)) return next(new AppError('CLIENT_KEY_INVALID', 'This client is not allowed to read the topics: missing or wrong X-Client-Key'));
    next();
  };
  router.get('/', limiter, requireClientKey, async (req, res) => {
    const body: TopicsResponse = { topics: await topics.choices(topicLanguageOf(req)) };
    res.json(body);
  });
  return router;
}

export function topicRoutes({ topics }: { topics: TopicService }): Router {
  const router = Router();
  router.use(requireAdmin);
  router.get('/all', async (_req, res) => {
    res.json({ topics: await topics.list() });
  });
  router.get('/:id', byId, async (req, res) => {
    res.json({ topic: await topics.get(byId.input(req).params.id) });
  });
  router.post('/', create, async (req, res) => {
    res.status(201).json({ topic: await topics.create(create.input(req).body, technicianContext(req)) });
  });
  router.put('/:id', update, async (req, res) => {
    const { params, body } = update.input(req);
    res.json({ topic: await topics.update(params.id, body, technicianContext(req)) });
  });
  return router;
}
