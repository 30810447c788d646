// Webhooks' settings (issue 28). server/config.ts spreads webhookEnv into its
// schema and calls webhookOptionsFrom; each problem is named with its variable.
import { z } from 'zod';

const ms = (min: number, max: number) => z.coerce.number().int().min(min).max(max);
const DAY_MS = 86_400_000;

export const webhookEnv = {
  WEBHOOK_ALLOW_PRIVATE: z.enum(['on', 'off']).default('off'),
  WEBHOOK_MAX_ENDPOINTS: z.coerce.number().int().min(1).max(1_000).default(20),
  WEBHOOK_MAX_PENDING: z.coerce.number().int().min(10).max(1_000_000).default(10_000),
  WEBHOOK_CONNECT_TIMEOUT_MS: ms(100, 60_000).default(5_000),
  WEBHOOK_TIMEOUT_MS: ms(200, 120_000).default(15_000),
  WEBHOOK_RETRY_FIRST_MS: ms(10, 3_600_000).default(5_000),
  WEBHOOK_RETRY_MAX_MS: ms(10, DAY_MS).default(3_600_000),
  WEBHOOK_RETRY_FOR_MS: ms(100, 7 * DAY_MS).default(DAY_MS),
  WEBHOOK_POLL_MS: ms(20, 600_000).default(2_000),
  WEBHOOK_KEEP_DAYS: z.coerce.number().int().min(1).max(3_650).default(30),
};

type WebhookEnv = { [K in keyof typeof webhookEnv]: z.output<(typeof webhookEnv)[K]> };

export interface WebhookOptions {
  /** WEBHOOK_ALLOW_PRIVATE: endpoints at loopback, private, link-local, unique-local or multicast addresses are allowed (tests, a receiver on the same host). */
  allowPrivate: boolean;
  /** Endpoints registered at most. */
  maxEndpoints: number;
  /** Deliveries waiting per endpoint at most; past it, events are counted as not queued and administrators told. */
  maxPending: number;
  connectTimeoutMs: number;
  /** One attempt's whole time: connect, send, the answer's head and its first bytes. */
  timeoutMs: number;
  /** Backoff: the first retry's wait, doubled each time up to maxMs, with jitter; given up on after forMs from the first attempt. */
  retry: { firstMs: number; maxMs: number; forMs: number };
  /** How often each server looks for due deliveries without a wake-up. */
  pollMs: number;
  /** An attempt's lease on its endpoint: a server that dies mid-attempt frees it after this long. */
  leaseMs: number;
  /** WEBHOOK_KEEP_DAYS: delivered and given-up deliveries older than this are deleted by housekeeping (the log's bound). */
  keepMs: number;
}

export function webhookOptionsFrom(e: WebhookEnv): { options: WebhookOptions; problems: string[] } {
  const problems: string[] = [];
  if (e.WEBHOOK_CONNECT_TIMEOUT_MS > e.WEBHOOK_TIMEOUT_MS) problems.push('WEBHOOK_CONNECT_TIMEOUT_MS: must not be longer than WEBHOOK_TIMEOUT_MS (the whole attempt)');
  if (e.WEBHOOK_RETRY_FIRST_MS > e.WEBHOOK_RETRY_MAX_MS) problems.push('WEBHOOK_RETRY_FIRST_MS: must not be longer than WEBHOOK_RETRY_MAX_MS');
  return {
    problems,
    options: {
      allowPrivate: e.WEBHOOK_ALLOW_PRIVATE === 'on',
      maxEndpoints: e.WEBHOOK_MAX_ENDPOINTS,
      maxPending: e.WEBHOOK_MAX_PENDING,
      connectTimeoutMs: e.WEBHOOK_CONNECT_TIMEOUT_MS,
      timeoutMs: e.WEBHOOK_TIMEOUT_MS,
      retry: { firstMs: e.WEBHOOK_RETRY_FIRST_MS, maxMs: e.WEBHOOK_RETRY_MAX_MS, forMs: e.WEBHOOK_RETRY_FOR_MS },
      pollMs: e.WEBHOOK_POLL_MS,
      // The attempt's time, and as long again for writing its outcome.
      leaseMs: 2 * e.WEBHOOK_TIMEOUT_MS + 5_000,
      keepMs: e.WEBHOOK_KEEP_DAYS * DAY_MS,
    },
  };
}
