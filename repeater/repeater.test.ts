import { afterEach, describe, expect, it } from 'vitest';
import { randomBytes, createHash } from 'node:crypto';
import { connect as netConnect } from 'node:net';
import type { WebSocket } from 'ws';
import { CloseCode } from '../protocol/close-codes.ts';
import type { EndedEvent, LegClosedEvent, RepeaterEvents } from './contract.ts';
import { clientFrame, closed, connect, nextMessage, rawCloseCode, rawLeg, receiveBytes, refusal, startTestRepeater, type TestRepeater } from './repeater.test-helpers.ts';

const GREETING = Buffer.from('RFB 003.008\n');
let t: TestRepeater;
const open: WebSocket[] = [];

async function leg(side: 'desktop' | 'viewer', ticketId: string): Promise<WebSocket> {
  const ws = await connect(t.url(side, ticketId));
  open.push(ws);
  return ws;
}

function waitEvent<K extends keyof RepeaterEvents>(name: K): Promise<RepeaterEvents[K][0]> {
  return new Promise((resolve) => {
    t.repeater.once(name, ((event: RepeaterEvents[K][0]) => resolve(event)) as never);
  });
}

afterEach(async () => {
  for (const ws of open.splice(0)) ws.terminate();
  await t?.close();
});

describe('pairing', () => {
  it('pairs desktop-first and relays the greeting sent before the viewer arrived, whole and first', async () => {
    t = await startTestRepeater();
    const waiting = waitEvent('legWaiting');
    const desktop = await leg('desktop', 'T1');
    desktop.send(GREETING);
    desktop.send(Buffer.from('second'));
    expect(await waiting).toMatchObject({ ticketId: 'T1', side: 'desktop' });
    const paired = waitEvent('paired');
    const viewer = await connect(t.url('viewer', 'T1'));
    open.push(viewer);
    const first = await nextMessage(viewer);
    expect(first.equals(GREETING)).toBe(true);
    expect((await nextMessage(viewer)).toString()).toBe('second');
    expect(await paired).toMatchObject({ ticketId: 'T1' });
    viewer.send(Buffer.from('RFB 003.008\n'));
    expect((await nextMessage(desktop)).toString()).toBe('RFB 003.008\n');
  });

  it('pairs viewer-first the same way', async () => {
    t = await startTestRepeater();
    const viewer = await leg('viewer', 'T2');
    viewer.send(Buffer.from('hello from viewer'));
    const desktop = await leg('desktop', 'T2');
    expect((await nextMessage(desktop)).toString()).toBe('hello from viewer');
    desktop.send(GREETING);
    expect((await nextMessage(viewer)).equals(GREETING)).toBe(true);
    expect(t.repeater.legState('T2', 'desktop')).toBe('paired');
  });

  it('keeps text frames as text and binary frames as binary', async () => {
    t = await startTestRepeater();
    const desktop = await leg('desktop', 'T3');
    const viewer = await leg('viewer', 'T3');
    const kinds: boolean[] = [];
    const both = new Promise<void>((resolve) => {
      viewer.removeAllListeners('message');
    viewer.on('message', (_d, isBinary) => {
        kinds.push(isBinary);
        if (kinds.length === 2) resolve();
      });
    });
    desktop.send('text');
    desktop.send(Buffer.from([0, 1, 2]));
    await both;
    expect(kinds).toEqual([false, true]);
  });

  it('refuses a second leg for a side already connected, and the first keeps working', async () => {
    t = await startTestRepeater();
    const desktop = await leg('desktop', 'T4');
    const duplicate = await leg('desktop', 'T4');
    expect(await closed(duplicate)).toMatchObject({ code: CloseCode.DUPLICATE_LEG });
    const viewer = await leg('viewer', 'T4');
    desktop.send(GREETING);
    expect((await nextMessage(viewer)).equals(GREETING)).toBe(true);
  });

  it('never crosses 200 concurrent sessions, each with its own random payload both ways', async () => {
    t = await startTestRepeater({ maxLegsPerAddress: 1000 });
    const sessions = Array.from({ length: 200 }, (_, i) => ({
      id: `C${i}`,
      down: randomBytes(8192 + i * 37),
      up: randomBytes(1024 + i),
    }));
    await Promise.all(
      sessions.map(async (s, i) => {
        const [desktop, viewer] = i % 2 === 0
          ? [await leg('desktop', s.id), await leg('viewer', s.id)]
          : await Promise.all([leg('desktop', s.id), leg('viewer', s.id)]);
        const gotDown = receiveBytes(viewer, s.down.length);
        const gotUp = receiveBytes(desktop, s.up.length);
        for (let off = 0; off < s.down.length; off += 1500) desktop.send(s.down.subarray(off, off + 1500));
        viewer.send(s.up);
        const sha = (b: Buffer): string => createHash('sha256').update(b).digest('hex');
        expect(sha(await gotDown)).toBe(sha(s.down));
        expect(sha(await gotUp)).toBe(sha(s.up));
      }),
    );
    expect(t.repeater.stats.sessions).toBe(200);
  });
});

describe('endings', () => {
  it('closes a lonely leg after waitingTimeoutMs with a reason', async () => {
    t = await startTestRepeater({ waitingTimeoutMs: 150 });
    const closedEvent = waitEvent('legClosed');
    const viewer = await leg('viewer', 'W1');
    const result = await closed(viewer);
    expect(result.code).toBe(CloseCode.WAITING_TIMEOUT);
    // The close frame names the code; people read its words from their catalogue.
    expect(result.reason).toBe('WAITING_TIMEOUT');
    expect(await closedEvent).toMatchObject({ ticketId: 'W1', side: 'viewer', reason: 'WAITING_TIMEOUT' } satisfies Partial<LegClosedEvent>);
    expect(t.repeater.stats.tickets).toBe(0);
  });

  it.each([
    ['desktop', CloseCode.DESKTOP_LEFT, 'DESKTOP_LEFT'],
    ['viewer', CloseCode.VIEWER_LEFT, 'VIEWER_LEFT'],
  ] as const)('closes the other leg naming the %s that left, and accounts the session', async (leaver, code, reason) => {
    t = await startTestRepeater();
    const desktop = await leg('desktop', 'L1');
    const viewer = await leg('viewer', 'L1');
    desktop.send(Buffer.alloc(1000));
    await nextMessage(viewer);
    viewer.send(Buffer.alloc(10));
    await nextMessage(desktop);
    const ended = waitEvent('ended');
    const [leaving, staying] = leaver === 'desktop' ? [desktop, viewer] : [viewer, desktop];
    const stayingClosed = closed(staying);
    leaving.close(1000);
    expect((await stayingClosed).code).toBe(code);
    expect(await ended).toMatchObject({
      ticketId: 'L1',
      reason,
      endedBy: leaver,
      bytesDesktopToViewer: 1000,
      bytesViewerToDesktop: 10,
    } satisfies Partial<EndedEvent>);
    expect(t.repeater.stats).toEqual({ legs: expect.any(Number), tickets: 0, sessions: 0 });
  });

  it.each([
    ['desktop', CloseCode.DESKTOP_LOST],
    ['viewer', CloseCode.VIEWER_LOST],
  ] as const)('survives the %s socket being destroyed abruptly and tells the other side', async (victim, code) => {
    t = await startTestRepeater();
    const desktop = await leg('desktop', 'R1');
    const viewer = await leg('viewer', 'R1');
    const [dying, staying] = victim === 'desktop' ? [desktop, viewer] : [viewer, desktop];
    const stayingClosed = closed(staying);
    dying.terminate();
    expect((await stayingClosed).code).toBe(code);
    // The process still serves new sessions.
    const d2 = await leg('desktop', 'R2');
    const v2 = await leg('viewer', 'R2');
    d2.send(GREETING);
    expect((await nextMessage(v2)).equals(GREETING)).toBe(true);
  });

  it('terminates a half-open peer that stops answering pings', async () => {
    t = await startTestRepeater({ heartbeatIntervalMs: 80 });
    const desktop = await leg('desktop', 'H1');
    const viewer = await leg('viewer', 'H1');
    const desktopClosed = closed(desktop);
    viewer.pause(); // reads nothing more: pings go unanswered, as with a vanished peer
    expect((await desktopClosed).code).toBe(CloseCode.VIEWER_LOST);
  });

  it('closes both legs with ENDED_BY_USER when the server ends the ticket', async () => {
    t = await startTestRepeater();
    const desktop = await leg('desktop', 'E1');
    const viewer = await leg('viewer', 'E1');
    const both = Promise.all([closed(desktop), closed(viewer)]);
    const ended = waitEvent('ended');
    expect(t.repeater.endTicket('E1', 'ENDED_BY_USER')).toBe(true);
    expect((await both).map((c) => c.code)).toEqual([CloseCode.ENDED_BY_USER, CloseCode.ENDED_BY_USER]);
    expect(await ended).toMatchObject({ reason: 'ENDED_BY_USER', endedBy: null });
    expect(t.repeater.endTicket('E1', 'ENDED_BY_USER')).toBe(false);
  });

  it('closes a sender of an oversized message and tells its peer', async () => {
    t = await startTestRepeater({ maxPayloadBytes: 4096 });
    const desktop = await leg('desktop', 'O1');
    const viewer = await leg('viewer', 'O1');
    const desktopClosed = closed(desktop);
    const viewerClosed = closed(viewer);
    desktop.send(Buffer.alloc(8192));
    expect((await desktopClosed).code).toBe(1009);
    expect((await viewerClosed).code).toBe(CloseCode.PEER_PROTOCOL_ERROR);
  });
});

describe('upgrade refusals', () => {
  it.each([
    ['an unknown token', (r: TestRepeater) => `ws://127.0.0.1:${r.port}/wsServer?token=nope`, 401, 'TOKEN_INVALID'],
    ['no token', (r: TestRepeater) => `ws://127.0.0.1:${r.port}/wsClient`, 401, 'TOKEN_MISSING'],
    ['an unknown path', (r: TestRepeater) => `ws://127.0.0.1:${r.port}/other?token=x`, 404, 'NOT_FOUND'],
    ['a desktop token on the viewer path', (r: TestRepeater) => `ws://127.0.0.1:${r.port}/wsClient?token=${r.book.issue('X', 'desktop')}`, 403, 'WRONG_SIDE'],
  ])('refuses %s with HTTP status and never upgrades', async (_name, makeUrl, status, code) => {
    t = await startTestRepeater();
    const result = await refusal(makeUrl(t));
    expect(result.status).toBe(status);
    expect(result.body.error.code).toBe(code);
    expect(t.repeater.stats.tickets).toBe(0);
  });

  it('refuses a used token', async () => {
    t = await startTestRepeater();
    const url = t.url('desktop', 'U1');
    open.push(await connect(url));
    expect((await refusal(url)).body.error.code).toBe('TOKEN_INVALID');
  });

  it('limits legs per remote address', async () => {
    t = await startTestRepeater({ maxLegsPerAddress: 2 });
    await leg('desktop', 'A1');
    await leg('desktop', 'A2');
    const result = await refusal(t.url('desktop', 'A3'));
    expect(result.status).toBe(429);
    expect(result.body.error.code).toBe('TOO_MANY_LEGS_FROM_ADDRESS');
  });

  it('answers a malformed upgrade with 400 and stays up', async () => {
    t = await startTestRepeater();
    const reply = await new Promise<string>((resolve) => {
      const socket = netConnect(t.port, '127.0.0.1', () => {
        socket.write(`GET /wsServer?token=${t.book.issue('M1', 'desktop')} HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n`);
      });
      let text = '';
      socket.on('data', (d) => (text += d.toString()));
      socket.on('close', () => resolve(text));
    });
    expect(reply).toMatch(/^HTTP\/1.1 400/);
    const d = await leg('desktop', 'M2');
    const v = await leg('viewer', 'M2');
    d.send(GREETING);
    expect((await nextMessage(v)).equals(GREETING)).toBe(true);
  });
});

describe('waiting legs', () => {
  it('notices at once a desktop that closes cleanly while it waits, and a later viewer is not paired with it', async () => {
    t = await startTestRepeater();
    const desktop = await leg('desktop', 'WL1');
    await new Promise((r) => setTimeout(r, 50));
    expect(t.repeater.legState('WL1', 'desktop')).toBe('waiting');
    const closedEvent = waitEvent('legClosed');
    desktop.close(1000);
    expect(await closedEvent).toMatchObject({ ticketId: 'WL1', side: 'desktop', reason: 'DESKTOP_LEFT' });
    expect(t.repeater.legState('WL1', 'desktop')).toBeNull();
    let paired = false;
    t.repeater.once('paired', () => (paired = true));
    const viewer = await leg('viewer', 'WL1');
    await new Promise((r) => setTimeout(r, 100));
    expect(paired).toBe(false);
    expect(t.repeater.legState('WL1', 'viewer')).toBe('waiting');
    viewer.close();
  });

  it('holds what a waiting leg floods past its small buffer at the sender, and relays all of it after pairing', async () => {
    t = await startTestRepeater();
    const desktop = await leg('desktop', 'WL2');
    const payload = randomBytes(32 * 1024 * 1024);
    for (let off = 0; off < payload.length; off += 64 * 1024) desktop.send(payload.subarray(off, off + 64 * 1024));
    await new Promise((r) => setTimeout(r, 500));
    // Beyond the kernel's socket buffers, it waits at the sender, not in the repeater.
    expect(desktop.bufferedAmount).toBeGreaterThan(payload.length / 4);
    const viewer = await leg('viewer', 'WL2');
    const got = await receiveBytes(viewer, payload.length);
    expect(got.equals(payload)).toBe(true);
  }, 30_000);
});

describe('frames on the wire', () => {
  it('relays a message whose frame arrives one byte at a time, header included', async () => {
    t = await startTestRepeater();
    const viewer = await leg('viewer', 'F1');
    const desktop = await rawLeg(t.url('desktop', 'F1'));
    const payload = randomBytes(300); // a 16-bit length: the header alone is 8 bytes
    const frame = clientFrame(2, payload);
    for (const byte of frame) {
      desktop.write(Buffer.from([byte]));
      await new Promise((r) => setImmediate(r));
    }
    const got = await receiveBytes(viewer, payload.length);
    expect(got.equals(payload)).toBe(true);
    desktop.destroy();
  });

  it('relays a fragmented message whole, with a ping between its fragments answered by the repeater', async () => {
    t = await startTestRepeater();
    const desktop = await leg('desktop', 'F2');
    const viewer = await leg('viewer', 'F2');
    const pong = new Promise<Buffer>((resolve) => desktop.once('pong', (d: Buffer) => resolve(d)));
    desktop.send(Buffer.from('first half, '), { fin: false });
    desktop.ping(Buffer.from('are you there'));
    desktop.send(Buffer.from('second half'), { fin: true });
    expect((await nextMessage(viewer)).toString()).toBe('first half, second half');
    expect((await pong).toString()).toBe('are you there');
  });

  it.each([
    ['an unmasked frame', clientFrame(2, Buffer.from('x'), { mask: false })],
    ['a continuation with no message', clientFrame(0, Buffer.from('x'))],
    ['an unknown opcode', clientFrame(3, Buffer.from('x'))],
    ['a fragmented ping', clientFrame(9, Buffer.from('x'), { fin: false })],
  ])('closes a desktop that sends %s with 1002 and tells the viewer', async (_name, frame) => {
    t = await startTestRepeater();
    const viewer = await leg('viewer', 'F3');
    const desktop = await rawLeg(t.url('desktop', 'F3'));
    await new Promise((r) => setTimeout(r, 50));
    const code = rawCloseCode(desktop);
    const viewerClosed = closed(viewer);
    desktop.write(frame);
    expect(await code).toBe(1002);
    expect((await viewerClosed).code).toBe(CloseCode.PEER_PROTOCOL_ERROR);
  });

  it('refuses new legs with 503 SHUTTING_DOWN while it closes', async () => {
    t = await startTestRepeater({ closeTimeoutMs: 1000 });
    const lingering = await leg('viewer', 'S1');
    lingering.pause(); // never reads the close frame: the repeater waits for it up to closeTimeoutMs
    const closing = t.repeater.close();
    const result = await refusal(t.url('desktop', 'S2'));
    expect(result).toMatchObject({ status: 503, body: { error: { code: 'SHUTTING_DOWN' } } });
    await closing;
    lingering.resume();
  });
});

describe('backpressure', () => {
  it('holds a fast desktop while the viewer stops reading: repeater buffers stay bounded, nothing is lost', async () => {
    const highWaterMarkBytes = 256 * 1024;
    t = await startTestRepeater({ highWaterMarkBytes });
    const desktop = await leg('desktop', 'B1');
    const viewer = await leg('viewer', 'B1');
    viewer.pause();
    const chunk = 64 * 1024;
    const total = 48 * 1024 * 1024;
    const payload = randomBytes(total);
    for (let off = 0; off < total; off += chunk) desktop.send(payload.subarray(off, off + chunk));
    // Let the pipeline fill: kernel buffers, then the repeater, then the sender.
    await new Promise((r) => setTimeout(r, 500));
    const buffered = t.repeater.bufferedBytes('B1');
    expect(buffered).not.toBeNull();
    expect(buffered!.toViewer).toBeLessThanOrEqual(highWaterMarkBytes + chunk);
    // The excess waits at the sender, which is where backpressure must push it.
    expect(desktop.bufferedAmount).toBeGreaterThan(total / 2);
    const received = receiveBytes(viewer, total);
    viewer.resume();
    const got = await received;
    expect(got.equals(payload)).toBe(true);
  }, 30_000);
});
