// Company sign-in's settings (issue 27): OpenID Connect providers, the LDAP
// directory, and which local accounts may still log in. server/config.ts
// spreads identityEnv into its schema and calls identityOptionsFrom; each
// problem is named with its variable, like every other setting.
import { z } from 'zod';

const onOff = z.enum(['on', 'off']);
const commaList = z.string().transform((s) => s.split(',').map((v) => v.trim()).filter(Boolean));
const providerId = z.string().regex(/^[a-z0-9][a-z0-9_-]{0,31}$/, 'id: lowercase letters, digits, - and _ (at most 32)');
// http:// only for a provider on this machine (a test's, or one behind the same host); https:// otherwise.
const issuerUrl = z.url().refine((u) => {
  const url = new URL(u);
  return url.protocol === 'https:' || (url.protocol === 'http:' && ['127.0.0.1', 'localhost', '[::1]'].includes(url.hostname));
}, 'must be an https:// URL (http:// only on loopback)');

const providerSchema = z.object({
  id: providerId,
  name: z.string().trim().min(1).max(60),
  issuer: issuerUrl,
  clientId: z.string().min(1).max(255),
  clientSecret: z.string().min(1).max(1000),
  /** Overrides OIDC_ROLE_CLAIM / OIDC_ADMIN_VALUES for this provider. */
  roleClaim: z.string().min(1).max(100).optional(),
  adminValues: z.array(z.string().min(1)).optional(),
}).strict();

const providersJson = z.string().transform((s, ctx) => {
  try {
    return JSON.parse(s) as unknown;
  } catch {
    ctx.addIssue({ code: 'custom', message: 'must be a JSON array of {id, name, issuer, clientId, clientSecret}' });
    return z.NEVER;
  }
}).pipe(z.array(providerSchema).min(1).max(20));

export const identityEnv = {
  OIDC_ISSUER: issuerUrl.optional(),
  OIDC_CLIENT_ID: z.string().min(1).max(255).optional(),
  OIDC_CLIENT_SECRET: z.string().min(1).max(1000).optional(),
  OIDC_NAME: z.string().trim().min(1).max(60).default('Single sign-on'),
  OIDC_PROVIDERS: providersJson.optional(),
  OIDC_AUTO_CREATE: onOff.default('off'),
  OIDC_ROLE_CLAIM: z.string().min(1).max(100).optional(),
  OIDC_ADMIN_VALUES: commaList.default([]),
  OIDC_SCOPES: z.string().min(6).max(500).default('openid profile email'),
  OIDC_TIMEOUT_MS: z.coerce.number().int().min(1_000).max(120_000).default(10_000),
  SSO_SESSION_MAX_MS: z.coerce.number().int().min(60_000).max(30 * 24 * 3_600_000).default(8 * 3_600_000),
  LDAP_URL: z.url().refine((u) => /^ldaps?:$/.test(new URL(u).protocol), 'must be an ldap:// or ldaps:// URL').optional(),
  LDAP_BIND_DN: z.string().min(1).max(500).optional(),
  LDAP_BIND_PASSWORD: z.string().min(1).max(1000).optional(),
  LDAP_USER_BASE: z.string().min(1).max(500).optional(),
  LDAP_USER_FILTER: z.string().min(3).max(500).refine((f) => f.includes('{username}'), 'must contain {username}').default('(uid={username})'),
  LDAP_ADMIN_GROUP: z.string().min(1).max(500).optional(),
  LDAP_TECHNICIAN_GROUP: z.string().min(1).max(500).optional(),
  LDAP_CA_FILE: z.string().min(1).optional(),
  LDAP_STARTTLS: onOff.default('off'),
  LDAP_TIMEOUT_MS: z.coerce.number().int().min(500).max(120_000).default(5_000),
  LOCAL_LOGIN: z.enum(['admins', 'all', 'off']).default('all'),
};

/** Variables whose values are never repeated in a configuration error. */
export const identitySecretVars = ['OIDC_CLIENT_SECRET', 'OIDC_PROVIDERS', 'LDAP_BIND_PASSWORD'];

type IdentityEnv = z.output<z.ZodObject<typeof identityEnv>>;

export interface OidcProviderOptions {
  id: string;
  name: string;
  issuer: string;
  clientId: string;
  clientSecret: string;
  /** The claim naming the role (a string or a list), and its values that make an administrator; no claim: new accounts are technicians, later logins keep the role. */
  roleClaim: string | null;
  adminValues: readonly string[];
}

export interface LdapOptions {
  url: string;
  bindDn: string;
  bindPassword: string;
  userBase: string;
  /** `{username}` is replaced by the typed username, escaped (RFC 4515). */
  userFilter: string;
  adminGroup: string | null;
  technicianGroup: string | null;
  caFile: string | null;
  startTls: boolean;
  timeoutMs: number;
}

export interface IdentityOptions {
  oidc: { providers: readonly OidcProviderOptions[]; autoCreate: boolean; scopes: string; timeoutMs: number };
  /** Web sessions of OIDC and LDAP sign-ins end at the provider's token lifetime or after this long, whichever comes first. */
  ssoSessionMaxMs: number;
  ldap: LdapOptions | null;
  /** LOCAL_LOGIN: which local accounts may log in with their password. */
  localLogin: 'admins' | 'all' | 'off';
}

/** The settings as options, or the problems that only show in combination. */
export function identityOptionsFrom(e: IdentityEnv): { options: IdentityOptions; problems: string[] } {
  const problems: string[] = [];
  const single = [e.OIDC_ISSUER, e.OIDC_CLIENT_ID, e.OIDC_CLIENT_SECRET];
  if (single.some(Boolean) && !single.every(Boolean)) problems.push('OIDC_ISSUER, OIDC_CLIENT_ID and OIDC_CLIENT_SECRET: set all three (one OpenID Connect provider), or none');
  const roleClaim = e.OIDC_ROLE_CLAIM ?? null;
  const providers: OidcProviderOptions[] = [];
  if (e.OIDC_ISSUER && e.OIDC_CLIENT_ID && e.OIDC_CLIENT_SECRET) {
    providers.push({ id: 'oidc', name: e.OIDC_NAME, issuer: e.OIDC_ISSUER, clientId: e.OIDC_CLIENT_ID, clientSecret: e.OIDC_CLIENT_SECRET, roleClaim, adminValues: e.OIDC_ADMIN_VALUES });
  }
  for (const p of e.OIDC_PROVIDERS ?? []) {
    providers.push({ ...p, roleClaim: p.roleClaim ?? roleClaim, adminValues: p.adminValues ?? e.OIDC_ADMIN_VALUES });
  }
  const ids = providers.map((p) => p.id);
  const twice = ids.filter((id, i) => ids.indexOf(id) !== i);
  if (twice.length) problems.push(`OIDC_PROVIDERS: each provider needs its own id (${[...new Set(twice)].join(', ')} twice; OIDC_ISSUER's provider is "oidc")`);
  let ldap: LdapOptions | null = null;
  if (e.LDAP_URL) {
    const missing = (['LDAP_BIND_DN', 'LDAP_BIND_PASSWORD', 'LDAP_USER_BASE'] as const).filter((k) => !e[k]);
    if (missing.length) problems.push(`${missing.join(', ')}: required when LDAP_URL is set`);
    if (!e.LDAP_ADMIN_GROUP && !e.LDAP_TECHNICIAN_GROUP) problems.push('LDAP_ADMIN_GROUP or LDAP_TECHNICIAN_GROUP: name at least one group (members of neither are refused)');
    if (e.LDAP_STARTTLS === 'on' && e.LDAP_URL.startsWith('ldaps:')) problems.push('LDAP_STARTTLS: on only with an ldap:// URL (ldaps:// is TLS already)');
    ldap = {
      url: e.LDAP_URL,
      bindDn: e.LDAP_BIND_DN ?? '',
      bindPassword: e.LDAP_BIND_PASSWORD ?? '',
      userBase: e.LDAP_USER_BASE ?? '',
      userFilter: e.LDAP_USER_FILTER,
      adminGroup: e.LDAP_ADMIN_GROUP ?? null,
      technicianGroup: e.LDAP_TECHNICIAN_GROUP ?? null,
      caFile: e.LDAP_CA_FILE ?? null,
      startTls: e.LDAP_STARTTLS === 'on',
      timeoutMs: e.LDAP_TIMEOUT_MS,
    };
  }
  return {
    options: { oidc: { providers, autoCreate: e.OIDC_AUTO_CREATE === 'on', scopes: e.OIDC_SCOPES, timeoutMs: e.OIDC_TIMEOUT_MS }, ssoSessionMaxMs: e.SSO_SESSION_MAX_MS, ldap, localLogin: e.LOCAL_LOGIN },
    problems,
  };
}
