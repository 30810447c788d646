// The OpenAPI 3.1 document of /api/v1, written from the application itself:
// each route the app serves (routes-of.ts) with the schemas its validators
// parse with, joined to its description (describe.ts, one file per domain)
// for its answers, errors and words. zod-openapi renders the zod schemas
// (inputs as accepted, answers as sent). Routes without a description, and
// descriptions without a route, are listed beside the document: the tests
// fail on either (openapi.test.ts).
import type { Application } from 'express';
import { z } from 'zod';
import { createDocument, type ZodOpenApiOperationObject, type ZodOpenApiPathsObject, type ZodOpenApiResponsesObject } from 'zod-openapi';
import type { ErrorCode } from '../errors.ts';
import { tokenRuleFor } from '../api-tokens/scopes.ts';
import { byStatus, commonErrors, errorBody, ErrorEnvelope, isOther, type Access, type RouteDoc } from './describe.ts';
import { routesOf, type ServedRoute } from './routes-of.ts';
import { routeDocs } from './index.ts';
import { securitySchemes } from './security.ts';

export const API_PREFIX = '/api/v1';

export interface DescribedApi {
  document: ReturnType<typeof createDocument>;
  /** Served routes that no description names ("GET /api/v1/x"). */
  undescribed: string[];
  /** Descriptions of routes the app does not serve. */
  unserved: string[];
}

const documents = new WeakMap<Application, DescribedApi>();

/** The app's description, written once per app. */
export function describedApi(app: Application, version: string): DescribedApi {
  let described = documents.get(app);
  if (!described) documents.set(app, (described = describeApi(app, version)));
  return described;
}

export function describeApi(app: Application, version: string, docs: readonly (RouteDoc & { tag: string })[] = routeDocs): DescribedApi {
  const served = routesOf(app, API_PREFIX);
  const key = (method: string, path: string) => `${method.toUpperCase()} ${path}`;
  const docsByKey = new Map(docs.map((d) => [key(d.method, API_PREFIX + d.path), d]));
  const servedKeys = new Set(served.map((r) => key(r.method, r.path)));
  const paths: ZodOpenApiPathsObject = {};
  const undescribed: string[] = [];
  for (const route of served) {
    const doc = docsByKey.get(key(route.method, route.path));
    // Two routes at one method and path: the first registered answers.
    if (paths[route.path]?.[route.method]) continue;
    if (!doc) {
      if (!undescribed.includes(key(route.method, route.path))) undescribed.push(key(route.method, route.path));
      continue;
    }
    (paths[route.path] ??= {})[route.method] = operation(route, doc);
  }
  const document = createDocument(
    {
      openapi: '3.1.0',
      info: {
        title: 'Helpdesk API',
        version,
        description:
          'The staff API (tickets, participants, technicians, recordings, audit, API tokens) and the desktop API (help requests). ' +
          'Every error answers `{ "error": { "code", "message", "details"? } }`; each operation lists its codes by status. Times are milliseconds since 1970 (UTC).',
      },
      paths,
      components: { securitySchemes, schemas: { Error: ErrorEnvelope } },
    },
  );
  return { document, undescribed, unserved: [...docsByKey.keys()].filter((k) => !servedKeys.has(k)) };
}

function accessOf(route: ServedRoute): Access {
  if (route.path.startsWith(`${API_PREFIX}/help-requests`)) return route.path === `${API_PREFIX}/help-requests` ? 'desktop-create' : 'desktop';
  if (route.guards.includes('requireWebSession')) return 'web-session';
  if (route.guards.includes('requireAdmin')) return 'admin';
  if (route.guards.includes('requireTechnician')) return 'staff';
  return 'public';
}

function security(access: Access, route: ServedRoute): ZodOpenApiOperationObject['security'] {
  const session: Record<string, string[]> = route.method === 'get' ? { session: [] } : { session: [], csrf: [] };
  switch (access) {
    case 'public':
      return [];
    case 'desktop':
      return [{ clientSecret: [] }];
    case 'desktop-create':
      return [{}, { clientKey: [] }];
    case 'web-session':
      return [session];
    default: {
      const rule = tokenRuleFor(route.method.toUpperCase(), route.path.replace(/\{\w+\}/g, '1'));
      if (rule === null || rule === 'session') return [session];
      return [session, { apiToken: rule === 'any' ? [] : [rule] }];
    }
  }
}

function objectOf(parts: (z.ZodType | undefined)[]): z.ZodObject | undefined {
  const shapes = parts.filter((p): p is z.ZodObject => p instanceof z.ZodObject).map((p) => p.shape);
  return shapes.length ? z.object(Object.assign({}, ...shapes) as z.ZodRawShape) : undefined;
}

function operation(route: ServedRoute, doc: RouteDoc & { tag: string }): ZodOpenApiOperationObject {
  const access = accessOf(route);
  const params = objectOf(route.schemas.map((s) => s.params));
  const pathShape: Record<string, z.ZodType> = { ...(params?.shape ?? {}) };
  for (const [, name] of route.path.matchAll(/\{(\w+)\}/g)) pathShape[name!] ??= doc.pathParams?.[name!] ?? z.string();
  const query = objectOf(route.schemas.map((s) => s.query));
  const bodySchema = route.schemas.map((s) => s.body).findLast((b) => b !== undefined);
  const validated = route.schemas.length > 0;
  const responses: ZodOpenApiResponsesObject = {};
  for (const [status, answer] of Object.entries(doc.responses)) {
    if (!answer) continue;
    const code = status as `2${string}`;
    if (!isOther(answer)) responses[code] = { description: answer.description ?? 'OK', content: { 'application/json': { schema: answer } } };
    else if (answer.kind === 'file') responses[code] = { description: answer.description, content: { 'application/octet-stream': { schema: { type: 'string', contentMediaType: 'application/octet-stream' } } } };
    else if (answer.kind === 'events') responses[code] = { description: answer.description, content: { 'text/event-stream': { schema: { type: 'string' } } } };
    else responses[code] = { description: answer.description };
  }
  const codes: ErrorCode[] = [...commonErrors(access, route.method, validated), ...(doc.errors ?? [])];
  for (const [status, group] of byStatus(codes)) {
    responses[String(status) as `4${string}`] = { description: group.join(', '), content: { 'application/json': { schema: errorBody(group) } } };
  }
  const op: ZodOpenApiOperationObject = {
    operationId: doc.id,
    summary: doc.summary,
    ...(doc.description ? { description: doc.description } : {}),
    tags: [doc.tag],
    security: security(access, route),
    requestParams: {
      ...(Object.keys(pathShape).length ? { path: z.object(pathShape) } : {}),
      ...(query ? { query } : {}),
      ...(doc.headers ? { header: z.object(doc.headers) } : {}),
    },
    responses,
  };
  if (doc.body?.kind === 'file') {
    op.requestBody = { description: doc.body.description, required: true, content: { 'application/octet-stream': { schema: { type: 'string', contentMediaType: 'application/octet-stream' } } } };
  } else if (doc.body?.kind === 'json' || bodySchema) {
    op.requestBody = { required: true, content: { 'application/json': { schema: doc.body?.kind === 'json' ? doc.body.schema : bodySchema! } } };
  }
  return op;
}
