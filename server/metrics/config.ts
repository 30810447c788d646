// The settings of what the server tells other tools: /metrics (METRICS_TOKEN,
// METRICS_BIND — the same rules as a repeater process's — METRICS_DB_CACHE_MS)
// and the audit lines for a SIEM (AUDIT_SYSLOG_URL, AUDIT_LOG_FILE,
// AUDIT_QUEUE_MAX). Checked with the rest of the configuration (config.ts).
import { z } from 'zod';
import { metricsDoorFrom, metricsEnv, type MetricsDoor } from '../../repeater/metrics.ts';
import type { AuditShippingOptions } from '../audit/siem/audit-shipping.ts';

const intFrom = (min: number, max: number) => z.coerce.number().int().min(min).max(max);

export const observabilityEnv = {
  ...metricsEnv,
  METRICS_DB_CACHE_MS: intFrom(1_000, 600_000).default(10_000),
  AUDIT_SYSLOG_URL: z
    .url()
    .refine((u) => /^(tcp|udp):$/.test(new URL(u).protocol) && new URL(u).hostname !== '', 'must be tcp://host:port or udp://host:port')
    .optional(),
  AUDIT_LOG_FILE: z.string().min(1).optional(),
  AUDIT_QUEUE_MAX: intFrom(10, 1_000_000).default(10_000),
};

export interface ObservabilityOptions {
  metrics: MetricsDoor & { dbCacheMs: number };
  audit: AuditShippingOptions;
}

type ObservabilityEnv = z.output<z.ZodObject<typeof observabilityEnv>>;

export function observabilityFrom(e: ObservabilityEnv): ObservabilityOptions {
  return {
    metrics: { ...metricsDoorFrom(e), dbCacheMs: e.METRICS_DB_CACHE_MS },
    audit: { syslogUrl: e.AUDIT_SYSLOG_URL ?? null, file: e.AUDIT_LOG_FILE ?? null, queueMax: e.AUDIT_QUEUE_MAX },
  };
}
