// How the client reaches the server: fetch (undici) and websockets, both
// through HTTPS_PROXY/HTTP_PROXY unless NO_PROXY matches the host, and both
// trusting an extra CA when one is configured.
import { Agent, ProxyAgent, fetch as undiciFetch, type Dispatcher } from 'undici';
import { HttpsProxyAgent } from 'https-proxy-agent';
import type { ClientOptions } from 'ws';
import type { ClientConfig } from './config.ts';

export interface Transport {
  /** A body is text, or a stream (a file upload, sent with duplex: 'half'). */
  fetch(url: string, init?: { method?: string; headers?: Record<string, string>; body?: string | ReadableStream<Uint8Array>; duplex?: 'half'; signal?: AbortSignal }): Promise<Response>;
  wsOptions(url: string): ClientOptions;
  /** The proxy a URL goes through, or null (for diagnostics and tests). */
  proxyFor(url: string): string | null;
}

export function createTransport(config: Pick<ClientConfig, 'ca' | 'proxy'>): Transport {
  const tls = config.ca ? { ca: config.ca } : {};
  const direct = new Agent({ connect: tls });
  const proxied = new Map<string, Dispatcher>();
  const proxyFor = (url: string): string | null => selectProxy(url, config.proxy);
  return {
    proxyFor,
    fetch(url, init = {}) {
      const proxy = proxyFor(url);
      let dispatcher: Dispatcher = direct;
      if (proxy) {
        dispatcher = proxied.get(proxy) ?? new ProxyAgent({ uri: proxy, requestTls: tls, proxyTls: tls });
        proxied.set(proxy, dispatcher);
      }
      return undiciFetch(url, { ...(init as Parameters<typeof undiciFetch>[1]), dispatcher }) as unknown as Promise<Response>;
    },
    wsOptions(url) {
      const proxy = proxyFor(url.replace(/^ws/, 'http'));
      return { ...tls, ...(proxy ? { agent: new HttpsProxyAgent(proxy, tls) } : {}) };
    },
  };
}

/** Standard proxy variables: NO_PROXY entries are hosts, .domains, host:port or "*". */
export function selectProxy(url: string, proxy: ClientConfig['proxy']): string | null {
  const target = new URL(url);
  const chosen = target.protocol === 'https:' || target.protocol === 'wss:' ? proxy.httpsProxy : proxy.httpProxy;
  if (!chosen) return null;
  const host = target.hostname.toLowerCase().replace(/^\[|\]$/g, '');
  const port = target.port || (target.protocol === 'https:' || target.protocol === 'wss:' ? '443' : '80');
  for (const raw of proxy.noProxy.split(/[,\s]+/).filter(Boolean)) {
    const entry = raw.toLowerCase();
    if (entry === '*') return null;
    const [entryHost, entryPort] = entry.startsWith('[') ? [entry.slice(1, entry.indexOf(']')), entry.split(']:')[1]] : entry.split(':');
    if (entryPort && entryPort !== port) continue;
    const bare = entryHost.replace(/^\*?\./, '');
    if (host === bare || host.endsWith(`.${bare}`)) return null;
  }
  return chosen;
}
