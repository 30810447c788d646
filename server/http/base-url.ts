import type { Request } from 'express';
import { sidePaths, type LegSide } from '../../protocol/repeater.ts';

/** The origin clients reach this server at: PUBLIC_URL when set, else the request's own. */
export function publicOrigin(req: Request, publicUrl: string | null): string {
  return publicUrl ?? `${req.protocol}://${req.get('host') ?? 'localhost'}`;
}

/** The websocket URL of a repeater path: on the repeater process when one is configured, else on this server. */
export function websocketUrl(req: Request, publicUrl: string | null, path: string, token: string, repeaterUrl: string | null = null): string {
  const origin = repeaterUrl ?? publicOrigin(req, publicUrl).replace(/^http/, 'ws');
  return `${origin}${path}?token=${encodeURIComponent(token)}`;
}

/** Where a ticket's legs connect: REPEATER_PUBLIC_URL, the node carrying the ticket, or this server. */
export interface LegUrlPolicy {
  publicUrl: string | null;
  /** The repeater process's public URL (ws:// or wss://), when the repeater runs on its own. */
  repeaterUrl: string | null;
  /** With repeater nodes: the URL of the node carrying a ticket (null: repeaterUrl). */
  repeaterUrlFor?: ((ticketId: number) => Promise<string | null>) | null;
}

/** The websocket URL a leg token is used at. */
export async function legUrl(req: Request, policy: LegUrlPolicy, ticketId: number, side: LegSide, token: string): Promise<string> {
  const repeaterUrl = (await policy.repeaterUrlFor?.(ticketId)) ?? policy.repeaterUrl;
  return websocketUrl(req, policy.publicUrl, sidePaths[side], token, repeaterUrl);
}
