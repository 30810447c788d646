// The connection gate: half-sent upgrades and half-sent requests on kept-alive
// connections are cut at the deadline, one address is capped while others
// connect, and a refused connection's request never reaches the application.
import { afterEach, describe, expect, it } from 'vitest';
import { connect as netConnect, type Socket } from 'node:net';
import { createServer } from 'node:http';
import { WebSocket } from 'ws';
import { ConnectionGate } from './connection-gate.ts';
import { dropAll, startTestRepeater, type TestRepeater } from './repeater.test-helpers.ts';

let t: TestRepeater | undefined;
const open: (WebSocket | Socket)[] = [];

afterEach(async () => {
  dropAll(open);
  await t?.close();
  t = undefined;
});

describe('half-sent upgrades', () => {
  it('cuts 2,000 half-sent upgrades from one address at the deadline, while other addresses connect', async () => {
    const r = await startTestRepeater({ handshakeTimeoutMs: 1500, maxPendingUpgradesPerAddress: 50, maxPendingUpgrades: 5000 });
    t = r;
    const answers = new Map<string, number>();
    const closedSockets: Promise<number>[] = [];
    let mostPending = 0;
    for (let batch = 0; batch < 10; batch++) {
      const opened = Array.from({ length: 200 }, () => {
        const socket = netConnect({ port: r.port, host: '127.0.0.1', localAddress: '127.0.0.1' });
        const started = Date.now();
        open.push(socket);
        let text = '';
        socket.on('data', (d: Buffer) => (text += d.toString('latin1')));
        socket.on('error', () => undefined);
        closedSockets.push(
          new Promise((resolve) =>
            socket.once('close', () => {
              const code = /"code":"([A-Z_]+)"/.exec(text)?.[1] ?? 'none';
              answers.set(code, (answers.get(code) ?? 0) + 1);
              resolve(Date.now() - started);
            }),
          ),
        );
        return new Promise<void>((resolve) => socket.once('connect', () => socket.write(`GET /wsServer?token=x HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: web`, () => resolve())));
      });
      await Promise.all(opened);
      mostPending = Math.max(mostPending, r.repeater.pendingConnections);
    }
    // Meanwhile a user from another address pairs and relays.
    const desktop = new WebSocket(r.url('desktop', 'H1'), { localAddress: '127.0.0.2' });
    const viewer = new WebSocket(r.url('viewer', 'H1'), { localAddress: '127.0.0.3' });
    open.push(desktop, viewer);
    await Promise.all([desktop, viewer].map((ws) => new Promise((resolve, reject) => ws.once('open', resolve).once('error', reject))));
    const got = new Promise<Buffer>((resolve) => viewer.once('message', resolve));
    desktop.send(Buffer.from('still here'));
    expect((await got).toString()).toBe('still here');

    const lifetimes = await Promise.all(closedSockets);
    // Every one is gone, each within the deadline (and the second the gate gives a client to
    // read its answer): at most 50 held at a time (408 at the deadline), the rest refused at once (429).
    expect(mostPending).toBeLessThanOrEqual(50);
    expect(answers.get('HANDSHAKE_TIMEOUT')).toBeGreaterThanOrEqual(50);
    expect((answers.get('HANDSHAKE_TIMEOUT') ?? 0) + (answers.get('TOO_MANY_PENDING_FROM_ADDRESS') ?? 0)).toBe(2000);
    expect(Math.max(...lifetimes)).toBeLessThan(1500 + 1000 + 2000);
    expect(r.repeater.pendingConnections).toBe(0);
  });
});

describe('the connection gate on any HTTP server', () => {
  it('holds a kept-alive connection to the deadline between requests, and never hands a refused request to the application', async () => {
    let handled = 0;
    const server = createServer((_req, res) => {
      handled += 1;
      res.end('ok');
    });
    const gate = new ConnectionGate({ handshakeTimeoutMs: 800, maxPending: 1000, maxPendingPerAddress: 3 });
    gate.attach(server);
    // Between requests the gate waits out Node's keep-alive timeout (plus 2 s); a stalled next request is cut then.
    server.keepAliveTimeout = 300;
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const port = (server.address() as { port: number }).port;
    try {
      const open = (): Promise<{ socket: Socket; text: () => string; closed: Promise<number> }> =>
        new Promise((resolve) => {
          const socket = netConnect(port, '127.0.0.1');
          const opened = Date.now();
          let text = '';
          socket.on('data', (d: Buffer) => (text += d.toString('latin1')));
          socket.on('error', () => undefined);
          const closed = new Promise<number>((done) => socket.once('close', () => done(Date.now() - opened)));
          socket.once('connect', () => resolve({ socket, text: () => text, closed }));
        });
      // A whole first request, then half of a second one, a byte now and then.
      const slow = await Promise.all([open(), open(), open()]);
      for (const c of slow) c.socket.write('GET / HTTP/1.1\r\nHost: x\r\n\r\n');
      await expect.poll(() => handled).toBe(3);
      for (const c of slow) c.socket.write('GET / HTTP/1.1\r\nHo');
      const drip = setInterval(() => slow.forEach((c) => c.socket.write('s')), 200);
      // The cap holds for kept-alive connections too: a fourth connection is refused, its request never handled.
      await new Promise((resolve) => setTimeout(resolve, 100));
      const refused = await open();
      refused.socket.write('POST /tickets HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n');
      await refused.closed;
      expect(refused.text()).toContain('TOO_MANY_PENDING_FROM_ADDRESS');
      const lifetimes = await Promise.all(slow.map((c) => c.closed));
      clearInterval(drip);
      expect(Math.max(...lifetimes)).toBeLessThan(300 + 2000 + 1500);
      expect(handled).toBe(3);
      expect(gate.pending).toBe(0);
      // A connection that sends nothing (a browser's preconnect) is closed at the deadline without a word:
      // a browser retries on a new socket, where a 408 would fail an EventSource for good.
      const silent = await open();
      expect(await silent.closed).toBeLessThan(800 + 2000);
      expect(silent.text()).toBe('');
    } finally {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    }
  });

  it('closes the oldest idle kept-alive connection to make room, never refusing a new one for their sake', async () => {
    let handled = 0;
    const server = createServer((_req, res) => {
      handled += 1;
      res.end('ok');
    });
    const gate = new ConnectionGate({ handshakeTimeoutMs: 5000, maxPending: 1000, maxPendingPerAddress: 3 });
    gate.attach(server);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const port = (server.address() as { port: number }).port;
    const request = (): Promise<{ socket: Socket; answer: Promise<string>; closed: Promise<void> }> =>
      new Promise((resolve) => {
        const socket = netConnect(port, '127.0.0.1');
        open.push(socket);
        socket.on('error', () => undefined);
        let text = '';
        const answer = new Promise<string>((done) => socket.on('data', (d: Buffer) => ((text += d.toString('latin1')), text.includes('ok') && done(text))));
        const closed = new Promise<void>((done) => socket.once('close', () => done()));
        socket.once('connect', () => {
          socket.write('GET / HTTP/1.1\r\nHost: x\r\n\r\n');
          resolve({ socket, answer, closed });
        });
      });
    try {
      // Three browsers' connections, answered and kept alive: the address's three places are idle ones.
      const idle = [await request(), await request(), await request()];
      for (const c of idle) expect(await c.answer).toMatch(/^HTTP\/1\.1 200/);
      await expect.poll(() => gate.pending).toBe(3);
      // A fourth is served, and the oldest idle one was closed to make room.
      const fresh = await request();
      expect(await fresh.answer).toMatch(/^HTTP\/1\.1 200/);
      await idle[0]!.closed;
      expect(handled).toBe(4);
    } finally {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    }
  });
});
