// The server's configuration: read once from the environment by main.ts,
// validated as a whole (every bad variable is named in one error), frozen and
// passed down. Nothing else reads process.env.
import { z } from 'zod';
import { keyRingText, repeaterOptionsEnv, repeaterOptionsFrom, trustProxySetting } from '../repeater/config.ts';
import type { RepeaterOptions } from '../repeater/contract.ts';
import { identityEnv, identityOptionsFrom, identitySecretVars, type IdentityOptions } from './identity/config.ts';
import { observabilityEnv, observabilityFrom, type ObservabilityOptions } from './metrics/config.ts';
import { webhookEnv, webhookOptionsFrom, type WebhookOptions } from './webhooks/config.ts';
import { routingEnv, routingOptionsFrom, type RoutingOptions } from './teams/config.ts';
import { ConfigError, deepFreeze } from './config-parts.ts';

export { ConfigError } from './config-parts.ts';

const intFrom = (min: number, max: number) => z.coerce.number().int().min(min).max(max);

const listOfOrigins = z
  .string()
  .transform((s) => s.split(',').map((o) => o.trim()).filter(Boolean))
  .pipe(z.array(z.url().transform((u) => new URL(u).origin)));

/** A key ring (lib/sealed.ts), refused in its own words (which never repeat the key). */
const envSchema = z.object({
  PORT: intFrom(0, 65535).default(8080),
  HOST: z.string().min(1).default('0.0.0.0'),
  PUBLIC_URL: z.url().optional(),
  DATABASE_URL: z
    .string()
    .regex(/^(sqlite:|mysql:\/\/|mariadb:\/\/)/, 'must start with sqlite:, mysql:// or mariadb://')
    .default('sqlite:./data/helpdesk.sqlite'),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  ADMIN_PASSWORD: z.string().min(10, 'must be at least 10 characters').optional(),
  SESSION_SECRET: z.string().min(32, 'must be at least 32 characters').optional(),
  SESSION_IDLE_MS: intFrom(60_000, 7 * 24 * 3_600_000).default(30 * 60_000),
  COOKIE_SECURE: z.enum(['auto', 'true', 'false']).default('auto'),
  TRUST_PROXY: trustProxySetting,
  CLIENT_KEY: z.string().min(16, 'must be at least 16 characters').optional(),
  ALLOWED_ORIGINS: listOfOrigins.default([]),
  TOKEN_TTL_MS: intFrom(5_000, 3_600_000).default(120_000),
  TICKET_EXPIRY_MS: intFrom(10_000, 7 * 24 * 3_600_000).default(60 * 60_000),
  MAX_ACTIVE_TICKETS_PER_TECH: intFrom(1, 1_000).default(1),
  DECLINE_COOLDOWN_SECONDS: intFrom(0, 7 * 24 * 3_600).default(600),
  MAX_PARTICIPANTS: intFrom(1, 32).default(4),
  SUPERVISOR_WATCH: z.enum(['ask', 'notify']).default('ask'),
  LOGIN_MAX_FAILURES: intFrom(1, 100).default(5),
  LOGIN_LOCKOUT_MS: intFrom(1_000, 24 * 3_600_000).default(15 * 60_000),
  LOGIN_RATE_PER_MINUTE: intFrom(1, 10_000).default(20),
  LOGIN_ACCOUNT_MAX_FAILURES: intFrom(1, 10_000).default(20),
  LOGIN_ACCOUNT_MAX_DELAY_MS: intFrom(1_000, 24 * 3_600_000).default(5 * 60_000),
  TICKET_CREATE_RATE_PER_MINUTE: intFrom(1, 10_000).default(10),
  ...repeaterOptionsEnv,
  REPEATER_SECRET: z.string().min(32, 'must be at least 32 characters').optional(),
  REPEATER_PUBLIC_URL: z
    .url()
    .refine((u) => /^(https?|wss?):$/.test(new URL(u).protocol), 'must be an http(s):// or ws(s):// URL')
    .optional(),
  REPEATER_LOST_AFTER_MS: intFrom(0, 600_000).default(5_000),
  REPEATER_NODE_STALE_MS: intFrom(1_000, 600_000).default(15_000),
  REPEATER_EVENT_GAP_MS: intFrom(1_000, 600_000).default(30_000),
  SSE_MAX_PER_ADDRESS: intFrom(1, 100_000).default(100),
  REQUIRE_2FA: z.enum(['none', 'admins', 'all']).default('none'),
  REDIS_URL: z
    .url()
    .refine((u) => /^rediss?:$/.test(new URL(u).protocol), 'must be a redis:// or rediss:// URL')
    .optional(),
  SSE_MAX_PER_TICKET: intFrom(1, 1_000).default(4),
  EVENT_POLL_MS: intFrom(50, 60_000).default(1_000),
  EVENT_REPLAY_MAX: intFrom(10, 100_000).default(1_000),
  EVENT_KEEP_HOURS: intFrom(1, 24 * 30).default(24),
  EVENT_KEEP_MAX_ROWS: intFrom(10, 10_000_000).default(100_000),
  ARGON2_MEMORY_KIB: intFrom(8 * 1024, 1024 * 1024).default(64 * 1024),
  RECORD_SESSIONS: z.enum(['on', 'off']).default('on'),
  MESSAGE_RATE_PER_MINUTE: intFrom(1, 10_000).default(30),
  API_TOKEN_RATE_PER_MINUTE: intFrom(1, 100_000).default(300),
  FILE_MAX_BYTES: intFrom(1, 4 * 1024 ** 3).default(50 * 1024 * 1024),
  FILES_DIR: z.string().min(1).default('./data/files'),
  FILE_RETENTION_DAYS: intFrom(1, 36_500).default(30),
  UPLOAD_RATE_PER_MINUTE: intFrom(1, 10_000).default(10),
  FILE_MAX_BYTES_PER_TICKET: intFrom(0, Number.MAX_SAFE_INTEGER).default(200 * 1024 ** 2),
  FILE_MAX_BYTES_PER_ADDRESS: intFrom(0, Number.MAX_SAFE_INTEGER).default(1024 ** 3),
  FILE_MAX_TOTAL_BYTES: intFrom(0, Number.MAX_SAFE_INTEGER).default(20 * 1024 ** 3),
  DATA_MIN_FREE_BYTES: intFrom(0, Number.MAX_SAFE_INTEGER).default(1024 ** 3),
  RECORDING_RETENTION_DAYS: intFrom(1, 36_500).default(90),
  RECORDING_MAX_TOTAL_BYTES: intFrom(0, Number.MAX_SAFE_INTEGER).default(20 * 1024 ** 3),
  RECORDING_UPLOAD_MAX_BYTES: intFrom(1024 * 1024, Number.MAX_SAFE_INTEGER).default(4 * 1024 ** 3),
  SECRETS_KEY: keyRingText('SECRETS_KEY').optional(),
  SECRETS_KEY_FILE: z.string().min(1).default('./data/keys/secrets.key'),
  ...identityEnv,
  ...observabilityEnv,
  ...webhookEnv,
  ...routingEnv,
});

export type Env = z.input<typeof envSchema>;

/** Teams and topics (issue 29): WAIT_CHECK_*, TOPICS_RATE_PER_MINUTE (server/teams/config.ts). */
export interface Config extends RoutingOptions {
  port: number;
  host: string;
  /** Origin people reach the server at (for links, the viewer's Origin check); derived when unset. */
  publicUrl: string | null;
  database: { client: 'sqlite'; filename: string } | { client: 'mysql'; url: string };
  logLevel: string;
  adminPassword: string | null;
  sessionSecret: string | null;
  sessionIdleMs: number;
  cookieSecure: 'auto' | boolean;
  trustProxy: string;
  clientKey: string | null;
  allowedOrigins: readonly string[];
  tokenTtlMs: number;
  ticketExpiryMs: number;
  maxActiveTicketsPerTech: number;
  /** After a user declines a technician, that technician may offer again on the ticket only after this long. */
  declineCooldownMs: number;
  /** MAX_PARTICIPANTS: technicians on one ticket's session at once, the holder counted (issue 26). */
  maxParticipants: number;
  /** SUPERVISOR_WATCH: an administrator who watches is allowed by the user first (ask) or only named to them (notify). */
  supervisorWatch: 'ask' | 'notify';
  /**
   * Failed logins: per account and address (maxFailures, lockoutMs), per address
   * per minute (ratePerMinute), and per account from every address together
   * (accountMaxFailures, then a delay growing up to accountMaxDelayMs).
   */
  login: { maxFailures: number; lockoutMs: number; ratePerMinute: number; accountMaxFailures: number; accountMaxDelayMs: number };
  /** REDIS_URL: live events fan out across servers through Redis pub/sub; null keeps them in-process. */
  redisUrl: string | null;
  /** REQUIRE_2FA: whose accounts must use two-factor login (TOTP). */
  requireTwoFactor: 'none' | 'admins' | 'all';
  ticketCreateRatePerMinute: number;
  /** Chat messages per minute: per help request (the user), per technician. */
  messageRatePerMinute: number;
  /** API_TOKEN_RATE_PER_MINUTE: requests per minute each API token may make (429 beyond). */
  apiTokenRatePerMinute: number;
  /**
   * Files exchanged on tickets: size limit, where they are kept, for how long,
   * uploads per minute; and the budgets counted from the database (0: none):
   * bytes kept per ticket, bytes the users at one address sent over the last
   * day, bytes kept in all.
   */
  files: {
    maxBytes: number;
    dir: string;
    retentionDays: number;
    uploadRatePerMinute: number;
    maxBytesPerTicket: number;
    maxBytesPerAddressPerDay: number;
    maxTotalBytes: number;
  };
  /** DATA_MIN_FREE_BYTES: below this much free space where files (or recordings) go, no more are written; administrators are told (0: off). */
  dataMinFreeBytes: number;
  argon2MemoryKiB: number;
  repeater: RepeaterOptions;
  /**
   * Session recording: whether new sessions are recorded (the user is told
   * before allowing), where files live (repeater.recordingsDir), and how long
   * they are kept: days, and a total size past which the oldest go first (0: no cap).
   */
  recording: { enabled: boolean; retentionDays: number; maxTotalBytes: number; /** RECORDING_UPLOAD_MAX_BYTES: the largest recording a repeater node may hand over. */ uploadMaxBytes: number };
  /**
   * Live event streams (SSE) open at once per remote address, and per help request;
   * the event outbox they resume from: how often each server reads it without a
   * wake-up, how far behind a stream may replay, how long and how many events are kept.
   */
  sse: { perAddress: number; perKey: number; pollMs: number; replayMax: number; keepMs: number; keepRows: number };
  /**
   * The key ring sealing secrets kept in the database (TOTP secrets): SECRETS_KEY
   * (checked here), else the file SECRETS_KEY_FILE, read — or created — at start
   * (server/secrets/key-ring.ts).
   */
  secrets: { keyRing: string | null; keyFile: string };
  /** Company sign-in: OpenID Connect providers, LDAP, LOCAL_LOGIN (server/identity/config.ts). */
  identity: IdentityOptions;
  /** /metrics (METRICS_TOKEN, METRICS_BIND, METRICS_DB_CACHE_MS) and the audit lines for a SIEM (AUDIT_*): server/metrics/config.ts. */
  observability: ObservabilityOptions;
  /** Webhooks (WEBHOOK_*, server/webhooks/config.ts). */
  webhooks: WebhookOptions;
  /**
   * Where the repeater runs: embedded on the server's own port (default), or
   * external (its own process at publicUrl, linked to this server by secret).
   */
  repeaterLink: {
    /** Enables /internal/v1/repeater for repeater processes. */
    secret: string | null;
    /** Set: external mode, token URLs point there (ws:// or wss://). */
    publicUrl: string | null;
    /** A repeater process whose heartbeats reach no server this long (its lease, at least 1 s) has its sessions ended (REPEATER_LOST). */
    lostAfterMs: number;
    /** A node not heard from this long gets no tickets; its tickets move to a healthy node at their next token. */
    nodeStaleMs: number;
    /** A repeater event that arrives before its predecessor waits this long for it, then the gap is skipped. */
    eventGapMs: number;
  };
}

export function loadConfig(env: Record<string, string | undefined>): Readonly<Config> {
  // Empty strings count as unset, as in most deployment tools.
  const present = Object.fromEntries(Object.entries(env).filter(([, v]) => v !== undefined && v !== ''));
  const parsed = envSchema.safeParse(present);
  if (!parsed.success) {
    throw new ConfigError(
      parsed.error.issues.map((i) => `${i.path.join('.') || '(environment)'}: ${i.message}${describeValue(present, i.path[0])}`),
    );
  }
  const e = parsed.data;
  const problems: string[] = [];
  if (e.REPEATER_PUBLIC_URL && !e.REPEATER_SECRET) problems.push('REPEATER_SECRET: required when REPEATER_PUBLIC_URL is set (the external repeater authenticates with it)');
  if (e.REPEATER_PUBLIC_URL && !e.PUBLIC_URL) problems.push('PUBLIC_URL: required when REPEATER_PUBLIC_URL is set (the viewer\'s Origin is checked against it)');
  // A public server without a client key lets anyone who finds its address fill the queue (and, once accepted, the disk).
  if (e.PUBLIC_URL && new URL(e.PUBLIC_URL).protocol === 'https:' && !e.CLIENT_KEY) {
    problems.push('CLIENT_KEY: required when PUBLIC_URL is https:// (a server reachable from outside): set a long random string (≥ 16 characters) here and the same as clientKey in the desktop clients\' configuration, so that only your clients can ask for help');
  }
  const identity = identityOptionsFrom(e);
  problems.push(...identity.problems);
  const webhooks = webhookOptionsFrom(e);
  problems.push(...webhooks.problems);
  if (problems.length) throw new ConfigError(problems);
  const config: Config = {
    port: e.PORT,
    host: e.HOST,
    publicUrl: e.PUBLIC_URL ? new URL(e.PUBLIC_URL).origin : null,
    database: e.DATABASE_URL.startsWith('sqlite:')
      ? { client: 'sqlite', filename: e.DATABASE_URL.slice('sqlite:'.length) || ':memory:' }
      : { client: 'mysql', url: e.DATABASE_URL.replace(/^mariadb:/, 'mysql:') },
    logLevel: e.LOG_LEVEL,
    adminPassword: e.ADMIN_PASSWORD ?? null,
    sessionSecret: e.SESSION_SECRET ?? null,
    sessionIdleMs: e.SESSION_IDLE_MS,
    cookieSecure: e.COOKIE_SECURE === 'auto' ? 'auto' : e.COOKIE_SECURE === 'true',
    trustProxy: e.TRUST_PROXY,
    clientKey: e.CLIENT_KEY ?? null,
    allowedOrigins: Object.freeze(e.ALLOWED_ORIGINS),
    tokenTtlMs: e.TOKEN_TTL_MS,
    ticketExpiryMs: e.TICKET_EXPIRY_MS,
    maxActiveTicketsPerTech: e.MAX_ACTIVE_TICKETS_PER_TECH,
    declineCooldownMs: e.DECLINE_COOLDOWN_SECONDS * 1000,
    maxParticipants: e.MAX_PARTICIPANTS,
    supervisorWatch: e.SUPERVISOR_WATCH,
    ...routingOptionsFrom(e),
    login: {
      maxFailures: e.LOGIN_MAX_FAILURES,
      lockoutMs: e.LOGIN_LOCKOUT_MS,
      ratePerMinute: e.LOGIN_RATE_PER_MINUTE,
      accountMaxFailures: e.LOGIN_ACCOUNT_MAX_FAILURES,
      accountMaxDelayMs: e.LOGIN_ACCOUNT_MAX_DELAY_MS,
    },
    requireTwoFactor: e.REQUIRE_2FA,
    redisUrl: e.REDIS_URL ?? null,
    ticketCreateRatePerMinute: e.TICKET_CREATE_RATE_PER_MINUTE,
    messageRatePerMinute: e.MESSAGE_RATE_PER_MINUTE,
    apiTokenRatePerMinute: e.API_TOKEN_RATE_PER_MINUTE,
    files: {
      maxBytes: e.FILE_MAX_BYTES,
      dir: e.FILES_DIR,
      retentionDays: e.FILE_RETENTION_DAYS,
      uploadRatePerMinute: e.UPLOAD_RATE_PER_MINUTE,
      maxBytesPerTicket: e.FILE_MAX_BYTES_PER_TICKET,
      maxBytesPerAddressPerDay: e.FILE_MAX_BYTES_PER_ADDRESS,
      maxTotalBytes: e.FILE_MAX_TOTAL_BYTES,
    },
    dataMinFreeBytes: e.DATA_MIN_FREE_BYTES,
    argon2MemoryKiB: e.ARGON2_MEMORY_KIB,
    repeater: repeaterOptionsFrom(e),
    recording: { enabled: e.RECORD_SESSIONS === 'on', retentionDays: e.RECORDING_RETENTION_DAYS, maxTotalBytes: e.RECORDING_MAX_TOTAL_BYTES, uploadMaxBytes: e.RECORDING_UPLOAD_MAX_BYTES },
    sse: { perAddress: e.SSE_MAX_PER_ADDRESS, perKey: e.SSE_MAX_PER_TICKET, pollMs: e.EVENT_POLL_MS, replayMax: e.EVENT_REPLAY_MAX, keepMs: e.EVENT_KEEP_HOURS * 3_600_000, keepRows: e.EVENT_KEEP_MAX_ROWS },
    secrets: { keyRing: e.SECRETS_KEY ?? null, keyFile: e.SECRETS_KEY_FILE },
    identity: identity.options,
    observability: observabilityFrom(e),
    webhooks: webhooks.options,
    repeaterLink: {
      secret: e.REPEATER_SECRET ?? null,
      publicUrl: e.REPEATER_PUBLIC_URL ? new URL(e.REPEATER_PUBLIC_URL).href.replace(/^http/, 'ws').replace(/\/+$/, '') : null,
      lostAfterMs: e.REPEATER_LOST_AFTER_MS,
      nodeStaleMs: e.REPEATER_NODE_STALE_MS,
      eventGapMs: e.REPEATER_EVENT_GAP_MS,
    },
  };
  return deepFreeze(config);
}

const SECRET_VARS = new Set(['ADMIN_PASSWORD', 'SESSION_SECRET', 'CLIENT_KEY', 'DATABASE_URL', 'REPEATER_SECRET', 'REDIS_URL', 'SECRETS_KEY', 'RECORDING_KEY', 'METRICS_TOKEN', ...identitySecretVars]);

function describeValue(env: Record<string, string | undefined>, key: PropertyKey | undefined): string {
  if (typeof key !== 'string' || env[key] === undefined) return '';
  return SECRET_VARS.has(key) ? ' (value hidden)' : ` (got ${JSON.stringify(env[key])})`;
}
