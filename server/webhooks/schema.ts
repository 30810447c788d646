// What the webhooks API accepts, checked at the edge: a URL (http or https,
// no credentials in it, at most 2000 characters), events by name (at least
// one, each known), a secret in the Standard Webhooks form, a description.
import { z } from 'zod';
import { webhookEvents } from '../../protocol/webhooks.ts';
import { isUsableSecret } from './signing.ts';

export const MAX_URL_CHARS = 2000;

const url = z
  .string()
  .trim()
  .min(1, 'is required')
  .max(MAX_URL_CHARS, `must be at most ${MAX_URL_CHARS} characters`)
  .refine((u) => URL.canParse(u), 'must be a full URL, like https://example.com/hooks/helpdesk')
  .refine((u) => !URL.canParse(u) || ['http:', 'https:'].includes(new URL(u).protocol), 'must start with http:// or https://')
  .refine((u) => !URL.canParse(u) || (new URL(u).username === '' && new URL(u).password === ''), 'must not carry a user name or password (the signature proves the sender)')
  .refine((u) => !URL.canParse(u) || new URL(u).hash === '', 'must not have a #fragment');

const events = z
  .array(z.enum(webhookEvents, { error: `must each be one of: ${webhookEvents.join(', ')}` }))
  .min(1, 'name at least one event')
  .max(webhookEvents.length)
  .transform((list) => [...new Set(list)]);

const secret = z
  .string()
  .refine(isUsableSecret, 'must be "whsec_" and the base64 of 24 to 64 random bytes (leave it out to have one made)');

const description = z.string().trim().max(200, 'must be at most 200 characters');

export const createWebhookSchema = z.object({ url, events, secret: secret.optional(), description: description.optional() }).strict().describe('webhook endpoint');

export const updateWebhookSchema = z
  .object({ url: url.optional(), events: events.optional(), secret: secret.optional(), description: description.optional(), enabled: z.boolean().optional() })
  .strict()
  .refine((b) => Object.values(b).some((v) => v !== undefined), 'change at least one of url, events, secret, description, enabled')
  .describe('webhook change');

const id = z.coerce.number().int().positive().max(2 ** 31 - 1);
export const webhookParams = z.object({ id }).describe('webhook id');
export const deliveryParams = z.object({ id, deliveryId: z.coerce.number().int().positive().max(Number.MAX_SAFE_INTEGER) }).describe('delivery');
export const deliveriesQuery = z.object({ beforeSeq: z.coerce.number().int().positive().max(Number.MAX_SAFE_INTEGER).optional() }).strict().describe('deliveries page');
