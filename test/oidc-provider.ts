// A real OpenID provider for a test: `oidc-provider` (a certified
// implementation) on a loopback port, with the helpdesk's client (and another
// one, for answers meant for someone else), PKCE required, RP-initiated logout,
// and users whose claims the test may change between sign-ins. Its
// development login page takes any password; the account is the login typed.
import type { Server } from 'node:http';
import Provider, { type ClientMetadata, type Configuration } from 'oidc-provider';
import { freePort } from './processes.ts';

export const OIDC_CLIENT_ID = 'helpdesk';
export const OIDC_CLIENT_SECRET = 'helpdesk-client-secret-0123456789';
export const OTHER_CLIENT_ID = 'other-app';

/** A user's claims (beyond sub), as the provider releases them with the profile and email scopes. */
export type UserClaims = { name?: string; preferred_username?: string; email?: string; locale?: string; helpdesk_role?: string | string[] };

export interface TestProvider {
  issuer: string;
  users: Map<string, UserClaims>;
  close(): Promise<void>;
}

export async function startOidcProvider(helpdeskUrl: string | (() => string), users: Record<string, UserClaims>, ttlSeconds = 600): Promise<TestProvider> {
  const port = await freePort();
  const issuer = `http://127.0.0.1:${port}`;
  const known = new Map(Object.entries(users));
  const base = () => (typeof helpdeskUrl === 'string' ? helpdeskUrl : helpdeskUrl());
  const client = (id: string): ClientMetadata => ({
    client_id: id,
    client_secret: id === OIDC_CLIENT_ID ? OIDC_CLIENT_SECRET : `${id}-secret-0123456789`,
    token_endpoint_auth_method: 'client_secret_post',
    grant_types: ['authorization_code'],
    response_types: ['code'],
    redirect_uris: [`${base()}/auth/oidc/oidc/callback`, `${base()}/auth/oidc/second/callback`],
    post_logout_redirect_uris: [`${base()}/login?loggedOut=1`],
  });
  const configuration: Configuration = {
    clients: [client(OIDC_CLIENT_ID), client(OTHER_CLIENT_ID)],
    pkce: { required: () => true },
    claims: { openid: ['sub'], profile: ['name', 'preferred_username', 'locale', 'helpdesk_role'], email: ['email'] },
    features: { devInteractions: { enabled: true }, rpInitiatedLogout: { enabled: true } },
    ttl: { AccessToken: ttlSeconds, IdToken: ttlSeconds, Session: 3600, Grant: 3600, Interaction: 600, AuthorizationCode: 60 },
    findAccount: (_ctx, id) => {
      const claims = known.get(id);
      if (!claims) return undefined;
      return { accountId: id, claims: () => ({ sub: id, ...known.get(id) }) };
    },
    cookies: { keys: ['test-cookie-key-0123456789abcdef'] },
  };
  const provider = new Provider(issuer, configuration);
  const server: Server = provider.listen(port, '127.0.0.1');
  await new Promise<void>((resolve) => server.once('listening', () => resolve()));
  return {
    issuer,
    users: known,
    close: () => new Promise<void>((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    }),
  };
}
