// The routes an Express application really serves under a prefix, read from
// its router stack: each route's method and path (OpenAPI style, `{id}`), the
// schemas its `validate()` middlewares parse with (server/http/validate.ts),
// and the names of the guards it passes (requireTechnician, requireAdmin,
// requireWebSession). The description takes its request schemas from here, so
// what it says a route accepts is what the route validates; the drift test
// (server/openapi/openapi.test.ts) compares these routes with the descriptions.
import type { Application } from 'express';
import type { Schemas } from '../http/validate.ts';

export interface ServedRoute {
  method: 'get' | 'post' | 'patch' | 'put' | 'delete';
  /** Full path, parameters as `{name}` (`/api/v1/tickets/{id}/accept`). */
  path: string;
  /** Every validator on the way, outermost first (a router's `use('/:id', byId)` included). */
  schemas: Schemas[];
  /** Names of the guard middlewares on the way. */
  guards: string[];
}

/** Router internals read here (the `router` package of Express 5: `rawPath` on each layer). */
interface Layer {
  rawPath?: unknown;
  name: string;
  method?: string;
  handle: ((...args: unknown[]) => unknown) & { stack?: Layer[]; schemas?: Schemas };
  route?: { path: unknown; stack: Layer[]; methods: Record<string, boolean> };
  match(path: string): boolean;
}

const GUARDS = new Set(['requireTechnician', 'requireAdmin', 'requireWebSession']);
const METHODS = new Set<ServedRoute['method']>(['get', 'post', 'patch', 'put', 'delete']);

/** The routes of `app` whose path starts with `prefix`, sorted by path then method. */
export function routesOf(app: Application, prefix = '/api/v1'): ServedRoute[] {
  const router = (app as unknown as { router: { stack: Layer[] } }).router;
  const found: ServedRoute[] = [];
  walk(router.stack, '', [], found);
  return found
    .filter((r) => r.path === prefix || r.path.startsWith(`${prefix}/`))
    .sort((a, b) => a.path.localeCompare(b.path) || a.method.localeCompare(b.method));
}

interface Middleware {
  layer: Layer;
}

function walk(stack: Layer[], base: string, outer: Middleware[], found: ServedRoute[]): void {
  // Middlewares of this router seen so far: each applies to the routes after it that it matches.
  const before: Middleware[] = [];
  for (const layer of stack) {
    const raw = layer.rawPath;
    if (typeof raw !== 'string') {
      before.push({ layer });
      continue;
    }
    if (layer.route) {
      const routePath = join(base, raw);
      const sample = samplePath(raw);
      const applying = [...outer, ...before.filter((m) => m.layer.match(sample)).map((m) => ({ layer: m.layer }))];
      for (const method of Object.keys(layer.route.methods)) {
        if (!METHODS.has(method as ServedRoute['method'])) continue;
        const handlers = layer.route.stack.filter((l) => l.method === undefined || l.method === method);
        const all = [...applying.map((m) => m.layer), ...handlers];
        found.push({
          method: method as ServedRoute['method'],
          path: openApiPath(routePath),
          schemas: all.map((l) => l.handle.schemas).filter((s): s is Schemas => s !== undefined),
          guards: all.map((l) => l.name).filter((n) => GUARDS.has(n)),
        });
      }
      continue;
    }
    if (Array.isArray(layer.handle.stack)) {
      // A mounted router: its routes apply this router's earlier middlewares that match its mount path.
      const sample = samplePath(raw);
      const applying = [...outer, ...before.filter((m) => m.layer.match(sample))];
      walk(layer.handle.stack, join(base, raw), applying, found);
      continue;
    }
    before.push({ layer });
  }
}

function join(base: string, path: string): string {
  const joined = `${base}/${path}`.replace(/\/+/g, '/');
  return joined.length > 1 ? joined.replace(/\/$/, '') : joined;
}

/** A concrete path a layer's matcher can test (`/:id/files` → `/1/files`). */
function samplePath(path: string): string {
  return path.replace(/:(\w+)/g, '1');
}

/** Express's `/:id` → OpenAPI's `/{id}`. */
export function openApiPath(path: string): string {
  return path.replace(/:(\w+)/g, '{$1}');
}
