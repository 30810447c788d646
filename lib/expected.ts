// Catch handlers that name what they expect. A failure that is part of the
// plan (a file already gone, a best-effort call after the session ended) is
// let go by name; anything else still throws or is reported. A bare
// `.catch(() => undefined)` is refused by the lint (eslint.config.js).

/** Lets go of errors with one of these `code`s (e.g. 'ENOENT': already gone), rethrows the rest. */
export function ignoreCodes(...codes: string[]): (err: unknown) => undefined {
  return (err: unknown) => {
    const code = (err as { code?: unknown } | null)?.code;
    if (typeof code === 'string' && codes.includes(code)) return undefined;
    throw err;
  };
}

/** For a promise whose failure is met elsewhere (another await on it, the same promise): marks it handled here. */
export function handledElsewhere(_err: unknown): undefined {
  return undefined;
}
