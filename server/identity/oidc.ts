// OpenID Connect providers (openid-client v6): the authorization code flow
// with PKCE (S256), state and nonce. Each provider's metadata is discovered
// once, at start (warmUp) or at its first use, and again after a failure: an
// unreachable provider is refused in words (SSO_UNAVAILABLE), never a hang
// past OIDC_TIMEOUT_MS. The attempt (state, nonce, verifier) lives in the
// browser's web session and is used once.
import * as client from 'openid-client';
import { AppError } from '../errors.ts';
import type { Logger } from '../../lib/logger.ts';
import type { Role } from '../technicians/schema.ts';
import type { IdentityOptions, OidcProviderOptions } from './config.ts';
import type { VouchedIdentity } from './accounts.ts';

/** A sign-in on its way to the provider (kept in the web session until the callback). */
export interface OidcAttempt {
  provider: string;
  state: string;
  nonce: string;
  verifier: string;
  redirectUri: string;
  next: string;
  at: number;
}

/** What a finished sign-in gives: who, until when the provider vouches, and how to end the provider's session. */
export interface OidcResult {
  identity: VouchedIdentity;
  /** When the provider's tokens expire (ms since epoch), if it says. */
  expiresAt: number | null;
  /** The provider's RP-initiated logout URL for this sign-in, when it has an end_session_endpoint. */
  logoutUrl: string | null;
}

/** How long an attempt may wait at the provider. */
export const ATTEMPT_MS = 10 * 60_000;

const insecure = (issuer: string) => new URL(issuer).protocol === 'http:';

export function createOidcProviders(options: IdentityOptions['oidc'], logger: Logger) {
  const log = logger.child({ component: 'oidc' });
  const discovered = new Map<string, Promise<client.Configuration>>();

  function providerOf(id: string): OidcProviderOptions {
    const provider = options.providers.find((p) => p.id === id);
    if (!provider) throw new AppError('SSO_PROVIDER_UNKNOWN', `No sign-in provider "${id}" is configured here`);
    return provider;
  }

  const unavailable = (p: OidcProviderOptions, err: unknown) =>
    new AppError('SSO_UNAVAILABLE', `${p.name} does not answer right now (${p.issuer}: ${err instanceof Error ? err.message : String(err)}); try again in a moment`, { provider: p.name });

  async function configOf(p: OidcProviderOptions): Promise<client.Configuration> {
    let pending = discovered.get(p.id);
    if (!pending) {
      pending = client.discovery(new URL(p.issuer), p.clientId, p.clientSecret, undefined, {
        execute: insecure(p.issuer) ? [client.allowInsecureRequests] : [],
        timeout: Math.ceil(options.timeoutMs / 1000),
      });
      discovered.set(p.id, pending);
      // A failed discovery is tried again at the next sign-in.
      pending.catch((failedDiscovery: unknown) => {
        discovered.delete(p.id);
        return failedDiscovery;
      });
    }
    try {
      const config = await pending;
      config.timeout = Math.ceil(options.timeoutMs / 1000);
      return config;
    } catch (err) {
      throw unavailable(p, err);
    }
  }

  function roleOf(p: OidcProviderOptions, claims: Record<string, unknown>): Role | null {
    if (!p.roleClaim) return null;
    const value = claims[p.roleClaim];
    const values = (Array.isArray(value) ? (value as unknown[]) : [value]).filter((v): v is string | number => typeof v === 'string' || typeof v === 'number').map(String);
    return values.some((v) => p.adminValues.includes(v)) ? 'admin' : 'technician';
  }

  function languageOf(locale: unknown): 'en' | 'es' | 'zh' | null {
    const tag = typeof locale === 'string' ? locale.toLowerCase().slice(0, 2) : '';
    return tag === 'en' || tag === 'es' || tag === 'zh' ? tag : null;
  }

  return {
    /** The providers for the login page's buttons. */
    providers: options.providers.map(({ id, name }) => ({ id, name })),
    nameOf: (id: string): string | null => options.providers.find((p) => p.id === id)?.name ?? null,

    /** Discovers every provider in the background at start; failures are logged and retried at first use. */
    warmUp(): void {
      for (const p of options.providers) {
        configOf(p).then(
          () => log.info({ provider: p.id, issuer: p.issuer }, 'OpenID provider discovered'),
          (err: unknown) => log.warn({ provider: p.id, issuer: p.issuer, err: (err as Error).message }, 'OpenID provider not reachable yet; tried again at the first sign-in'),
        );
      }
    },

    /** Where to send the browser, and the attempt to keep in its session. */
    async start(id: string, redirectUri: string, next: string, now: number): Promise<{ url: string; attempt: OidcAttempt }> {
      const p = providerOf(id);
      const config = await configOf(p);
      const verifier = client.randomPKCECodeVerifier();
      const attempt: OidcAttempt = { provider: p.id, state: client.randomState(), nonce: client.randomNonce(), verifier, redirectUri, next, at: now };
      const url = client.buildAuthorizationUrl(config, {
        redirect_uri: redirectUri,
        scope: options.scopes,
        code_challenge: await client.calculatePKCECodeChallenge(verifier),
        code_challenge_method: 'S256',
        state: attempt.state,
        nonce: attempt.nonce,
      });
      return { url: url.href, attempt };
    },

    /**
     * Completes an attempt with the provider's answer (the callback's URL):
     * the code is exchanged with the verifier, the ID token checked (issuer,
     * audience, signature, nonce, expiry), the user info read when the
     * provider has it. Refusals are SSO_FAILED; an unreachable provider SSO_UNAVAILABLE.
     */
    async finish(attempt: OidcAttempt, callbackUrl: URL, postLogoutRedirectUri: string, now: number): Promise<OidcResult> {
      const p = providerOf(attempt.provider);
      const config = await configOf(p);
      const failed = (err: unknown) => {
        log.info({ provider: p.id, err: err instanceof Error ? `${err.name}: ${err.message}` : String(err) }, 'OpenID sign-in refused');
        return new AppError('SSO_FAILED', `Signing in with ${p.name} did not succeed (${err instanceof Error ? err.message : String(err)}): start again`, { provider: p.name });
      };
      let tokens: Awaited<ReturnType<typeof client.authorizationCodeGrant>>;
      try {
        tokens = await client.authorizationCodeGrant(config, callbackUrl, { pkceCodeVerifier: attempt.verifier, expectedState: attempt.state, expectedNonce: attempt.nonce, idTokenExpected: true });
      } catch (err) {
        throw isNetworkError(err) ? unavailable(p, err) : failed(err);
      }
      const idClaims = tokens.claims();
      if (!idClaims) throw failed(new Error('no ID token'));
      let claims: Record<string, unknown> = { ...idClaims };
      if (config.serverMetadata().userinfo_endpoint && tokens.access_token) {
        try {
          claims = { ...claims, ...(await client.fetchUserInfo(config, tokens.access_token, idClaims.sub)) };
        } catch (err) {
          throw isNetworkError(err) ? unavailable(p, err) : failed(err);
        }
      }
      const expiresIn = tokens.expiresIn();
      const expiresAt = expiresIn !== undefined ? now + expiresIn * 1000 : typeof idClaims.exp === 'number' ? idClaims.exp * 1000 : null;
      const str = (k: string) => (typeof claims[k] === 'string' ? (claims[k] as string) : '');
      const email = /^[^@\s]+@[^@\s]+$/.test(str('email')) ? str('email').slice(0, 255) : '';
      const identity: VouchedIdentity = {
        source: 'oidc',
        provider: p.id,
        providerName: p.name,
        issuer: config.serverMetadata().issuer,
        subject: idClaims.sub,
        username: str('preferred_username') || email.split('@')[0] || `user-${idClaims.sub.slice(0, 8)}`,
        displayName: str('name') || str('preferred_username') || email || idClaims.sub,
        email,
        language: languageOf(claims.locale),
        role: roleOf(p, claims),
      };
      let logoutUrl: string | null = null;
      if (config.serverMetadata().end_session_endpoint) {
        const params: Record<string, string> = { client_id: p.clientId, post_logout_redirect_uri: postLogoutRedirectUri };
        if (tokens.id_token) params.id_token_hint = tokens.id_token;
        logoutUrl = client.buildEndSessionUrl(config, params).href;
      }
      return { identity, expiresAt, logoutUrl };
    },
  };
}

export type OidcProviders = ReturnType<typeof createOidcProviders>;

/** A provider that could not be reached (refused, reset, timed out), as opposed to one that answered no. */
function isNetworkError(err: unknown): boolean {
  if (!(err instanceof Error)) return false;
  const cause = (err as { cause?: { code?: string; name?: string } }).cause;
  return err.name === 'TimeoutError' || err.name === 'AbortError' || /fetch failed/i.test(err.message) || Boolean(cause?.code?.startsWith('E')) || cause?.name === 'TimeoutError';
}
