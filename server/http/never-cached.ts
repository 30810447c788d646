// Answers that carry a secret or a token — a help request's client secret, a
// pairing token, a TOTP secret or recovery codes, a generated password, a CSRF
// token — must not be kept by a browser's or a proxy's cache.
import type { RequestHandler } from 'express';

export const neverCached: RequestHandler = (_req, res, next) => {
  res.set('Cache-Control', 'no-store');
  next();
};
