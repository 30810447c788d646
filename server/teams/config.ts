// Teams' and topics' settings (issue 29). server/config.ts spreads routingEnv
// into its schema and calls routingOptionsFrom.
import { z } from 'zod';

const intFrom = (min: number, max: number) => z.coerce.number().int().min(min).max(max);

export const routingEnv = {
  WAIT_CHECK_MS: intFrom(200, 600_000).default(5_000),
  WAIT_CHECK_BATCH: intFrom(1, 10_000).default(200),
  TOPICS_RATE_PER_MINUTE: intFrom(1, 100_000).default(60),
};

type RoutingEnv = { [K in keyof typeof routingEnv]: z.output<(typeof routingEnv)[K]> };

export interface RoutingOptions {
  /** WAIT_CHECK_MS, WAIT_CHECK_BATCH: how often the check for requests past their topic's target runs, and the most one round marks. */
  waitCheck: { everyMs: number; batch: number };
  /** TOPICS_RATE_PER_MINUTE: reads of GET /api/v1/topics per address and minute. */
  topicsRatePerMinute: number;
}

export const routingOptionsFrom = (e: RoutingEnv): RoutingOptions => ({
  waitCheck: { everyMs: e.WAIT_CHECK_MS, batch: e.WAIT_CHECK_BATCH },
  topicsRatePerMinute: e.TOPICS_RATE_PER_MINUTE,
});
