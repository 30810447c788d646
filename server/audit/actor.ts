/** Who did something, as the audit log records it. */
export type Actor =
  | {
      type: 'technician';
      id: number;
      name: string;
      role: 'admin' | 'technician';
      /** Done with an API token, not a web session: the audit reads "NAME via token TOKEN_NAME". */
      via?: { tokenId: number; tokenName: string };
      /** How the request was signed in: the web session's sign-in (local password, OIDC, LDAP) or an API token (for the SIEM's lines). */
      signIn?: 'local' | 'oidc' | 'ldap' | 'api_token';
    }
  | { type: 'requester'; name: string }
  | { type: 'system'; name: string };

export interface ActorContext {
  actor: Actor;
  remoteAddress: string;
}

export const systemActor = (name = 'system'): ActorContext => ({ actor: { type: 'system', name }, remoteAddress: '' });
