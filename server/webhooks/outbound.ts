// One webhook attempt on the wire: the host is resolved here and every
// address it names is checked (loopback, private, link-local, unique-local,
// multicast and reserved ones are refused unless WEBHOOK_ALLOW_PRIVATE=on);
// the connection goes to the address checked — the request's own lookup is
// replaced, so a DNS answer that changes between the check and the connect
// (rebinding) cannot swap it. A connect timeout and a total timeout; a
// redirect is never followed (it is a failed attempt, in words); at most
// RESPONSE_KEEP_BYTES of the answer are read.
import { lookup as dnsLookup } from 'node:dns/promises';
import { request as httpRequest, type IncomingMessage } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { BlockList, isIP, type LookupFunction } from 'node:net';

/** How much of a receiver's answer is read (the rest is dropped with the connection). */
export const RESPONSE_KEEP_BYTES = 4096;

export interface AttemptResult {
  ok: boolean;
  /** The HTTP status the receiver answered (null: no answer). */
  status: number | null;
  /** Why it failed, in words (null when it was delivered). */
  error: string | null;
}

export interface OutboundOptions {
  allowPrivate: boolean;
  connectTimeoutMs: number;
  timeoutMs: number;
  /** Aborts the attempt (the server is shutting down): its outcome is unknown, so it is not recorded. */
  signal?: AbortSignal;
}

const refused = new BlockList();
for (const [net, prefix] of [
  ['0.0.0.0', 8], ['10.0.0.0', 8], ['100.64.0.0', 10], ['127.0.0.0', 8], ['169.254.0.0', 16], ['172.16.0.0', 12], ['192.0.0.0', 24],
  ['192.0.2.0', 24], ['192.168.0.0', 16], ['198.18.0.0', 15], ['198.51.100.0', 24], ['203.0.113.0', 24], ['224.0.0.0', 4], ['240.0.0.0', 4],
] as const) refused.addSubnet(net, prefix, 'ipv4');
// Also local-use NAT64, 6to4 (2002::/16) and site-local (fec0::/10) (found by review); the forms that carry an
// IPv4 address (IPv4-compatible ::a.b.c.d, IPv4-translated ::ffff:0:a.b.c.d) are refused in addressRefusal.
for (const [net, prefix] of [['::', 128], ['::1', 128], ['fc00::', 7], ['fe80::', 10], ['fec0::', 10], ['ff00::', 8], ['64:ff9b::', 96], ['64:ff9b:1::', 48], ['100::', 64], ['2001:db8::', 32], ['2002::', 16]] as const) {
  refused.addSubnet(net, prefix, 'ipv6');
}

/** Why an address may not receive webhooks (null: it may). */
export function addressRefusal(address: string): string | null {
  const family = isIP(address);
  if (family === 0) return `${address} is not an IP address`;
  // An IPv4 address written as IPv6 (::ffff:10.0.0.1) is checked as IPv4.
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address)?.[1];
  if (mapped) return addressRefusal(mapped);
  // IPv4-translated (::ffff:0:a.b.c.d) and IPv4-compatible (::a.b.c.d, ::7f00:1): never a webhook's receiver.
  if (/^::ffff:0:/i.test(address) || /^::(\d+\.\d+\.\d+\.\d+|[0-9a-f]{1,4}:[0-9a-f]{1,4})$/i.test(address)) return `${address} is a loopback, private, link-local, unique-local, multicast or reserved address`;
  const hex = /^::ffff:([0-9a-f]{1,4}):([0-9a-f]{1,4})$/i.exec(address);
  if (hex) {
    const [high, low] = [parseInt(hex[1]!, 16), parseInt(hex[2]!, 16)];
    return addressRefusal(`${high >> 8}.${high & 255}.${low >> 8}.${low & 255}`);
  }
  return refused.check(address, family === 4 ? 'ipv4' : 'ipv6') ? `${address} is a loopback, private, link-local, unique-local, multicast or reserved address` : null;
}

/** The address to connect to for `url`'s host, checked; throws in words when refused or not found. */
export async function resolveChecked(url: URL, allowPrivate: boolean, timeoutMs = 5_000): Promise<{ address: string; family: 4 | 6 }> {
  const host = url.hostname.replace(/^\[(.*)\]$/, '$1');
  // The lookup is bounded too (a slow resolver must not outlast the attempt's lease).
  const found = isIP(host) ? [{ address: host, family: isIP(host) }] : await Promise.race([
    dnsLookup(host, { all: true, verbatim: true }),
    new Promise<never>((_resolve, reject) => setTimeout(() => reject(Object.assign(new Error('timed out'), { code: 'ETIMEOUT' })), timeoutMs).unref()),
  ]).catch((err: unknown) => {
    throw new Error(`the name ${host} could not be resolved (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`);
  });
  if (found.length === 0) throw new Error(`the name ${host} has no address`);
  if (!allowPrivate) {
    // Every address the name gives must be allowed: one private address among public ones is refused too.
    for (const a of found) {
      const why = addressRefusal(a.address);
      if (why) throw new Error(`refused: ${host === a.address ? '' : `${host} resolves to `}${why} (set WEBHOOK_ALLOW_PRIVATE=on to allow)`);
    }
  }
  const first = found[0]!;
  return { address: first.address, family: first.family === 6 ? 6 : 4 };
}

/** POSTs `body` to `url` with `headers`; never throws: the outcome says what happened. */
export async function postWebhook(url: string, headers: Record<string, string>, body: string, options: OutboundOptions): Promise<AttemptResult> {
  const target = new URL(url);
  let pinned: { address: string; family: 4 | 6 };
  try {
    pinned = await resolveChecked(target, options.allowPrivate, options.connectTimeoutMs);
  } catch (err) {
    return { ok: false, status: null, error: (err as Error).message };
  }
  // The connection goes to the address checked, whatever the resolver would say now.
  const lookup: LookupFunction = (_host, opts, callback) => {
    if ((opts as { all?: boolean }).all) (callback as unknown as (e: null, a: { address: string; family: number }[]) => void)(null, [pinned]);
    else callback(null, pinned.address, pinned.family);
  };
  const send = target.protocol === 'https:' ? httpsRequest : httpRequest;
  return new Promise<AttemptResult>((resolve) => {
    let settled = false;
    const finish = (result: AttemptResult): void => {
      if (settled) return;
      settled = true;
      clearTimeout(total);
      clearTimeout(connect);
      req.destroy();
      resolve(result);
    };
    const req = send(target, {
      method: 'POST',
      lookup,
      agent: false,
      headers: { 'content-type': 'application/json', 'content-length': String(Buffer.byteLength(body)), 'user-agent': 'helpdesk-webhooks/1', ...headers },
    });
    const total = setTimeout(() => finish({ ok: false, status: null, error: `no answer within ${options.timeoutMs} ms (WEBHOOK_TIMEOUT_MS)` }), options.timeoutMs);
    const connect = setTimeout(() => finish({ ok: false, status: null, error: `could not connect to ${pinned.address} within ${options.connectTimeoutMs} ms (WEBHOOK_CONNECT_TIMEOUT_MS)` }), options.connectTimeoutMs);
    options.signal?.addEventListener('abort', () => finish({ ok: false, status: null, error: 'aborted: this server is shutting down' }), { once: true });
    req.on('socket', (socket) => socket.once(target.protocol === 'https:' ? 'secureConnect' : 'connect', () => clearTimeout(connect)));
    req.on('error', (err: NodeJS.ErrnoException) => finish({ ok: false, status: null, error: `${err.code ?? 'error'}: ${err.message}`.slice(0, 400) }));
    req.on('response', (res: IncomingMessage) => {
      clearTimeout(connect);
      const status = res.statusCode ?? 0;
      let kept = 0;
      res.on('data', (chunk: Buffer) => {
        kept += chunk.length;
        if (kept >= RESPONSE_KEEP_BYTES) done();
      });
      res.on('end', () => done());
      res.on('error', () => done());
      const done = (): void => {
        if (status >= 200 && status < 300) return finish({ ok: true, status, error: null });
        if (status >= 300 && status < 400) {
          const where = String(res.headers.location ?? 'nowhere named').slice(0, 300);
          return finish({ ok: false, status, error: `the receiver redirected to ${where}; redirects are never followed: register the final URL` });
        }
        finish({ ok: false, status, error: `the receiver answered HTTP ${status}` });
      };
    });
    req.end(body);
  });
}
