// What a route's description says beyond its input: a name, words, its
// answers per status and the error codes it may refuse with. Its input (path
// parameters, query, body) is not written here: the document reads it from
// the route's own `validate()` (routes-of.ts). One file per domain lists its
// routes (server/openapi/<domain>.ts); index.ts gathers them.
import { z } from 'zod';
import type { ZodOpenApiMediaTypeObject } from 'zod-openapi';
import { errorStatus, type ErrorCode } from '../errors.ts';

/** An answer that is not JSON: a file's bytes, a live stream, nothing. */
export type OtherContent =
  | { kind: 'file'; description: string }
  | { kind: 'events'; description: string }
  | { kind: 'empty'; description: string };

export type Answer = z.ZodType | OtherContent;

export interface RouteDoc {
  method: 'get' | 'post' | 'patch' | 'put' | 'delete';
  /** Under /api/v1, OpenAPI style: `/tickets/{id}/accept`. */
  path: string;
  /** The operation's id: unique, camelCase. */
  id: string;
  summary: string;
  description?: string;
  /** Successful answers by status (200, 201, 204…). */
  responses: Partial<Record<number, Answer>>;
  /** Codes this route may refuse with besides those every route of its kind may (see `commonErrors`). */
  errors?: readonly ErrorCode[];
  /** The request body when it is not JSON (an upload's raw bytes), or JSON the route parses itself. */
  body?: { kind: 'file'; description: string } | { kind: 'json'; schema: z.ZodType };
  /** Path parameters the route reads without a validator, with their schemas. */
  pathParams?: Record<string, z.ZodType>;
  /** Headers the route reads (Range, Last-Event-ID…). */
  headers?: Record<string, z.ZodType>;
}

export const file = (description: string): OtherContent => ({ kind: 'file', description });
export const events = (description: string): OtherContent => ({ kind: 'events', description });
export const empty = (description = 'Done; nothing to say'): OtherContent => ({ kind: 'empty', description });

export function isOther(answer: Answer): answer is OtherContent {
  return typeof (answer as OtherContent).kind === 'string' && !(answer instanceof z.ZodType);
}

/** How a route is reached, read from its guards and its place (routes-of.ts). */
export type Access = 'public' | 'staff' | 'admin' | 'web-session' | 'desktop' | 'desktop-create';

/**
 * The codes every route of a kind may answer with: the body parser's for a
 * request with a body, VALIDATION_FAILED where something is validated, the
 * credential's (cookie and CSRF, API token, client secret), and the outages.
 */
export function commonErrors(access: Access, method: RouteDoc['method'], validated: boolean): ErrorCode[] {
  const codes: ErrorCode[] = ['INTERNAL', 'DATABASE_UNAVAILABLE'];
  if (method !== 'get') codes.push('BAD_JSON', 'UNSUPPORTED_BODY', 'UNSUPPORTED_CHARSET', 'PAYLOAD_TOO_LARGE');
  if (validated) codes.push('VALIDATION_FAILED');
  // An Authorization: Bearer header on /api/v1 (but the desktop API) is read as an API token wherever it goes.
  if (access !== 'desktop' && access !== 'desktop-create') codes.push('API_TOKEN_INVALID', 'ACCOUNT_DISABLED', 'RATE_LIMITED');
  if (access === 'staff' || access === 'admin' || access === 'web-session') {
    codes.push('UNAUTHENTICATED', 'TWO_FACTOR_REQUIRED', 'LOCAL_LOGIN_OFF', 'API_TOKEN_SCOPE', 'WEB_SESSION_REQUIRED');
    if (method !== 'get') codes.push('CSRF_INVALID');
  }
  if (access === 'admin') codes.push('FORBIDDEN');
  if (access === 'desktop') codes.push('CLIENT_SECRET_INVALID', 'TICKET_NOT_FOUND');
  if (access === 'desktop-create') codes.push('CLIENT_KEY_INVALID', 'RATE_LIMITED');
  return codes;
}

/** Every refusal's body: `{ error: { code, message, details? } }` (server/errors.ts). */
export const ErrorEnvelope = z
  .object({
    error: z.object({
      code: z.string().describe('A stable code (server/errors.ts); each operation lists those it may answer, by status'),
      message: z.string().describe('In the reader’s language (Accept-Language or the account’s)'),
      details: z.unknown().optional().describe('What the code needs: the fields of a VALIDATION_FAILED, a scope, a wait…'),
    }),
  })
  .meta({ id: 'Error' });

/** The error envelope, its code one of `codes` (all of one status). */
export function errorBody(codes: readonly ErrorCode[]): NonNullable<ZodOpenApiMediaTypeObject['schema']> {
  return { allOf: [{ $ref: '#/components/schemas/Error' }], properties: { error: { properties: { code: { enum: [...codes] } } } } };
}

/** Codes grouped by their HTTP status. */
export function byStatus(codes: readonly ErrorCode[]): Map<number, ErrorCode[]> {
  const groups = new Map<number, ErrorCode[]>();
  for (const code of new Set(codes)) {
    const status = errorStatus[code];
    groups.set(status, [...(groups.get(status) ?? []), code]);
  }
  return groups;
}
