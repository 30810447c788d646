// Shared pieces of the repeater tests: a repeater on port 0 with a TokenBook,
// and small promise helpers around `ws` clients.
import { WebSocket } from 'ws';
import { connect as netConnect } from 'node:net';
import { pino } from 'pino';
import { Repeater, type RepeaterDeps } from './repeater.ts';
import { TokenBook } from './token-book.ts';
import type { LegSide, RecordOrder } from '../protocol/repeater.ts';
import type { RepeaterOptions } from './contract.ts';
import { sidePaths } from '../protocol/repeater.ts';

export interface TestRepeater {
  repeater: Repeater;
  book: TokenBook;
  port: number;
  url(side: LegSide, ticketId: string, record?: RecordOrder | null): string;
  close(): Promise<void>;
}

export async function startTestRepeater(options: Partial<RepeaterOptions> = {}, deps: Pick<RepeaterDeps, 'openRecordingSink'> = {}): Promise<TestRepeater> {
  const book = new TokenBook();
  const repeater = new Repeater({ authorizeLeg: book.authorize, logger: pino({ level: 'silent' }), options, ...deps });
  const { port } = await repeater.listen(0);
  return {
    repeater,
    book,
    port,
    url: (side, ticketId, record = null) => `ws://127.0.0.1:${port}${sidePaths[side]}?token=${book.issue(ticketId, side, record)}`,
    close: () => repeater.close(),
  };
}

/**
 * Opens a client; resolves once open. Messages are queued from the very first
 * frame (a greeting can arrive in the same segment as the handshake), and read
 * with nextMessage / receiveBytes.
 */
export function connect(url: string): Promise<WebSocket> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, { perMessageDeflate: false });
    const inbox: Inbox = { queue: [], waiter: null };
    inboxes.set(ws, inbox);
    ws.on('message', (data: Buffer) => {
      if (inbox.waiter) inbox.waiter(data);
      else inbox.queue.push(data);
    });
    ws.once('open', () => resolve(ws));
    ws.once('unexpected-response', (_req, res) => reject(new Error(`HTTP ${res.statusCode}`)));
    ws.once('error', reject);
  });
}

interface Inbox {
  queue: Buffer[];
  waiter: ((data: Buffer) => void) | null;
}
const inboxes = new WeakMap<WebSocket, Inbox>();

function inboxOf(ws: WebSocket): Inbox {
  const inbox = inboxes.get(ws);
  if (!inbox) throw new Error('not a client opened by connect()');
  return inbox;
}

/** Resolves with the HTTP status and JSON body of a refused upgrade. */
export function refusal(url: string, headers: Record<string, string> = {}): Promise<{ status: number; body: { error: { code: string } } }> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, { headers });
    ws.once('open', () => reject(new Error('upgrade was accepted')));
    ws.once('unexpected-response', (_req, res) => {
      let text = '';
      res.on('data', (chunk: Buffer) => (text += chunk.toString()));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: JSON.parse(text) }));
    });
    ws.once('error', reject);
  });
}

export function nextMessage(ws: WebSocket): Promise<Buffer> {
  return receive(ws, 1, true);
}

export function closed(ws: WebSocket): Promise<{ code: number; reason: string }> {
  if (ws.readyState === ws.CLOSED) return Promise.reject(new Error('already closed'));
  return new Promise((resolve) => ws.once('close', (code, reason) => resolve({ code, reason: reason.toString() })));
}

/** Collects bytes until `total` have arrived. */
export function receiveBytes(ws: WebSocket, total: number): Promise<Buffer> {
  return receive(ws, total, false);
}

function receive(ws: WebSocket, total: number, oneMessage: boolean): Promise<Buffer> {
  const inbox = inboxOf(ws);
  return new Promise((resolve, reject) => {
    const parts: Buffer[] = [];
    let got = 0;
    const take = (data: Buffer): boolean => {
      parts.push(data);
      got += data.length;
      return oneMessage || got >= total;
    };
    while (inbox.queue.length > 0) {
      if (take(inbox.queue.shift()!)) return resolve(Buffer.concat(parts));
    }
    const onClose = (code: number): void => reject(new Error(`closed with ${code} after ${got}/${total} bytes`));
    ws.once('close', onClose);
    inbox.waiter = (data) => {
      if (!take(data)) return;
      inbox.waiter = null;
      ws.off('close', onClose);
      resolve(Buffer.concat(parts));
    };
  });
}

/** A raw TCP websocket client (after the 101), to send frames no library would: split, unmasked, malformed. */
export function rawLeg(url: string): Promise<import('node:net').Socket> {
  return new Promise((resolve, reject) => {
    const target = new URL(url);
    const socket = netConnect(Number(target.port), target.hostname, () => {
      socket.write(
        `GET ${target.pathname}${target.search} HTTP/1.1\r\nHost: ${target.host}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
          'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n',
      );
    });
    let head = '';
    const onData = (d: Buffer): void => {
      head += d.toString('latin1');
      if (!head.includes('\r\n\r\n')) return;
      socket.off('data', onData);
      if (!head.startsWith('HTTP/1.1 101')) reject(new Error(head.split('\r\n')[0]));
      else resolve(socket);
    };
    socket.on('data', onData);
    socket.once('error', reject);
  });
}

/** A client frame: masked unless `mask` is false. */
export function clientFrame(opcode: number, payload: Buffer, options: { fin?: boolean; mask?: boolean } = {}): Buffer {
  const fin = options.fin ?? true;
  const masked = options.mask ?? true;
  const len = payload.length;
  const ext = len < 126 ? 0 : len < 65536 ? 2 : 8;
  const header = Buffer.alloc(2 + ext + (masked ? 4 : 0));
  header[0] = (fin ? 0x80 : 0) | opcode;
  header[1] = (masked ? 0x80 : 0) | (ext === 0 ? len : ext === 2 ? 126 : 127);
  if (ext === 2) header.writeUInt16BE(len, 2);
  if (ext === 8) header.writeUInt32BE(len, 6);
  if (!masked) return Buffer.concat([header, payload]);
  const mask = Buffer.from([0x12, 0x34, 0x56, 0x78]);
  mask.copy(header, 2 + ext);
  const body = Buffer.from(payload.map((b, i) => b ^ mask[i & 3]!));
  return Buffer.concat([header, body]);
}

/** Reads the first close frame's code from a raw socket (server frames are unmasked). */
export function rawCloseCode(socket: import('node:net').Socket): Promise<number> {
  return new Promise((resolve, reject) => {
    let buf = Buffer.alloc(0);
    socket.on('data', (d: Buffer) => {
      buf = Buffer.concat([buf, d]);
      let pos = 0;
      while (buf.length - pos >= 2) {
        const len7 = buf[pos + 1]! & 0x7f;
        const size = 2 + (len7 === 126 ? 2 : len7 === 127 ? 8 : 0);
        const length = len7 === 126 ? buf.readUInt16BE(pos + 2) : len7 === 127 ? buf.readUInt32BE(pos + 6) : len7;
        if (buf.length - pos < size + length) return;
        if ((buf[pos]! & 0x0f) === 8) return resolve(length >= 2 ? buf.readUInt16BE(pos + size) : 1005);
        pos += size + length;
      }
    });
    socket.once('close', () => reject(new Error('closed without a close frame')));
  });
}

/** Drops every client a test opened, ws or raw (afterEach). */
export function dropAll(open: (WebSocket | import('node:net').Socket)[]): void {
  for (const c of open.splice(0)) {
    if (c instanceof WebSocket) c.terminate();
    else c.destroy();
  }
}
