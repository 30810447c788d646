// What an API token may do: its scopes, which roles may hold each, and the
// one table mapping every staff route under /api/v1 to the scope it needs.
// A route missing from the table is refused to tokens (fail closed): a new
// route is open to integrations only once someone decides its scope here.
import type { Role } from '../technicians/schema.ts';

export const apiScopes = ['tickets:read', 'tickets:write', 'technicians:manage', 'teams:manage', 'webhooks:manage', 'audit:read'] as const;
export type ApiScope = (typeof apiScopes)[number];

/** The scopes each role may give its tokens (and that its tokens keep while the owner holds that role). */
export const scopesOfRole: Record<Role, readonly ApiScope[]> = {
  admin: apiScopes,
  technician: ['tickets:read', 'tickets:write'],
};

export function roleAllows(role: Role, scope: ApiScope): boolean {
  return scopesOfRole[role].includes(scope);
}

/**
 * What a token needs at a path: a scope; 'any' (any valid token: who am I);
 * 'session' (a web session only: one's own password, two-factor login,
 * tokens — a token cannot make tokens —, and setting anyone's password or making an account); null (not open to tokens).
 */
export type TokenRule = ApiScope | 'any' | 'session' | null;

const rules: { methods: readonly string[]; path: RegExp; rule: Exclude<TokenRule, null> }[] = [
  { methods: ['GET', 'HEAD'], path: /^\/api\/v1\/me$/, rule: 'any' },
  { methods: ['GET', 'HEAD', 'POST', 'PATCH', 'PUT', 'DELETE'], path: /^\/api\/v1\/me\//, rule: 'session' },
  { methods: ['GET', 'HEAD', 'POST', 'PATCH', 'PUT', 'DELETE'], path: /^\/api\/v1\/tokens(\/|$)/, rule: 'session' },
  { methods: ['GET', 'HEAD'], path: /^\/api\/v1\/tickets(\/|$)/, rule: 'tickets:read' },
  { methods: ['POST'], path: /^\/api\/v1\/tickets\/[^/]+\//, rule: 'tickets:write' },
  { methods: ['POST', 'DELETE'], path: /^\/api\/v1\/invitations\/[^/]+(\/|$)/, rule: 'tickets:write' },
  { methods: ['GET', 'HEAD'], path: /^\/api\/v1\/(colleagues|sessions\/live)\/?$/, rule: 'tickets:read' },
  { methods: ['GET', 'HEAD'], path: /^\/api\/v1\/recordings\//, rule: 'tickets:read' },
  { methods: ['GET', 'HEAD'], path: /^\/api\/v1\/events\/?$/, rule: 'tickets:read' },
  // A token never sets a password or makes an account (which comes with one): it could then sign in as a
  // person and make itself any token. Those need someone signed in; the rest of managing accounts does not.
  { methods: ['POST'], path: /^\/api\/v1\/technicians\/?$/, rule: 'session' },
  { methods: ['POST'], path: /^\/api\/v1\/technicians\/[^/]+\/password\/?$/, rule: 'session' },
  { methods: ['GET', 'HEAD', 'POST', 'PATCH'], path: /^\/api\/v1\/technicians(\/|$)/, rule: 'technicians:manage' },
  { methods: ['GET', 'HEAD'], path: /^\/api\/v1\/audit\/?$/, rule: 'audit:read' },
  // Administrators' routing of requests (issue 29): teams, the topics that lead to them and each team's canned
  // replies (shared ones only: a technician reads a ticket's, filled in, with tickets:read). GET /api/v1/topics
  // is the desktop's public list and passes no guard.
  { methods: ['GET', 'HEAD', 'POST', 'PUT', 'DELETE'], path: /^\/api\/v1\/teams(\/|$)/, rule: 'teams:manage' },
  { methods: ['POST'], path: /^\/api\/v1\/topics\/?$/, rule: 'teams:manage' },
  { methods: ['GET', 'HEAD', 'PUT', 'DELETE'], path: /^\/api\/v1\/topics\/[^/]/, rule: 'teams:manage' },
  { methods: ['GET', 'HEAD', 'POST', 'PATCH', 'DELETE'], path: /^\/api\/v1\/canned-replies(\/|$)/, rule: 'teams:manage' },
  // Webhooks (issue 28): endpoints, their secrets (shown once), tests, deliveries and resends.
  { methods: ['GET', 'HEAD', 'POST', 'PATCH', 'DELETE'], path: /^\/api\/v1\/webhooks(\/|$)/, rule: 'webhooks:manage' },
];

/** The rule for a request (its method and full path, without the query). */
export function tokenRuleFor(method: string, path: string): TokenRule {
  return rules.find((r) => r.methods.includes(method) && r.path.test(path))?.rule ?? null;
}
