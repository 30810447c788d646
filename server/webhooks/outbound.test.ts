// The outbound side alone: which addresses are refused, the backoff's bounds,
// a body past its bound, and one attempt against a real receiver on loopback
// — refused without WEBHOOK_ALLOW_PRIVATE (by address and by name, the
// receiver never reached), cut at its timeout, a redirect not followed.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { addressRefusal, postWebhook } from './outbound.ts';
import { backoffMs } from './worker.ts';
import { boundedBody, MAX_PAYLOAD_BYTES } from './outbox.ts';
import { startWebhookReceiver, type WebhookReceiver } from '../../test/webhook-receiver.ts';

let receiver: WebhookReceiver;
beforeAll(async () => void (receiver = await startWebhookReceiver()));
afterAll(async () => receiver?.close());

const options = { allowPrivate: false, connectTimeoutMs: 500, timeoutMs: 1000 };

describe('webhook outbound requests', () => {
  it('refuses loopback, private, link-local, unique-local, multicast and reserved addresses, and lets public ones through', () => {
    for (const a of ['127.0.0.1', '10.0.0.1', '172.16.5.4', '192.168.1.1', '169.254.169.254', '100.64.0.1', '0.0.0.0', '224.0.0.251', '255.255.255.255', '::1', '::', 'fe80::1', 'fd12:3456::1', 'ff02::1', '::ffff:127.0.0.1', '::ffff:a00:1', '64:ff9b::a00:1', '::7f00:1', '::ffff:0:7f00:1', '64:ff9b:1::a00:1', '2002:7f00:1::1', 'fec0::1']) {
      expect([a, addressRefusal(a)]).toEqual([a, expect.stringMatching(/loopback, private, link-local, unique-local, multicast or reserved/)]);
    }
    for (const a of ['93.184.215.14', '8.8.8.8', '2606:4700:4700::1111', '::ffff:8.8.8.8']) expect([a, addressRefusal(a)]).toEqual([a, null]);
    expect(addressRefusal('example.com')).toMatch(/not an IP address/);
  });

  it('waits longer after each failure, with jitter, never past the longest wait', () => {
    const retry = { firstMs: 1000, maxMs: 8000, forMs: 86_400_000 };
    expect([1, 2, 3, 4, 5, 30].map((n) => backoffMs(n, retry, () => 1))).toEqual([1000, 2000, 4000, 8000, 8000, 8000]);
    expect([1, 2, 3, 4].map((n) => backoffMs(n, retry, () => 0))).toEqual([500, 1000, 2000, 4000]);
  });

  it('cuts a body past its bound to the common fields, and says so', () => {
    const big = { type: 'file.uploaded' as const, timestamp: new Date(0).toISOString(), data: { ticketId: 1, technicianId: 2, actor: { type: 'system' as const, name: 'x' }, name: 'a'.repeat(MAX_PAYLOAD_BYTES) } };
    const body = boundedBody(big);
    expect(Buffer.byteLength(body)).toBeLessThan(1000);
    expect(JSON.parse(body)).toEqual({ type: 'file.uploaded', timestamp: big.timestamp, data: { ticketId: 1, technicianId: 2, actor: { type: 'system', name: 'x' }, truncated: true } });
  });

  it('never connects to a refused address, by address or by a name that resolves to it', async () => {
    const before = receiver.attempts.length;
    const byAddress = await postWebhook(receiver.url, {}, '{}', options);
    expect(byAddress).toEqual({ ok: false, status: null, error: expect.stringMatching(/^refused: 127\.0\.0\.1 is a loopback.*\(set WEBHOOK_ALLOW_PRIVATE=on to allow\)$/) });
    const byName = await postWebhook(receiver.url.replace('127.0.0.1', 'localhost'), {}, '{}', options);
    expect(byName.error).toMatch(/^refused: localhost resolves to (127\.0\.0\.1|::1) is a loopback/);
    expect(receiver.attempts.length).toBe(before);
  });

  it('gives up on an answer that does not come in time, and never follows a redirect', async () => {
    receiver.answer = () => 'hold';
    const started = Date.now();
    expect(await postWebhook(receiver.url, {}, '{}', { ...options, allowPrivate: true })).toEqual({ ok: false, status: null, error: 'no answer within 1000 ms (WEBHOOK_TIMEOUT_MS)' });
    expect(Date.now() - started).toBeLessThan(5000);
    receiver.answer = () => ({ status: 307, headers: { location: 'http://169.254.169.254/latest/meta-data/' } });
    const before = receiver.attempts.length;
    expect(await postWebhook(receiver.url, {}, '{}', { ...options, allowPrivate: true })).toEqual({ ok: false, status: 307, error: 'the receiver redirected to http://169.254.169.254/latest/meta-data/; redirects are never followed: register the final URL' });
    expect(receiver.attempts.length).toBe(before + 1);
    receiver.answer = () => 200;
    expect(await postWebhook(receiver.url, {}, '{}', { ...options, allowPrivate: true })).toEqual({ ok: true, status: 200, error: null });
  });
});
