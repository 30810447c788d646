// Standard Webhooks signing: a secret is "whsec_" and the base64 of 24–64
// random bytes; each delivery carries webhook-id (the message's id, the same
// on every attempt), webhook-timestamp (seconds) and webhook-signature
// ("v1,<base64 of HMAC-SHA256(key, id.timestamp.body)>"). Secrets are kept
// sealed with the secrets key ring (SECRETS_KEY), bound to their endpoint.
import { createHmac, randomBytes } from 'node:crypto';
import { openString, sealString, type KeyRing } from '../../lib/sealed.ts';

export const SECRET_PREFIX = 'whsec_';
/** A secret an administrator gives: the prefix and base64 of 24 to 64 bytes. */
export const SECRET_PATTERN = /^whsec_[A-Za-z0-9+/]{32,88}={0,2}$/;
const MIN_KEY_BYTES = 24;
const MAX_KEY_BYTES = 64;

export function newSecret(): string {
  return `${SECRET_PREFIX}${randomBytes(32).toString('base64')}`;
}

/** Whether a given secret decodes to a usable key (the pattern checked the characters). */
export function secretKeyLength(secret: string): number {
  return Buffer.from(secret.slice(SECRET_PREFIX.length), 'base64').length;
}

export function isUsableSecret(secret: string): boolean {
  const n = SECRET_PATTERN.test(secret) ? secretKeyLength(secret) : 0;
  return n >= MIN_KEY_BYTES && n <= MAX_KEY_BYTES;
}

/** A new message id (webhook-id). */
export function newMessageId(): string {
  return `msg_${randomBytes(18).toString('base64url')}`;
}

export function signatureHeaders(secret: string, messageId: string, timestampSeconds: number, body: string): Record<string, string> {
  const key = Buffer.from(secret.slice(SECRET_PREFIX.length), 'base64');
  const signature = createHmac('sha256', key).update(`${messageId}.${timestampSeconds}.${body}`).digest('base64');
  return { 'webhook-id': messageId, 'webhook-timestamp': String(timestampSeconds), 'webhook-signature': `v1,${signature}` };
}

const purpose = (endpointId: number) => `webhook_endpoints.secret:${endpointId}`;

export interface WebhookSecrets {
  seal(secret: string, endpointId: number): string;
  open(sealed: string, endpointId: number): string;
}

export function webhookSecrets(ring: KeyRing): WebhookSecrets {
  return {
    seal: (secret, endpointId) => sealString(ring, secret, purpose(endpointId)),
    open: (sealed, endpointId) => openString(ring, sealed, purpose(endpointId)),
  };
}
