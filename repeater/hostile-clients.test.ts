// Clients that try to knock the relay over: a ping flood that never reads its
// pongs, floods of tiny frames, close frames no endpoint may send, text that
// is not UTF-8 (half-sent requests: connection-gate.test.ts). Each is bounded or refused, blamed on its sender, and another
// session on the same repeater keeps relaying.
import { afterEach, describe, expect, it } from 'vitest';
import type { Socket } from 'node:net';
import { randomBytes } from 'node:crypto';
import { WebSocket } from 'ws';
import { CloseCode } from '../protocol/close-codes.ts';
import type { EndedEvent } from './contract.ts';
import { closeFrame } from './frames.ts';
import { clientFrame, closed, connect, dropAll, rawCloseCode, rawLeg, receiveBytes, startTestRepeater, type TestRepeater } from './repeater.test-helpers.ts';

let t: TestRepeater;
const open: (WebSocket | Socket)[] = [];

afterEach(async () => {
  dropAll(open);
  await t?.close();
});

async function wsLeg(side: 'desktop' | 'viewer', ticketId: string): Promise<WebSocket> {
  const ws = await connect(t.url(side, ticketId));
  open.push(ws);
  return ws;
}

async function raw(side: 'desktop' | 'viewer', ticketId: string): Promise<Socket> {
  const socket = await rawLeg(t.url(side, ticketId));
  open.push(socket);
  return socket;
}

function ended(): Promise<EndedEvent> {
  return new Promise((resolve) => t.repeater.once('ended', resolve));
}

/** A live session that must keep relaying while another client misbehaves. */
async function bystander(ticketId: string): Promise<() => Promise<void>> {
  const desktop = await wsLeg('desktop', ticketId);
  const viewer = await wsLeg('viewer', ticketId);
  return async () => {
    const payload = randomBytes(200_000);
    desktop.send(payload);
    expect((await receiveBytes(viewer, payload.length)).equals(payload)).toBe(true);
  };
}

/** Sends pings of 125 bytes (and reads nothing) until the repeater stops reading them, or 150 MiB went. */
async function pingFlood(socket: Socket, sample: () => void): Promise<{ sent: number; heldAtClient: number }> {
  socket.pause();
  const ping = clientFrame(0x9, Buffer.alloc(125, 7));
  const batch = Buffer.concat(Array.from({ length: 512 }, () => ping));
  let sent = 0;
  const deadline = Date.now() + 15_000;
  while (sent < 150 * 1024 * 1024 && Date.now() < deadline) {
    if (socket.writableLength > 8 * 1024 * 1024) break; // the repeater stopped reading us
    socket.write(batch);
    sent += batch.length;
    sample();
    await new Promise((resolve) => setImmediate(resolve));
  }
  // Let the repeater read whatever the kernel still holds.
  for (let i = 0; i < 20; i++) {
    sample();
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
  return { sent, heldAtClient: socket.writableLength };
}

describe('a ping flood that never reads its pongs', () => {
  const HWM = 256 * 1024;

  it('holds a paired desktop at its own high-water mark, and another session keeps relaying', async () => {
    t = await startTestRepeater({ highWaterMarkBytes: HWM });
    const check = await bystander('B1');
    const desktop = await raw('desktop', 'P1');
    await wsLeg('viewer', 'P1');
    let most = 0;
    const { sent, heldAtClient } = await pingFlood(desktop, () => {
      most = Math.max(most, t.repeater.bufferedBytes('P1')?.toDesktop ?? 0);
    });
    // The pongs the repeater holds for it: at most its high-water mark and one read's worth.
    expect(most).toBeLessThanOrEqual(HWM + 128 * 1024);
    // It stopped being read: the flood piles up at the flooder, not in the repeater.
    expect(heldAtClient).toBeGreaterThan(1024 * 1024);
    expect(sent).toBeLessThan(150 * 1024 * 1024);
    await check();
    expect(t.repeater.legState('P1', 'desktop')).toBe('paired');
  });

  it('holds a waiting leg the same way', async () => {
    t = await startTestRepeater({ highWaterMarkBytes: HWM });
    const check = await bystander('B2');
    const desktop = await raw('desktop', 'P2');
    let most = 0;
    await pingFlood(desktop, () => {
      most = Math.max(most, t.repeater.bufferedBytes('P2')?.toDesktop ?? 0);
    });
    expect(most).toBeLessThanOrEqual(HWM + 128 * 1024);
    await check();
  });

  it('answers the latest ping once the client reads again', async () => {
    t = await startTestRepeater({ highWaterMarkBytes: HWM });
    const desktop = await raw('desktop', 'P3');
    await wsLeg('viewer', 'P3');
    await pingFlood(desktop, () => undefined);
    // Now it reads: the backlog drains, the held pings are answered, a last ping gets its pong.
    let tail = Buffer.alloc(0);
    desktop.on('data', (d: Buffer) => (tail = Buffer.concat([tail, d]).subarray(-64)));
    desktop.resume();
    const marker = Buffer.from('last ping');
    await new Promise((resolve) => setTimeout(resolve, 200));
    desktop.write(clientFrame(0x9, marker));
    await expect.poll(() => tail.includes(Buffer.concat([Buffer.from([0x8a, marker.length]), marker])), { timeout: 10_000 }).toBe(true);
  });
});

/** Heap in use after a collection (vitest runs with --expose-gc here, else the figure is only rougher). */
async function heapUsed(): Promise<number> {
  await new Promise((resolve) => setTimeout(resolve, 50));
  (globalThis as { gc?: () => void }).gc?.();
  return process.memoryUsage().heapUsed;
}

describe('floods of tiny frames', () => {
  it('holds a waiting leg that sends empty continuation frames (each frame counts, not only its payload)', async () => {
    t = await startTestRepeater();
    const check = await bystander('B3');
    const desktop = await raw('desktop', 'E1');
    const before = await heapUsed();
    desktop.write(clientFrame(0x2, Buffer.from('x'), { fin: false }));
    const empty = clientFrame(0x0, Buffer.alloc(0), { fin: false });
    const batch = Buffer.concat(Array.from({ length: 10_000 }, () => empty));
    // 8 MiB of 6-byte frames: 1.4 million of them.
    for (let i = 0; i < 140; i++) {
      if (desktop.writableLength > 4 * 1024 * 1024) break; // the repeater stopped reading it
      desktop.write(batch);
      await new Promise((resolve) => setImmediate(resolve));
    }
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect((await heapUsed()) - before).toBeLessThan(32 * 1024 * 1024);
    await check();
  });

  it('queues a flood of 1-byte frames towards a viewer that does not read as a few large writes', async () => {
    t = await startTestRepeater();
    const desktop = await raw('desktop', 'E2');
    const viewer = await raw('viewer', 'E2');
    viewer.pause();
    const before = await heapUsed();
    const tiny = clientFrame(0x2, Buffer.from('y'));
    const batch = Buffer.concat(Array.from({ length: 9_000 }, () => tiny));
    for (let i = 0; i < 200; i++) {
      if (desktop.writableLength > 4 * 1024 * 1024) break;
      desktop.write(batch);
      await new Promise((resolve) => setImmediate(resolve));
    }
    await new Promise((resolve) => setTimeout(resolve, 300));
    // The viewer's backlog stays near the high-water mark, and so does what holding it costs.
    expect(t.repeater.bufferedBytes('E2')!.toViewer).toBeLessThan(2 * 1024 * 1024);
    expect((await heapUsed()) - before).toBeLessThan(32 * 1024 * 1024);
  });
});

describe('close frames and text', () => {
  for (const code of [1006, 1005, 1015, 999, 5000]) {
    it(`answers a close with code ${code} (no endpoint may send it) with 1002, and blames the sender`, async () => {
      t = await startTestRepeater();
      const desktop = await raw('desktop', `C${code}`);
      const viewer = await wsLeg('viewer', `C${code}`);
      const end = ended();
      const viewerClosed = closed(viewer);
      const answer = rawCloseCode(desktop);
      const payload = Buffer.alloc(2);
      payload.writeUInt16BE(code);
      desktop.write(clientFrame(0x8, payload));
      expect(await answer).toBe(1002);
      expect((await viewerClosed).code).toBe(CloseCode.PEER_PROTOCOL_ERROR);
      expect(await end).toMatchObject({ reason: 'PEER_PROTOCOL_ERROR', endedBy: 'desktop' });
    });
  }

  it('echoes a valid close code, and answers a close reason that is not UTF-8 with 1007', async () => {
    t = await startTestRepeater();
    const a = await raw('desktop', 'V1');
    await wsLeg('viewer', 'V1');
    const echoed = rawCloseCode(a);
    a.write(clientFrame(0x8, Buffer.concat([Buffer.from([0x0f, 0xa0]), Buffer.from('bye')])));
    expect(await echoed).toBe(4000);

    const b = await raw('viewer', 'V2');
    await wsLeg('desktop', 'V2');
    const end = ended();
    const refused = rawCloseCode(b);
    b.write(clientFrame(0x8, Buffer.from([0x03, 0xe8, 0xc3, 0x28])));
    expect(await refused).toBe(1007);
    expect(await end).toMatchObject({ reason: 'PEER_PROTOCOL_ERROR', endedBy: 'viewer' });
  });

  it('ends a session with 1007 blamed on the sender of text that is not UTF-8, and relays none of it', async () => {
    t = await startTestRepeater();
    const desktop = await raw('desktop', 'U1');
    const viewer = await wsLeg('viewer', 'U1');
    const messages: string[] = [];
    viewer.on('message', (data: Buffer) => messages.push(data.toString()));
    const viewerClosed = closed(viewer);
    const end = ended();
    const answer = rawCloseCode(desktop);
    desktop.write(clientFrame(0x1, Buffer.from('héllo')));
    // A message whose first fragment goes wrong; its end arrives later.
    desktop.write(clientFrame(0x1, Buffer.from([0x61, 0xc3, 0x28]), { fin: false }));
    desktop.write(clientFrame(0x0, Buffer.from('tail')));
    expect(await answer).toBe(1007);
    // Had the bytes reached the viewer, its own client would have failed with 1007 and been blamed.
    expect((await viewerClosed).code).toBe(CloseCode.PEER_PROTOCOL_ERROR);
    expect(messages).toEqual(['héllo']);
    expect(await end).toMatchObject({ reason: 'PEER_PROTOCOL_ERROR', endedBy: 'desktop' });
  });

  it('cuts a long close reason on a character boundary', () => {
    const frame = closeFrame(4000, 'é'.repeat(80));
    const reason = frame.subarray(4);
    expect(reason.length).toBeLessThanOrEqual(123);
    expect(Buffer.from(reason.toString('utf8')).equals(reason)).toBe(true);
  });
});
