// `ws`'s own rules for close codes (the repeater checks close frames exactly as
// `ws` does, so a browser never receives a code it must fail on).
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';

interface WsValidation {
  isValidStatusCode(this: void, code: number): boolean;
}

const require = createRequire(import.meta.url);

/** One of `ws`'s own modules (its package exports hide lib/: the file is required by its path). */
export function wsModule<T>(file: string): T {
  return require(join(dirname(require.resolve('ws')), 'lib', file)) as T;
}

const validation = wsModule<WsValidation>('validation.js');

/** Whether a close frame may carry `code` (RFC 6455 §7.4: never 1004–1006, 1015, or below 1000). */
export const isValidStatusCode: (code: number) => boolean = validation.isValidStatusCode;
