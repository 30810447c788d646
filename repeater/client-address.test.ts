// The client's own address behind proxies (TRUST_PROXY): the same rule as
// Express's req.ip / req.protocol, and a repeater that counts, reports and
// authorizes a leg as its client's — only when the leg comes from a proxy it
// trusts.
import { afterEach, describe, expect, it } from 'vitest';
import type { IncomingMessage } from 'node:http';
import express from 'express';
import { pino } from 'pino';
import { WebSocket } from 'ws';
import { Repeater } from './repeater.ts';
import { TokenBook } from './token-book.ts';
import { clientOrigin, compileTrustProxy, trustProxyProblem } from './client-address.ts';
import { loadRepeaterConfig } from './config.ts';
import type { LegRequest } from '../protocol/repeater.ts';

const request = (peer: string, headers: Record<string, string> = {}, encrypted = false) =>
  ({ socket: { remoteAddress: peer, encrypted }, connection: { remoteAddress: peer }, headers }) as unknown as IncomingMessage;

describe('compileTrustProxy', () => {
  it('reads TRUST_PROXY as Express does', () => {
    const values = ['loopback', 'false', 'true', '1', '2', '127.0.0.1', '10.0.0.0/8, loopback', 'uniquelocal', 'linklocal,::1'];
    const addresses = ['127.0.0.1', '127.0.0.5', '::1', '::ffff:127.0.0.1', '10.1.2.3', '192.168.1.1', '203.0.113.9', 'fe80::1', 'not-an-ip'];
    for (const value of values) {
      const app = express();
      app.set('trust proxy', value === 'true' ? true : value === 'false' ? false : /^\d+$/.test(value) ? Number(value) : value);
      const theirs = app.get('trust proxy fn') as (a: string, i: number) => boolean;
      const ours = compileTrustProxy(value);
      for (const address of addresses) for (const hop of [0, 1, 2, 3]) expect(ours(address, hop), `${value} ${address} ${hop}`).toBe(theirs(address, hop));
    }
  });

  it('names a value it cannot read, in the repeater process\'s configuration too', () => {
    expect(trustProxyProblem('loopback, 10.0.0.0/8')).toBeNull();
    expect(trustProxyProblem('nginx.example.com')).toMatch(/hop count/);
    const env = { REPEATER_SERVER_URL: 'http://127.0.0.1:8080', REPEATER_SECRET: 'x'.repeat(32) };
    expect(() => loadRepeaterConfig({ ...env, TRUST_PROXY: '10.0.0.0/99' })).toThrow(/TRUST_PROXY: must be true, false, a hop count/);
    expect(loadRepeaterConfig(env).trustProxy('127.0.0.1', 0)).toBe(true); // loopback by default, as the server
    expect(loadRepeaterConfig({ ...env, TRUST_PROXY: 'false' }).trustProxy('127.0.0.1', 0)).toBe(false);
  });
});

describe('clientOrigin', () => {
  const nginx = compileTrustProxy('127.0.0.1');

  it('behind a trusted proxy: the first untrusted hop from the right, and its X-Forwarded-Proto', () => {
    const o = clientOrigin(request('127.0.0.1', { 'x-forwarded-for': '198.51.100.1, 203.0.113.7', 'x-forwarded-proto': 'https' }), nginx);
    expect(o).toEqual({ address: '203.0.113.7', viaTrustedProxy: true, scheme: 'https', forwardedProto: 'https' });
  });

  it('a client that forges X-Forwarded-For through the proxy is still seen as itself', () => {
    expect(clientOrigin(request('127.0.0.1', { 'x-forwarded-for': '10.9.9.9, 127.0.0.9' }), nginx).address).toBe('127.0.0.9');
  });

  it('from an untrusted peer every X-Forwarded-* header is ignored', () => {
    const o = clientOrigin(request('127.0.0.2', { 'x-forwarded-for': '203.0.113.7', 'x-forwarded-proto': 'https' }), nginx);
    expect(o).toEqual({ address: '127.0.0.2', viaTrustedProxy: false, scheme: 'http', forwardedProto: null });
    expect(clientOrigin(request('127.0.0.2', {}, true), nginx).scheme).toBe('https');
  });

  it('a trusted proxy without the header is itself the client; a hop count trusts that many hops', () => {
    expect(clientOrigin(request('127.0.0.1'), nginx).address).toBe('127.0.0.1');
    const o = clientOrigin(request('10.0.0.1', { 'x-forwarded-for': '203.0.113.1, 10.0.0.2' }), compileTrustProxy('2'));
    expect(o.address).toBe('203.0.113.1');
  });
});

describe('a repeater behind a proxy', () => {
  let repeater: Repeater | null = null;
  const open: WebSocket[] = [];
  afterEach(async () => {
    for (const ws of open.splice(0)) ws.terminate();
    await repeater?.close();
    repeater = null;
  });

  async function start(trustProxy?: string) {
    const book = new TokenBook();
    const seen: LegRequest[] = [];
    const r = new Repeater({
      authorizeLeg: (req) => (seen.push(req), book.authorize(req)),
      logger: pino({ level: 'silent' }),
      options: { maxLegsPerAddress: 2, maxPendingUpgradesPerAddress: 2 },
      ...(trustProxy ? { trustProxy: compileTrustProxy(trustProxy) } : {}),
    });
    repeater = r;
    const { port } = await r.listen(0);
    const waiting: { ticketId: string; remoteAddress: string }[] = [];
    r.on('legWaiting', (e) => waiting.push(e));
    /** A desktop leg from `from`, as nginx forwards it for `client`; resolves with the status (101 when it opened). */
    const leg = (ticketId: string, from: string, client: string | null) =>
      new Promise<number>((resolve, reject) => {
        const headers: Record<string, string> = client ? { 'x-forwarded-for': client, 'x-forwarded-proto': 'https' } : {};
        const ws = new WebSocket(`ws://127.0.0.1:${port}/wsServer?token=${book.issue(ticketId, 'desktop')}`, { headers, localAddress: from });
        open.push(ws);
        ws.once('open', () => resolve(101));
        ws.once('unexpected-response', (_req, res) => resolve(res.statusCode ?? 0));
        ws.once('error', reject);
      });
    return { leg, seen, waiting };
  }

  it('counts each client behind a trusted proxy to its own limit, and names it to the authorizer and in its events', async () => {
    const { leg, seen, waiting } = await start('127.0.0.1');
    expect(await leg('A1', '127.0.0.1', '203.0.113.1')).toBe(101);
    expect(await leg('A2', '127.0.0.1', '203.0.113.1')).toBe(101);
    expect(await leg('A3', '127.0.0.1', '203.0.113.1')).toBe(429); // that client's third leg
    for (let i = 0; i < 4; i++) expect(await leg(`B${i}`, '127.0.0.1', `203.0.113.${10 + i}`)).toBe(101); // the others, through the same proxy
    expect(seen[0]).toMatchObject({ remoteAddress: '203.0.113.1', scheme: 'https', forwardedProto: 'https' });
    expect(waiting.map((w) => w.remoteAddress)).toEqual(['203.0.113.1', '203.0.113.1', '203.0.113.10', '203.0.113.11', '203.0.113.12', '203.0.113.13']);
  });

  it('ignores X-Forwarded-For from a peer it does not trust, and trusts no one by default', async () => {
    const { leg, seen } = await start('127.0.0.1');
    expect(await leg('C1', '127.0.0.2', '203.0.113.1')).toBe(101);
    expect(await leg('C2', '127.0.0.2', '203.0.113.2')).toBe(101);
    expect(await leg('C3', '127.0.0.2', '203.0.113.3')).toBe(429); // all 127.0.0.2's
    expect(seen[0]).toMatchObject({ remoteAddress: '127.0.0.2', scheme: 'http', forwardedProto: null });
    await repeater!.close();
    const plain = await start();
    expect(await plain.leg('D1', '127.0.0.1', '203.0.113.1')).toBe(101);
    expect(plain.seen[0]).toMatchObject({ remoteAddress: '127.0.0.1', forwardedProto: null });
  });
});
