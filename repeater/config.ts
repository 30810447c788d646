// Configuration of the repeater's byte path (shared by the server's embedded
// repeater and the repeater process) and of the repeater process itself. Read
// once from the environment, validated as a whole: every bad variable is named.
import { hostname } from 'node:os';
import { z } from 'zod';
import { parseKeyRing } from '../lib/sealed.ts';
import type { RepeaterOptions } from './contract.ts';
import { compileTrustProxy, trustProxyProblem, type TrustProxy } from './client-address.ts';
import { metricsDoorFrom, metricsEnv, type MetricsDoor } from './metrics.ts';

const intFrom = (min: number, max: number) => z.coerce.number().int().min(min).max(max);

/** A key ring setting (lib/sealed.ts), checked with the rest of the configuration; the words never repeat the key. */
export const keyRingText = (setting: string) =>
  z.string().superRefine((spec, ctx) => {
    try {
      parseKeyRing(spec, setting);
    } catch (err) {
      ctx.addIssue({ code: 'custom', message: (err as Error).message.replace(`${setting}: `, '') });
    }
  });

/** The repeater options' variables, the same names in the server and in a repeater process. */
export const repeaterOptionsEnv = {
  WAITING_TIMEOUT_MS: intFrom(1_000, 3_600_000).default(100_000),
  HEARTBEAT_INTERVAL_MS: intFrom(1_000, 600_000).default(30_000),
  REPEATER_HIGH_WATER_MARK_BYTES: intFrom(64 * 1024, 256 * 1024 * 1024).default(1024 * 1024),
  REPEATER_MAX_PAYLOAD_BYTES: intFrom(64 * 1024, 256 * 1024 * 1024).default(16 * 1024 * 1024),
  REPEATER_MAX_LEGS: intFrom(2, 100_000).default(10_000),
  REPEATER_MAX_LEGS_PER_ADDRESS: intFrom(2, 100_000).default(100),
  REPEATER_CLOSE_TIMEOUT_MS: intFrom(100, 60_000).default(3_000),
  REPEATER_PROGRESS_INTERVAL_MS: intFrom(100, 600_000).default(10_000),
  RECORDINGS_DIR: z.string().min(1).default('./data/recordings'),
  RECORDING_MAX_BUFFER_BYTES: intFrom(256 * 1024, 1024 * 1024 * 1024).default(16 * 1024 * 1024),
  REPEATER_HANDSHAKE_TIMEOUT_MS: intFrom(500, 120_000).default(5_000),
  REPEATER_MAX_PENDING: intFrom(10, 100_000).default(2_000),
  REPEATER_MAX_PENDING_PER_ADDRESS: intFrom(2, 100_000).default(50),
  RECORD_KEYSTROKES: z.enum(['on', 'off']).default('off'),
  RECORDING_REQUIRED: z.enum(['on', 'off']).default('off'),
  RECORDING_ENCRYPTION: z.enum(['on', 'off']).default('on'),
  RECORDING_KEY: keyRingText('RECORDING_KEY').optional(),
  RECORDING_KEY_FILE: z.string().min(1).default('./data/keys/recording.key'),
};

/** TRUST_PROXY: the same setting, read by the same rule, in the server and in a repeater process. */
export const trustProxySetting = z
  .string()
  .superRefine((value, ctx) => {
    const problem = trustProxyProblem(value);
    if (problem) ctx.addIssue({ code: 'custom', message: problem });
  })
  .default('loopback');

type OptionsEnv = z.output<z.ZodObject<typeof repeaterOptionsEnv>>;

export function repeaterOptionsFrom(e: OptionsEnv): RepeaterOptions {
  return {
    waitingTimeoutMs: e.WAITING_TIMEOUT_MS,
    heartbeatIntervalMs: e.HEARTBEAT_INTERVAL_MS,
    highWaterMarkBytes: e.REPEATER_HIGH_WATER_MARK_BYTES,
    maxPayloadBytes: e.REPEATER_MAX_PAYLOAD_BYTES,
    maxLegs: e.REPEATER_MAX_LEGS,
    maxLegsPerAddress: e.REPEATER_MAX_LEGS_PER_ADDRESS,
    closeTimeoutMs: e.REPEATER_CLOSE_TIMEOUT_MS,
    progressIntervalMs: e.REPEATER_PROGRESS_INTERVAL_MS,
    recordingsDir: e.RECORDINGS_DIR,
    recordingMaxBufferBytes: e.RECORDING_MAX_BUFFER_BYTES,
    handshakeTimeoutMs: e.REPEATER_HANDSHAKE_TIMEOUT_MS,
    maxPendingUpgrades: e.REPEATER_MAX_PENDING,
    maxPendingUpgradesPerAddress: e.REPEATER_MAX_PENDING_PER_ADDRESS,
    recordKeystrokes: e.RECORD_KEYSTROKES === 'on',
    recordingRequired: e.RECORDING_REQUIRED === 'on',
    recordingKey: e.RECORDING_ENCRYPTION === 'on' ? { spec: e.RECORDING_KEY ?? null, file: e.RECORDING_KEY_FILE } : null,
  };
}

const httpUrl = z
  .url()
  .refine((u) => /^https?:$/.test(new URL(u).protocol), 'must be an http:// or https:// URL')
  .transform((u) => u.replace(/\/+$/, ''));

const processEnv = z.object({
  REPEATER_SERVER_URL: httpUrl,
  REPEATER_SECRET: z.string().min(32, 'must be at least 32 characters'),
  REPEATER_PORT: intFrom(0, 65535).default(8081),
  REPEATER_HOST: z.string().min(1).default('0.0.0.0'),
  REPEATER_NAME: z.string().regex(/^[A-Za-z0-9._:-]{1,64}$/, 'letters, digits, ".", "_", ":" and "-", at most 64').optional(),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  REPEATER_NODE_URL: z
    .url()
    .refine((u) => /^wss?:$/.test(new URL(u).protocol), 'must be a ws:// or wss:// URL')
    .optional(),
  REPEATER_NODE_HEARTBEAT_MS: intFrom(200, 60_000).default(5_000),
  RECORDINGS_UPLOAD: z.enum(['on', 'off']).default('on'),
  TRUST_PROXY: trustProxySetting,
  ...metricsEnv,
  ...repeaterOptionsEnv,
});

export interface RepeaterProcessConfig {
  serverUrl: string;
  secret: string;
  port: number;
  host: string;
  /** This node's name (default: host name and port). */
  name: string;
  logLevel: string;
  options: RepeaterOptions;
  /** Where clients reach this node (set: the server may give it tickets, least-loaded first). */
  nodeUrl: string | null;
  nodeHeartbeatMs: number;
  /** RECORDINGS_UPLOAD: hand each recording over to the server (repeater/recording-outbox.ts); off: the server reads this node's RECORDINGS_DIR (a shared mount). */
  recordingsUpload: boolean;
  /** TRUST_PROXY: the proxies (nginx) whose X-Forwarded-For names a leg's client. */
  trustProxy: TrustProxy;
  /** METRICS_TOKEN, METRICS_BIND: how this node's /metrics is reached (repeater/metrics.ts). */
  metrics: MetricsDoor;
}

export class RepeaterConfigError extends Error {
  readonly problems: string[];

  constructor(problems: string[]) {
    super(`Invalid repeater configuration:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
    this.problems = problems;
    this.name = 'RepeaterConfigError';
  }
}

const SECRETS = new Set(['REPEATER_SECRET', 'RECORDING_KEY', 'METRICS_TOKEN']);

export function loadRepeaterConfig(env: Record<string, string | undefined>): Readonly<RepeaterProcessConfig> {
  const present = Object.fromEntries(Object.entries(env).filter(([, v]) => v !== undefined && v !== ''));
  const parsed = processEnv.safeParse(present);
  if (!parsed.success) {
    throw new RepeaterConfigError(
      parsed.error.issues.map((i) => {
        const key = String(i.path[0] ?? '(environment)');
        const shown = present[key] === undefined ? '' : SECRETS.has(key) ? ' (value hidden)' : ` (got ${JSON.stringify(present[key])})`;
        return `${key}: ${i.message}${shown}`;
      }),
    );
  }
  const e = parsed.data;
  return Object.freeze({
    serverUrl: e.REPEATER_SERVER_URL,
    secret: e.REPEATER_SECRET,
    port: e.REPEATER_PORT,
    host: e.REPEATER_HOST,
    name: e.REPEATER_NAME ?? `${hostname()}:${e.REPEATER_PORT}`,
    logLevel: e.LOG_LEVEL,
    options: Object.freeze(repeaterOptionsFrom(e)),
    nodeUrl: e.REPEATER_NODE_URL ? e.REPEATER_NODE_URL.replace(/\/+$/, '') : null,
    nodeHeartbeatMs: e.REPEATER_NODE_HEARTBEAT_MS,
    recordingsUpload: e.RECORDINGS_UPLOAD === 'on',
    trustProxy: compileTrustProxy(e.TRUST_PROXY),
    metrics: Object.freeze(metricsDoorFrom(e)),
  });
}
