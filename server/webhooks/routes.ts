// Webhooks, for administrators (web session; API tokens are refused: a route
// not in server/api-tokens/scopes.ts is closed to them). POST answers the
// secret this once.
import { Router } from 'express';
import { requireAdmin, technicianContext } from '../auth/guards.ts';
import { validate } from '../http/validate.ts';
import { neverCached } from '../http/never-cached.ts';
import { webhookEvents } from '../../protocol/webhooks.ts';
import { createWebhookSchema, deliveriesQuery, deliveryParams, updateWebhookSchema, webhookParams } from './schema.ts';
import type { WebhookService } from './service.ts';

const create = validate({ body: createWebhookSchema });
const byId = validate({ params: webhookParams });
const change = validate({ params: webhookParams, body: updateWebhookSchema });
const page = validate({ params: webhookParams, query: deliveriesQuery });
const oneDelivery = validate({ params: deliveryParams });

export function webhookRoutes({ webhooks }: { webhooks: WebhookService }): Router {
  const router = Router();
  router.use(requireAdmin);

  router.get('/', async (_req, res) => {
    res.json({ endpoints: await webhooks.list(), events: webhookEvents });
  });

  router.post('/', create, neverCached, async (req, res) => {
    res.status(201).json(await webhooks.create(create.input(req).body, technicianContext(req)));
  });

  router.get('/:id', byId, async (req, res) => {
    res.json({ endpoint: await webhooks.get(byId.input(req).params.id) });
  });

  router.patch('/:id', change, async (req, res) => {
    const { params, body } = change.input(req);
    res.json({ endpoint: await webhooks.update(params.id, body, technicianContext(req)) });
  });

  router.delete('/:id', byId, async (req, res) => {
    await webhooks.remove(byId.input(req).params.id, technicianContext(req));
    res.status(204).end();
  });

  router.post('/:id/resume', byId, async (req, res) => {
    res.json({ endpoint: await webhooks.resume(byId.input(req).params.id, technicianContext(req)) });
  });

  router.post('/:id/test', byId, async (req, res) => {
    res.status(202).json({ delivery: await webhooks.test(byId.input(req).params.id, technicianContext(req)) });
  });

  router.get('/:id/deliveries', page, async (req, res) => {
    const { params, query } = page.input(req);
    res.json(await webhooks.deliveries(params.id, query.beforeSeq));
  });

  router.post('/:id/deliveries/:deliveryId/resend', oneDelivery, async (req, res) => {
    const { params } = oneDelivery.input(req);
    res.status(202).json({ delivery: await webhooks.resend(params.id, params.deliveryId, technicianContext(req)) });
  });

  return router;
}
