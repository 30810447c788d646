import type { Request } from 'express';

/** The origin clients reach this server at: PUBLIC_URL when set, else the request's own. */
export function publicOrigin(req: Request, publicUrl: string | null): string {
  return publicUrl ?? `${req.protocol}://${req.get('host') ?? 'localhost'}`;
}

/** The websocket URL of a repeater path: on the repeater process when one is configured, else on this server. */
export function websocketUrl(req: Request, publicUrl: string | null, path: string, token: string, repeaterUrl: string | null = null): string {
  const origin = repeaterUrl ?? publicOrigin(req, publicUrl).replace(/^http/, 'ws');
  return `${origin}${path}?token=${encodeURIComponent(token)}`;
}
