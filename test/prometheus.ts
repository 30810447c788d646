// Reads a /metrics answer back with a Prometheus text-format parser (the
// package parse-prometheus-text-format; prom-client only writes the format)
// and picks values out of it by name and labels.
// @ts-expect-error -- the package ships no types; its one function is typed below.
import parsePrometheusTextFormat from 'parse-prometheus-text-format';

interface Sample {
  value?: string;
  labels?: Record<string, string>;
  count?: string;
  sum?: string;
  buckets?: Record<string, string>;
}

export interface Family {
  name: string;
  help: string;
  type: 'COUNTER' | 'GAUGE' | 'HISTOGRAM' | 'SUMMARY' | 'UNTYPED';
  metrics: Sample[];
}

export const parseMetrics = parsePrometheusTextFormat as (text: string) => Family[];

/** GET /metrics with an optional bearer token: the status and, on 200, the parsed families. */
export async function scrape(url: string, token?: string): Promise<{ status: number; families: Family[]; text: string }> {
  const res = await fetch(url, { headers: token === undefined ? {} : { authorization: `Bearer ${token}` } });
  const text = await res.text();
  return { status: res.status, families: res.status === 200 ? parseMetrics(text) : [], text };
}

const matches = (sample: Sample, labels: Record<string, string>): boolean => Object.entries(labels).every(([k, v]) => sample.labels?.[k] === v);

/** A counter's or gauge's value (summed over the samples matching `labels`); undefined when the family or sample is absent. */
export function valueOf(families: Family[], name: string, labels: Record<string, string> = {}): number | undefined {
  const family = families.find((f) => f.name === name);
  const samples = family?.metrics.filter((m) => matches(m, labels)) ?? [];
  if (!samples.length) return undefined;
  return samples.reduce((sum, s) => sum + Number(s.value ?? s.count), 0);
}

/** A histogram's count and sum. */
export function histogramOf(families: Family[], name: string): { count: number; sum: number; buckets: Record<string, number> } | undefined {
  const sample = families.find((f) => f.name === name)?.metrics[0];
  if (!sample) return undefined;
  return { count: Number(sample.count), sum: Number(sample.sum), buckets: Object.fromEntries(Object.entries(sample.buckets ?? {}).map(([k, v]) => [k, Number(v)])) };
}
