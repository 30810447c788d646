// The client's own address and scheme behind proxies, by TRUST_PROXY — one
// rule for the server (Express's `trust proxy`, set from compileTrustProxy)
// and the repeater, embedded or a node: X-Forwarded-For is walked from the
// right (proxy-addr) while each hop is an address TRUST_PROXY trusts; the
// first one it does not trust is the client. X-Forwarded-Proto is believed
// only from a trusted peer. Without a trusted proxy in front, the socket's
// peer is the client and every X-Forwarded-* header is ignored.
import type { IncomingMessage } from 'node:http';
import proxyAddr from 'proxy-addr';

/** Whether the address `hop` steps from the socket (0: the peer itself) is a proxy to believe. */
export type TrustProxy = (address: string, hop: number) => boolean;

/** The longest address kept (what the audit and the repeater link hold). */
const MAX_ADDRESS = 64;

/**
 * TRUST_PROXY's value as Express reads it: `true` (every hop), `false`
 * (none), a hop count (`2`), or a comma-separated list of addresses, CIDR
 * ranges and the names `loopback`, `linklocal`, `uniquelocal`. Throws on an
 * address or range it cannot read.
 */
export function compileTrustProxy(value: string): TrustProxy {
  const v = value.trim();
  if (v === 'true') return () => true;
  if (v === 'false') return () => false;
  if (/^\d+$/.test(v)) {
    const hops = Number(v);
    return (_address, hop) => hop < hops;
  }
  return proxyAddr.compile(v.split(',').map((part) => part.trim()));
}

/** Why a TRUST_PROXY value cannot be used, or null when it can (for configuration errors in words). */
export function trustProxyProblem(value: string): string | null {
  try {
    compileTrustProxy(value);
    return null;
  } catch (err) {
    return `must be true, false, a hop count, or addresses, CIDR ranges, loopback, linklocal, uniquelocal separated by commas (${(err as Error).message})`;
  }
}

export interface ClientOrigin {
  /** The client's address: the socket's peer, or from X-Forwarded-For through trusted proxies. */
  address: string;
  /** Whether the socket's peer is a proxy TRUST_PROXY trusts. */
  viaTrustedProxy: boolean;
  /** The scheme the client used: the socket's own TLS, or a trusted peer's X-Forwarded-Proto. */
  scheme: 'http' | 'https';
  /** X-Forwarded-Proto from a trusted peer (as received), else null. */
  forwardedProto: string | null;
}

/** Where a request really comes from, by `trust` (as Express's req.ip and req.protocol read it). */
export function clientOrigin(req: IncomingMessage, trust: TrustProxy): ClientOrigin {
  const peer = req.socket.remoteAddress;
  const own: 'http' | 'https' = (req.socket as { encrypted?: boolean }).encrypted ? 'https' : 'http';
  if (peer === undefined) return { address: 'unknown', viaTrustedProxy: false, scheme: own, forwardedProto: null };
  const viaTrustedProxy = trust(peer, 0);
  if (!viaTrustedProxy) return { address: peer, viaTrustedProxy, scheme: own, forwardedProto: null };
  const address = (proxyAddr(req, trust) || peer).slice(0, MAX_ADDRESS);
  const header = req.headers['x-forwarded-proto'];
  const forwardedProto = (Array.isArray(header) ? header[0] : header) ?? null;
  const first = forwardedProto?.split(',')[0]?.trim().toLowerCase();
  return { address, viaTrustedProxy, scheme: first === 'https' || first === 'http' ? first : own, forwardedProto };
}
