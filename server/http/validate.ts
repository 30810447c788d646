// Validation at the edge, once (Outline's `validate` pattern): a route names
// the schemas of its path parameters, query and body; the middleware parses
// them before the handler runs (a VALIDATION_FAILED error naming the fields
// otherwise), and the handler reads the typed result with `input(req)`.
// Services receive that typed input and never parse `unknown` again.
//
//   const accept = validate({ params: ticketParams });
//   router.post('/:id/accept', accept, async (req, res) => {
//     const { params } = accept.input(req);   // { id: number }
//   });
import type { Request, RequestHandler } from 'express';
import type { z } from 'zod';
import { parseOrThrow } from '../errors.ts';

export interface Schemas {
  params?: z.ZodType;
  query?: z.ZodType;
  body?: z.ZodType;
}

type Out<S> = S extends z.ZodType ? z.output<S> : undefined;

export interface Input<S extends Schemas> {
  params: Out<S['params']>;
  query: Out<S['query']>;
  body: Out<S['body']>;
}

export interface Validator<S extends Schemas> extends RequestHandler {
  /** The schemas it parses with (the OpenAPI description reads them from the routes: server/openapi/). */
  readonly schemas: S;
  /** The parsed input of a request this validator has passed. */
  input(req: Request): Input<S>;
  /** Parses a request now (throws VALIDATION_FAILED): for handlers that report errors their own way, like a form's flash. */
  parse(req: Request): Input<S>;
}

const parsed = new WeakMap<Request, Map<Schemas, unknown>>();

/**
 * A middleware that parses `req.params`, `req.query` and `req.body` with the
 * given schemas. Each schema's description (`.describe('ticket id')`) names it
 * in the error; else the part's name does. An empty body is parsed as `{}`.
 */
export function validate<S extends Schemas>(schemas: S): Validator<S> {
  const parse = (req: Request): Input<S> => {
    const input: Record<string, unknown> = {};
    for (const part of ['params', 'query', 'body'] as const) {
      const schema = schemas[part];
      if (!schema) continue;
      const raw: unknown = part === 'body' ? (req.body ?? {}) : req[part];
      input[part] = parseOrThrow(schema, raw, schema.description ?? part);
    }
    return input as unknown as Input<S>;
  };
  const middleware: RequestHandler = (req, _res, next) => {
    const input = parse(req);
    let byValidator = parsed.get(req);
    if (!byValidator) parsed.set(req, (byValidator = new Map<Schemas, unknown>()));
    byValidator.set(schemas, input);
    next();
  };
  return Object.assign(middleware, {
    schemas,
    parse,
    input(req: Request): Input<S> {
      const input = parsed.get(req)?.get(schemas);
      if (!input) throw new Error('validate(): input(req) read on a route this validator does not guard');
      return input as Input<S>;
    },
  });
}
