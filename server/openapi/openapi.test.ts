// The description cannot drift: every route the real app serves under
// /api/v1 has a description and every description a route; the served
// document is valid OpenAPI 3.1 (its schemas compile as JSON Schema 2020-12)
// and says who may call what. (Each answer the other tests receive is
// checked against it by test/openapi-hooks.ts.)
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Ajv2020 } from 'ajv/dist/2020.js';
import { parse } from 'yaml';
import { startHarness, type Harness } from '../../test/server-harness.ts';
import { mismatchOf } from '../../test/openapi-check.ts';
import { describeApi } from './document.ts';
import { routesOf } from './routes-of.ts';
import { routeDocs } from './index.ts';

let h: Harness;
beforeAll(async () => {
  h = await startHarness('sqlite');
});
afterAll(async () => h?.close());

describe('the OpenAPI description', () => {
  it('describes every /api/v1 route the app serves, and no route it does not serve', () => {
    const { undescribed, unserved } = describeApi(h.server.app, 'test');
    expect(undescribed, 'routes without a description: add them to server/openapi/<domain>.ts').toEqual([]);
    expect(unserved, 'descriptions of routes nothing serves').toEqual([]);
    expect(routesOf(h.server.app).length).toBeGreaterThan(40);
    const ids = routeDocs.map((d) => d.id);
    expect(ids.filter((id, i) => ids.indexOf(id) !== i), 'operation ids used twice').toEqual([]);
  });

  it('fails a route added without a description, naming it', () => {
    const before = describeApi(h.server.app, 'test');
    const { undescribed, unserved } = describeApi(h.server.app, 'test', routeDocs.filter((d) => d.id !== 'acceptTicket'));
    expect(undescribed.filter((r) => !before.undescribed.includes(r))).toEqual(['POST /api/v1/tickets/{id}/accept']);
    expect(unserved).toEqual(before.unserved);
  });

  it('takes each input from the route’s own validator', async () => {
    const doc = (await h.api.get('/api/v1/openapi.json').expect(200)).body;
    const resolve = doc.paths['/api/v1/tickets/{id}/resolve'].post;
    expect(resolve.parameters).toEqual([expect.objectContaining({ in: 'path', name: 'id', required: true, schema: expect.objectContaining({ type: 'integer' }) })]);
    expect(resolve.requestBody.content['application/json'].schema).toMatchObject({ type: 'object', required: ['resolution'], properties: { resolution: { type: 'string', maxLength: 8000 } } });
    const history = doc.paths['/api/v1/tickets'].get.parameters.map((p: { name: string }) => p.name);
    expect(history).toEqual(expect.arrayContaining(['text', 'status', 'after', 'pageSize']));
  });

  it('is served as JSON and YAML, valid OpenAPI 3.1 whose schemas compile', async () => {
    const json = (await h.api.get('/api/v1/openapi.json').expect(200).expect('content-type', /json/)).body;
    const yaml = await h.api.get('/api/v1/openapi.yaml').expect(200).expect('content-type', /yaml/);
    expect(parse(yaml.text)).toEqual(json);
    expect(json.openapi).toBe('3.1.0');
    // Every JSON answer's schema, compiled at once (their $refs into the components resolve in the same root).
    const answers: unknown[] = [];
    for (const item of Object.values<Record<string, { responses: Record<string, { content?: Record<string, { schema: unknown }> }> }>>(json.paths)) {
      for (const op of Object.values(item)) {
        // Refusals share the Error component (compiled with it); the answers' own schemas are compiled here.
        for (const response of Object.values(op.responses)) {
          const schema = response.content?.['application/json']?.schema as { allOf?: unknown[] } | undefined;
          if (schema && !schema.allOf) answers.push(schema);
        }
      }
    }
    const ajv = new Ajv2020({ strict: false });
    expect(() => ajv.compile({ components: json.components, anyOf: [...answers, { $ref: '#/components/schemas/Error' }] })).not.toThrow();
    const count = answers.length;
    
    expect(count).toBeGreaterThan(60);
  });

  it('says who may call each operation, and which errors it answers', async () => {
    const doc = (await h.api.get('/api/v1/openapi.json').expect(200)).body;
    expect(Object.keys(doc.components.securitySchemes).sort()).toEqual(['apiToken', 'clientKey', 'clientSecret', 'csrf', 'session']);
    expect(doc.paths['/api/v1/tickets/{id}/accept'].post.security).toEqual([{ session: [], csrf: [] }, { apiToken: ['tickets:write'] }]);
    expect(doc.paths['/api/v1/audit'].get.security).toEqual([{ session: [] }, { apiToken: ['audit:read'] }]);
    expect(doc.paths['/api/v1/tokens'].post.security).toEqual([{ session: [], csrf: [] }]);
    expect(doc.paths['/api/v1/help-requests/{id}'].get.security).toEqual([{ clientSecret: [] }]);
    expect(doc.paths['/api/v1/openapi.json'].get.security).toEqual([]);
    const conflict = doc.paths['/api/v1/tickets/{id}/accept'].post.responses['409'].content['application/json'].schema;
    expect(conflict.properties.error.properties.code.enum).toEqual(expect.arrayContaining(['ILLEGAL_TRANSITION', 'TICKET_TAKEN']));
  });

  it('finds an answer that does not match, saying where and why', async () => {
    const url = `${h.server.url}/api/v1/tickets/queue`;
    expect(await mismatchOf({ method: 'GET', url, status: 200, contentType: 'application/json', body: { tickets: [] } })).toBeNull();
    const wrongBody = await mismatchOf({ method: 'GET', url, status: 200, contentType: 'application/json', body: { tickets: [{ id: 'seven' }] } });
    expect(wrongBody).toMatch(/GET \/api\/v1\/tickets\/queue → 200: the body does not match .*\/tickets\/0/);
    const extra = await mismatchOf({ method: 'GET', url, status: 200, contentType: 'application/json', body: { tickets: [], secret: 1 } });
    expect(extra).toMatch(/must NOT have additional properties \(secret\)/);
    const wrongCode = await mismatchOf({ method: 'GET', url, status: 409, contentType: 'application/json', body: { error: { code: 'TICKET_TAKEN', message: 'x' } } });
    expect(wrongCode).toMatch(/status 409 is not described/);
    const undescribedCode = await mismatchOf({ method: 'POST', url: `${h.server.url}/api/v1/tickets/1/accept`, status: 409, contentType: 'application/json', body: { error: { code: 'LAST_ADMIN', message: 'x' } } });
    expect(undescribedCode).toMatch(/the code LAST_ADMIN is not described for POST \/api\/v1\/tickets\/\{id\}\/accept 409/);
    const unknownRoute = await mismatchOf({ method: 'GET', url: `${h.server.url}/api/v1/nowhere`, status: 200, contentType: 'application/json', body: {} });
    expect(unknownRoute).toMatch(/no operation of the OpenAPI description matches GET \/api\/v1\/nowhere/);
  });
});
