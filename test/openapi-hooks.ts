// Every /api/v1 answer a test receives is checked against the OpenAPI
// description its server serves (openapi-check.ts): supertest's requests
// (harness.api, each technician's agent, request(url)) fail at once with the
// mismatch; answers to fetch (the desktop client's core, raw uploads) are
// noted and fail the test that got them when it ends. A vitest setup file
// (vitest.config.ts `setupFiles`), so no test has to ask for it.
import { afterEach } from 'vitest';
import { Test } from 'supertest';
import { mismatchOf } from './openapi-check.ts';

const noted: string[] = [];

type Assert = (resError: unknown, res: SuperRes | undefined, fn: (err: unknown, res?: SuperRes) => void) => void;
interface SuperRes {
  status: number;
  headers: Record<string, string | undefined>;
  body: unknown;
}

const proto = Test.prototype as unknown as { assert: Assert; method: string; url: string };
const originalAssert = proto.assert;
proto.assert = function assertDescribed(this: typeof proto, resError, res, fn) {
  if (!res) return originalAssert.call(this, resError, res, fn);
  const contentType = res.headers['content-type'];
  // A body kept as bytes (`.buffer().parse(…)` for files) is read here as the JSON it says it is.
  let body = res.body;
  if (Buffer.isBuffer(body) && /^application\/json\b/.test(contentType ?? '')) {
    try {
      body = JSON.parse(body.toString('utf8')) as unknown;
    } catch (err) {
      if (!(err instanceof SyntaxError)) throw err; // not JSON after all: the schema check says so
    }
  }
  mismatchOf({ method: this.method, url: this.url, status: res.status, contentType, body }).then(
    (mismatch) => {
      if (!mismatch) return originalAssert.call(this, resError, res, fn);
      noted.push(mismatch);
      fn(new Error(mismatch), res);
    },
    (err: unknown) => fn(err, res),
  );
};

const realFetch = globalThis.fetch;
globalThis.fetch = async function fetchDescribed(input: Parameters<typeof fetch>[0], init?: RequestInit): Promise<Response> {
  const res = await realFetch(input, init);
  const url = typeof input === 'string' ? input : input instanceof URL ? input.href : input.url;
  const method = init?.method ?? (input instanceof Request ? input.method : 'GET');
  if (!/^https?:\/\/[^/]+\/api\/v1\//.test(url)) return res;
  const contentType = res.headers.get('content-type') ?? undefined;
  const json = /^application\/json\b/.test(contentType ?? '');
  const body: unknown = json ? await res.clone().json().catch(() => undefined) : undefined;
  const mismatch = await mismatchOf({ method, url, status: res.status, contentType, body });
  if (mismatch) noted.push(mismatch);
  return res;
};

afterEach(() => {
  if (noted.length === 0) return;
  const found = noted.splice(0);
  throw new Error(`Answers that do not match the OpenAPI description (server/openapi/):\n${found.join('\n')}`);
});
