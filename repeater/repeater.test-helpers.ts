// Shared pieces of the repeater tests: a repeater on port 0 with a TokenBook,
// and small promise helpers around `ws` clients.
import { WebSocket } from 'ws';
import { pino } from 'pino';
import { Repeater } from './repeater.ts';
import { TokenBook } from './token-book.ts';
import type { LegSide, RepeaterOptions } from './contract.ts';
import { sidePaths } from './contract.ts';

export interface TestRepeater {
  repeater: Repeater;
  book: TokenBook;
  port: number;
  url(side: LegSide, ticketId: string): string;
  close(): Promise<void>;
}

export async function startTestRepeater(options: Partial<RepeaterOptions> = {}): Promise<TestRepeater> {
  const book = new TokenBook();
  const repeater = new Repeater({ authorizeLeg: book.authorize, logger: pino({ level: 'silent' }), options });
  const { port } = await repeater.listen(0);
  return {
    repeater,
    book,
    port,
    url: (side, ticketId) => `ws://127.0.0.1:${port}${sidePaths[side]}?token=${book.issue(ticketId, side)}`,
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
