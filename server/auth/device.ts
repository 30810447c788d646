// The remembered browser: a random token in a cookie (hd.device), sent at each
// completed login and recorded, hashed, for that account beside the addresses
// it logged in from (technicians/login-throttle.ts). A browser the account
// logged in from in the last 90 days is spared the per-account ceiling on
// failed logins wherever it connects from, as a known address is. The token
// grants nothing else: the password and code are still checked, the
// per-address lock still applies, and it counts only for the accounts that
// completed a login with it (an administrator's password reset forgets it).
import type { Request, Response } from 'express';
import { randomToken } from '../../lib/crypto.ts';

const COOKIE = 'hd.device';
/** As long as an address stays known (login-throttle.ts). */
const REMEMBERED_MS = 90 * 24 * 3_600_000;
/** randomToken(): 32 bytes, base64url. */
const TOKEN = /^[A-Za-z0-9_-]{43}$/;

/** A token minted for a request whose browser sent none: recorded only if its login completes. */
const minted = new WeakMap<Request, string>();

/** The browser's device token (one is minted for this request if it sent none, or a malformed one). */
export function deviceOf(req: Request): string {
  const sent = (req.headers.cookie ?? '')
    .split(';')
    .map((part) => part.trim())
    .find((part) => part.startsWith(`${COOKIE}=`))
    ?.slice(COOKIE.length + 1);
  if (sent && TOKEN.test(sent)) return sent;
  let token = minted.get(req);
  if (!token) minted.set(req, (token = randomToken()));
  return token;
}

/** After a completed login: the browser keeps its device token 90 more days (secure as the session's cookie is). */
export function keepDevice(req: Request, res: Response): void {
  res.cookie(COOKIE, deviceOf(req), { httpOnly: true, sameSite: 'lax', secure: req.session.cookie.secure === true, maxAge: REMEMBERED_MS, path: '/' });
}
