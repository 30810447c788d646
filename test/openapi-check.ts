// Checks an /api/v1 answer against the OpenAPI description the server serves
// (GET /api/v1/openapi.json, fetched once per server): its path and method
// must be described, its status listed, and a JSON body must match that
// status's schema (JSON Schema 2020-12, ajv). Used by the hooks on every test
// HTTP client (openapi-hooks.ts) so each API test checks what it receives.
import { Ajv2020 } from 'ajv/dist/2020.js';
import addFormats from 'ajv-formats';
import type { ValidateFunction } from 'ajv';

type Doc = { paths: Record<string, Record<string, { responses: Record<string, { content?: Record<string, { schema?: unknown }> }> }>> };

interface Described {
  doc: Doc;
  ajv: Ajv2020;
  /** Each path template as a regular expression, most literal first (`/tickets/queue` before `/tickets/{id}`). */
  templates: { template: string; pattern: RegExp }[];
  compiled: Map<string, ValidateFunction>;
}

const byOrigin = new Map<string, Promise<Described | null>>();
/** Servers of one build serve one document: its compiled schemas are shared. */
const byText = new Map<string, Described>();
const realFetch = globalThis.fetch;

/** The description a server serves (null: it serves none — not this product, or the server is gone). */
function describedAt(origin: string): Promise<Described | null> {
  let found = byOrigin.get(origin);
  if (!found) {
    found = realFetch(`${origin}/api/v1/openapi.json`, { signal: AbortSignal.timeout(10_000) }).then(
      async (res) => {
        // A test's own small app may answer anything there (even a stream): only a JSON document counts.
        if (!res.ok || !/^application\/json\b/.test(res.headers.get('content-type') ?? '')) {
          await res.body?.cancel();
          return null;
        }
        const text = await res.text();
        if (!text.includes('"openapi"')) return null;
        let described = byText.get(text);
        if (!described) byText.set(text, (described = prepare(JSON.parse(text) as Doc)));
        return described;
      },
      () => null,
    );
    byOrigin.set(origin, found);
  }
  return found;
}

function prepare(doc: Doc): Described {
  const ajv = new Ajv2020({ strict: false, allErrors: true });
  (addFormats as unknown as (a: Ajv2020) => void)(ajv);
  ajv.addSchema({ ...(doc as object), $id: 'openapi' });
  const templates = Object.keys(doc.paths)
    .map((template) => ({ template, pattern: new RegExp(`^${template.replace(/[.*+?^$()|[\]\\]/g, '\\$&').replace(/\{\w+\}/g, '[^/]+')}$`) }))
    .sort((a, b) => (a.template.match(/\{/g)?.length ?? 0) - (b.template.match(/\{/g)?.length ?? 0));
  return { doc, ajv, templates, compiled: new Map() };
}

const pointer = (...parts: string[]) => parts.map((p) => encodeURIComponent(p.replace(/~/g, '~0').replace(/\//g, '~1'))).join('/');

export interface Answer {
  method: string;
  url: string;
  status: number;
  contentType: string | undefined;
  /** The parsed JSON body, when the answer is JSON. */
  body: unknown;
}

/** Why `answer` does not match the description its server serves, or null when it does (or is not an /api/v1 answer). */
export async function mismatchOf(answer: Answer): Promise<string | null> {
  const url = new URL(answer.url);
  if (!url.pathname.startsWith('/api/v1/') || url.pathname === '/api/v1/openapi.json') return null;
  const described = await describedAt(url.origin);
  if (!described) return null;
  const method = answer.method.toLowerCase();
  const what = `${answer.method.toUpperCase()} ${url.pathname} → ${answer.status}`;
  const path = url.pathname.replace(/\/$/, '') || '/';
  const candidates = described.templates.filter((t) => t.pattern.test(path));
  const template = candidates.find((t) => described.doc.paths[t.template]?.[method])?.template;
  if (!template) {
    // Nothing serves it: only the catch-all's 404 may answer (and the body parser's refusals before it).
    if (answer.status === 404 || answer.status === 400 || answer.status === 413 || answer.status === 415) return null;
    return `${what}: no operation of the OpenAPI description matches ${answer.method.toUpperCase()} ${path} (describe the route in server/openapi/)`;
  }
  const responses = described.doc.paths[template]![method]!.responses;
  const response = responses[String(answer.status)];
  if (!response) {
    const code = (answer.body as { error?: { code?: string } } | undefined)?.error?.code;
    return `${what}${code ? ` (${code})` : ''}: status ${answer.status} is not described for ${answer.method.toUpperCase()} ${template} (it lists ${Object.keys(responses).join(', ')})`;
  }
  const isJson = /^application\/json\b/.test(answer.contentType ?? '');
  if (!isJson) return null;
  if (!response.content?.['application/json']) return `${what}: answered JSON, but the description says ${Object.keys(response.content ?? {}).join(', ') || 'no body'}`;
  // A refusal: the error envelope (one schema for all), its code among those listed for this status.
  const schema = response.content['application/json'].schema as { allOf?: { $ref?: string }[]; properties?: { error?: { properties?: { code?: { enum?: string[] } } } } };
  const codes = schema.allOf?.[0]?.$ref === '#/components/schemas/Error' ? (schema.properties?.error?.properties?.code?.enum ?? []) : null;
  if (codes) {
    const envelope = (described.compiled.get('Error') ?? described.compiled.set('Error', described.ajv.compile({ $ref: 'openapi#/components/schemas/Error' })).get('Error'))!;
    if (!envelope(answer.body)) return `${what}: not the error envelope { error: { code, message } }: ${JSON.stringify(answer.body).slice(0, 300)}`;
    const code = (answer.body as { error: { code: string } }).error.code;
    if (!codes.includes(code)) return `${what}: the code ${code} is not described for ${answer.method.toUpperCase()} ${template} ${answer.status} (it lists ${codes.join(', ')}): add it to the route's errors in server/openapi/`;
    return null;
  }
  const ref = `openapi#/${pointer('paths', template, method, 'responses', String(answer.status), 'content', 'application/json', 'schema')}`;
  let validate = described.compiled.get(ref);
  if (!validate) described.compiled.set(ref, (validate = described.ajv.compile({ $ref: ref })));
  if (validate(answer.body)) return null;
  const errors = (validate.errors ?? []).slice(0, 5).map((e) => `${e.instancePath || '(body)'} ${e.message ?? ''}${e.params && 'additionalProperty' in e.params ? ` (${String(e.params.additionalProperty)})` : ''}${e.params && 'allowedValues' in e.params ? ` (${JSON.stringify(e.params.allowedValues)})` : ''}`);
  return `${what}: the body does not match the OpenAPI description of ${answer.method.toUpperCase()} ${template} ${answer.status}: ${errors.join('; ')}\n  body: ${JSON.stringify(answer.body).slice(0, 600)}`;
}
