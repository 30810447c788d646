// Every /api/v1 route the real app mounts has a decision for API tokens in
// the one table (scopes.ts): a scope, 'any' or 'session'. A route with none
// is refused to tokens (fail closed) — which must be meant: the only routes
// allowed to have none are listed here, each with its reason. A route added
// later without a decision fails this test, naming it, instead of being
// silently closed to integrations (as webhooks, teams, topics and canned
// replies were until they got theirs).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startHarness, type Harness } from '../../test/server-harness.ts';
import { routesOf, type ServedRoute } from '../openapi/routes-of.ts';
import { apiScopes, scopesOfRole, tokenRuleFor, type TokenRule } from './scopes.ts';

/** Routes deliberately left out of the table (no token reaches them through a guard), by pattern, with why. */
const deliberatelyNone: { route: RegExp; reason: string }[] = [
  { route: /^(GET|POST) \/api\/v1\/help-requests(\/|$)/, reason: 'the desktop API: its own per-request client secret as Bearer (bearer.ts leaves it alone), never a staff token' },
  { route: /^GET \/api\/v1\/topics$/, reason: 'public: the desktop client\'s list of topics (no guard; CLIENT_KEY when set)' },
  { route: /^GET \/api\/v1\/openapi\.(json|yaml)$/, reason: 'public: the API\'s own description' },
];

const keyOf = (r: ServedRoute) => `${r.method.toUpperCase()} ${r.path}`;
const ruleOf = (r: ServedRoute): TokenRule => tokenRuleFor(r.method.toUpperCase(), r.path.replace(/\{\w+\}/g, '1'));
const technicianScopes: readonly string[] = scopesOfRole.technician;

let h: Harness;
let served: ServedRoute[];
beforeAll(async () => {
  h = await startHarness('sqlite');
  served = routesOf(h.server.app);
});
afterAll(async () => h?.close());

describe('the API tokens\' table of routes', () => {
  it('decides every mounted /api/v1 route: a scope, any token, or a web session only — or lists why not', () => {
    expect(served.length).toBeGreaterThan(60);
    const undecided = served.filter((r) => ruleOf(r) === null && !deliberatelyNone.some((d) => d.route.test(keyOf(r)))).map(keyOf);
    expect(undecided, 'routes with no decision for API tokens: give each a rule in server/api-tokens/scopes.ts').toEqual([]);
  });

  it('lists as undecided only what is public or the desktop\'s, and each listed pattern still matches a route with no decision', () => {
    for (const d of deliberatelyNone) {
      const matching = served.filter((r) => d.route.test(keyOf(r)));
      expect(matching.length, `${d.route} (${d.reason}) matches no served route`).toBeGreaterThan(0);
      for (const r of matching) {
        expect([keyOf(r), ruleOf(r)]).toEqual([keyOf(r), null]);
        // Nothing that checks a technician hides here: a guarded route must be decided in the table.
        expect([keyOf(r), r.guards]).toEqual([keyOf(r), []]);
      }
    }
  });

  it('gives a technician\'s token no administrator\'s power: every administrators\' route needs a web session or a scope only administrators hold', () => {
    const admins = served.filter((r) => r.guards.includes('requireAdmin'));
    expect(admins.map(keyOf)).toEqual(expect.arrayContaining(['POST /api/v1/webhooks', 'PUT /api/v1/teams/{id}', 'POST /api/v1/topics', 'DELETE /api/v1/canned-replies/{id}']));
    const open = admins.filter((r) => { const rule = ruleOf(r); return rule === 'any' || (rule !== null && technicianScopes.includes(rule)); }).map(keyOf);
    expect(open, 'administrators\' routes open to a technician\'s token').toEqual([]);
  });

  it('keeps one\'s tokens, password and two-factor login to a web session', () => {
    const own = served.filter((r) => r.guards.includes('requireWebSession') || /^\/api\/v1\/(tokens|me\/)/.test(r.path));
    expect(own.map(keyOf)).toEqual(expect.arrayContaining(['POST /api/v1/tokens', 'POST /api/v1/me/password', 'POST /api/v1/me/2fa/disable']));
    expect(own.filter((r) => ruleOf(r) !== 'session').map(keyOf)).toEqual([]);
  });

  it('has no scope that opens nothing', () => {
    const used = new Set(served.map(ruleOf));
    expect(apiScopes.filter((s) => !used.has(s))).toEqual([]);
  });

  it('names the scopes of the new administrators\' routes', () => {
    const rule = (method: string, path: string) => tokenRuleFor(method, path);
    expect(rule('POST', '/api/v1/webhooks/3/deliveries/9/resend')).toBe('webhooks:manage');
    expect(rule('GET', '/api/v1/webhooks')).toBe('webhooks:manage');
    expect(rule('PUT', '/api/v1/teams/2')).toBe('teams:manage');
    expect(rule('GET', '/api/v1/topics/all')).toBe('teams:manage');
    expect(rule('PATCH', '/api/v1/canned-replies/4')).toBe('teams:manage');
    // A ticket's canned replies, filled in, are read as the ticket is.
    expect(rule('GET', '/api/v1/tickets/7/canned-replies')).toBe('tickets:read');
  });

  it('shows each route\'s scope in the OpenAPI description, and the public list of topics as public', async () => {
    const doc = (await h.api.get('/api/v1/openapi.json').expect(200)).body;
    expect(doc.paths['/api/v1/webhooks/{id}/test'].post.security).toEqual([{ session: [], csrf: [] }, { apiToken: ['webhooks:manage'] }]);
    expect(doc.paths['/api/v1/teams'].get.security).toEqual([{ session: [] }, { apiToken: ['teams:manage'] }]);
    expect(doc.paths['/api/v1/canned-replies/{id}'].patch.security).toEqual([{ session: [], csrf: [] }, { apiToken: ['teams:manage'] }]);
    expect(doc.paths['/api/v1/topics'].get.security).toEqual([]);
    expect(doc.components.schemas.ApiScope.enum).toEqual([...apiScopes]);
  });
});
