// Webhooks (server/webhooks/routes.ts, issue 28): administrators' endpoints,
// their delivery logs, a test, "send again", resume after failing.
import { z } from 'zod';
import { empty, type RouteDoc } from './describe.ts';
import { webhookDeliveryStates, webhookEvents } from '../../protocol/webhooks.ts';

const WebhookEndpoint = z
  .object({
    id: z.number().int().positive(),
    url: z.string(),
    events: z.array(z.enum(webhookEvents)),
    description: z.string(),
    enabled: z.boolean(),
    health: z.enum(['ok', 'failing']).describe('failing: a delivery was given up on; later ones wait until resumed'),
    failingSince: z.number().int().nullable(),
    failingReason: z.string().nullable(),
    pending: z.number().int().min(0),
    overflowed: z.number().int().min(0).describe('events not queued because WEBHOOK_MAX_PENDING deliveries were waiting'),
    overflowSince: z.number().int().nullable(),
    createdAt: z.number().int(),
    updatedAt: z.number().int(),
  })
  .meta({ id: 'WebhookEndpoint' });

const WebhookDelivery = z
  .object({
    id: z.number().int().positive(),
    endpointId: z.number().int().positive(),
    seq: z.number().int().min(0),
    messageId: z.string().describe('webhook-id: the same on every attempt and on "send again"'),
    event: z.string(),
    state: z.enum(webhookDeliveryStates),
    attempts: z.number().int().min(0),
    createdAt: z.number().int(),
    firstAttemptAt: z.number().int().nullable(),
    lastAttemptAt: z.number().int().nullable(),
    nextAttemptAt: z.number().int().nullable(),
    deliveredAt: z.number().int().nullable(),
    responseStatus: z.number().int().nullable(),
    lastError: z.string().nullable(),
    resentFrom: z.number().int().nullable(),
  })
  .meta({ id: 'WebhookDelivery' });

const one = z.object({ endpoint: WebhookEndpoint });

export const webhookDocs: RouteDoc[] = [
  { method: 'get', path: '/webhooks', id: 'listWebhooks', summary: 'The webhook endpoints, and the events one may subscribe to', responses: { 200: z.object({ endpoints: z.array(WebhookEndpoint), events: z.array(z.enum(webhookEvents)) }) } },
  {
    method: 'post',
    path: '/webhooks',
    id: 'createWebhook',
    summary: 'Register an endpoint: its signing secret (whsec_…) is answered once',
    responses: { 201: z.object({ endpoint: WebhookEndpoint, secret: z.string().describe('whsec_…, shown once') }) },
    errors: ['TOO_MANY_WEBHOOKS', 'WEBHOOK_URL_REFUSED'],
  },
  { method: 'get', path: '/webhooks/{id}', id: 'getWebhook', summary: 'One endpoint', responses: { 200: one }, errors: ['WEBHOOK_NOT_FOUND'] },
  { method: 'patch', path: '/webhooks/{id}', id: 'updateWebhook', summary: 'Change an endpoint (URL, events, secret, description), disable or enable it', responses: { 200: one }, errors: ['WEBHOOK_NOT_FOUND', 'WEBHOOK_URL_REFUSED'] },
  { method: 'delete', path: '/webhooks/{id}', id: 'deleteWebhook', summary: 'Delete an endpoint and its delivery log', responses: { 204: empty() }, errors: ['WEBHOOK_NOT_FOUND'] },
  { method: 'post', path: '/webhooks/{id}/resume', id: 'resumeWebhook', summary: 'Resume a failing endpoint from its next delivery', responses: { 200: one }, errors: ['WEBHOOK_NOT_FOUND'] },
  { method: 'post', path: '/webhooks/{id}/test', id: 'testWebhook', summary: 'Queue a webhook.test delivery to this endpoint', responses: { 202: z.object({ delivery: WebhookDelivery }) }, errors: ['WEBHOOK_NOT_FOUND', 'WEBHOOK_QUEUE_FULL'] },
  {
    method: 'get',
    path: '/webhooks/{id}/deliveries',
    id: 'listWebhookDeliveries',
    summary: 'An endpoint’s deliveries, newest first (status, time, response code, attempts, last error)',
    responses: { 200: z.object({ deliveries: z.array(WebhookDelivery), nextBeforeSeq: z.number().int().nullable() }) },
    errors: ['WEBHOOK_NOT_FOUND'],
  },
  {
    method: 'post',
    path: '/webhooks/{id}/deliveries/{deliveryId}/resend',
    id: 'resendWebhookDelivery',
    summary: 'Send a delivery again (same webhook-id), at the end of the endpoint’s queue',
    responses: { 202: z.object({ delivery: WebhookDelivery }) },
    errors: ['WEBHOOK_NOT_FOUND', 'WEBHOOK_DELIVERY_NOT_FOUND', 'WEBHOOK_QUEUE_FULL'],
  },
];
