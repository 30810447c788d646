// Webhooks (issue 28): the events another system may subscribe to, the body
// each delivery carries, and the states of a delivery. Delivery follows the
// Standard Webhooks specification: headers webhook-id, webhook-timestamp and
// webhook-signature ("v1,<base64 HMAC-SHA256 of id.timestamp.body>").

export const webhookEvents = [
  'ticket.created',
  'ticket.accepted',
  'ticket.declined',
  'ticket.approved',
  'session.started',
  'session.ended',
  'ticket.ended',
  'ticket.resolved',
  'ticket.cancelled',
  'ticket.expired',
  'message.created',
  'file.uploaded',
  'recording.ready',
  'request.waiting_too_long',
  'technician.disabled',
  'login.locked',
] as const;
export type WebhookEvent = (typeof webhookEvents)[number];

/** What a "Test" delivery carries (it is sent to one endpoint, whatever it subscribed to). */
export const webhookTestEvent = 'webhook.test';

/** `pending`: waiting or being retried; `delivered`: answered 2xx; `failed`: given up on (retried past WEBHOOK_RETRY_FOR_MS). */
export const webhookDeliveryStates = ['pending', 'delivered', 'failed'] as const;
export type WebhookDeliveryState = (typeof webhookDeliveryStates)[number];

/** An endpoint's health: `failing` once a delivery was given up on; its later deliveries wait until an administrator resumes it. */
export type WebhookHealth = 'ok' | 'failing';

/** The JSON body of every delivery. */
export interface WebhookPayload {
  type: WebhookEvent | typeof webhookTestEvent;
  /** When it happened (ISO 8601, UTC). */
  timestamp: string;
  data: {
    ticketId: number | null;
    technicianId: number | null;
    /** Who did it: a technician (username), the user who asked for help, or the system (its part's name). */
    actor: { type: 'technician' | 'requester' | 'system'; name: string };
    [field: string]: unknown;
  };
}
