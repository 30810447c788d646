// The administrators' Webhooks page (issue 28): endpoints, their deliveries
// and every action on them, drawn by its script (public/webhooks.js) from the
// JSON API; the page itself says how many endpoints are failing.
import { Router, type RequestHandler } from 'express';
import { webhookEvents } from '../protocol/webhooks.ts';
import type { WebhookService } from '../server/webhooks/service.ts';
import { requirePageAdmin } from './page-helpers.ts';

export function webhookPages({ webhooks }: { webhooks: WebhookService }): Router {
  const router = Router();
  router.get('/webhooks', requirePageAdmin, async (_req, res) => {
    const failing = (await webhooks.list()).filter((e) => e.health === 'failing').length;
    res.render('webhooks', { title: res.locals.t('webhooks.title'), events: webhookEvents, failing });
  });
  return router;
}

/** Administrators see on every page (but this one, which says it itself) how many endpoints are failing. */
export function webhookNotice(webhooks: WebhookService): RequestHandler {
  return (req, res, next) => {
    if (req.method !== 'GET' || req.user?.role !== 'admin' || req.path === '/webhooks') return next();
    webhooks.failingCount().then((n) => {
      res.locals.failingWebhooks = n;
      next();
    }, next);
  };
}
