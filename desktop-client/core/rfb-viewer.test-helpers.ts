// A technician's viewer for tests, speaking RFB over the repeater's /wsClient
// as noVNC would: the opening (3.8, security None, ClientInit shared), then
// keys, pointer moves, Raw framebuffer updates read back as pixels.
import { WebSocket } from 'ws';
import type { Tech } from '../../test/server-harness.ts';

export interface RfbViewer {
  ws: WebSocket;
  channel: string;
  width: number;
  height: number;
  /** Types ASCII text (and Return for "\n"), each key pressed and released. */
  type(text: string): void;
  pointer(x: number, y: number, buttons?: number): void;
  /** Asks for the whole screen in Raw and resolves with the colour [r, g, b] at (x, y). */
  pixel(x: number, y: number): Promise<[number, number, number]>;
  closed: Promise<number>;
}

const u16 = (n: number) => [(n >> 8) & 0xff, n & 0xff];
const u32 = (n: number) => [(n >>> 24) & 0xff, (n >>> 16) & 0xff, (n >>> 8) & 0xff, n & 0xff];

/** `tech` takes a viewer token (their own channel) and goes through the opening. */
export async function openRfbViewer(tech: Tech, serverUrl: string, ticketId: number): Promise<RfbViewer> {
  const { body } = await tech.post(`/api/v1/tickets/${ticketId}/viewer-token`).expect(201);
  const ws = new WebSocket(body.url, { origin: serverUrl });
  let buf = Buffer.alloc(0);
  const waiters: (() => void)[] = [];
  ws.on('message', (d: Buffer) => {
    buf = Buffer.concat([buf, d]);
    waiters.splice(0).forEach((w) => w());
  });
  const closed = new Promise<number>((resolve) => ws.once('close', (code) => resolve(code)));
  const take = async (n: number): Promise<Buffer> => {
    while (buf.length < n) {
      if (ws.readyState === ws.CLOSED) throw new Error('the viewer was closed');
      await new Promise<void>((r) => {
        waiters.push(r);
        setTimeout(r, 200);
      });
    }
    const out = buf.subarray(0, n);
    buf = buf.subarray(n);
    return out;
  };
  await new Promise((resolve, reject) => {
    ws.once('open', resolve);
    ws.once('error', reject);
  });
  const version = (await take(12)).toString('latin1');
  if (!/^RFB 003\.00[78]\n$/.test(version)) throw new Error(`not RFB: ${JSON.stringify(version)}`);
  ws.send(Buffer.from('RFB 003.008\n'));
  const types = [...(await take((await take(1))[0]!))];
  if (!types.includes(1)) throw new Error(`no security None among ${types.join(',')}`);
  ws.send(Buffer.from([1]));
  if ((await take(4)).readUInt32BE(0) !== 0) throw new Error('security refused');
  ws.send(Buffer.from([1])); // ClientInit, shared
  const init = await take(24);
  await take(init.readUInt32BE(20)); // the desktop's name
  const width = init.readUInt16BE(0);
  const height = init.readUInt16BE(2);
  // 32 bits per pixel, true colour, little endian, red at bit 16: bytes B, G, R, X.
  ws.send(Buffer.from([0, 0, 0, 0, 32, 24, 0, 1, ...u16(255), ...u16(255), ...u16(255), 16, 8, 0, 0, 0, 0]));
  ws.send(Buffer.from([2, 0, ...u16(1), ...u32(0)])); // SetEncodings: Raw only
  const key = (keysym: number, down: boolean) => ws.send(Buffer.from([4, down ? 1 : 0, 0, 0, ...u32(keysym)]));
  return {
    ws,
    channel: body.channel as string,
    width,
    height,
    closed,
    type(text) {
      for (const ch of text) {
        const keysym = ch === '\n' ? 0xff0d : ch.charCodeAt(0);
        key(keysym, true);
        key(keysym, false);
      }
    },
    pointer(x, y, buttons = 0) {
      ws.send(Buffer.from([5, buttons, ...u16(x), ...u16(y)]));
    },
    async pixel(px, py) {
      buf = Buffer.alloc(0);
      ws.send(Buffer.from([3, 0, ...u16(0), ...u16(0), ...u16(width), ...u16(height)]));
      let found: [number, number, number] | null = null;
      while (!found) {
        const head = await take(4);
        if (head[0] !== 0) throw new Error(`server message ${head[0]} not expected here`);
        for (let r = head.readUInt16BE(2); r > 0; r--) {
          const rect = await take(12);
          const [x, y, w, h] = [rect.readUInt16BE(0), rect.readUInt16BE(2), rect.readUInt16BE(4), rect.readUInt16BE(6)];
          if (rect.readInt32BE(8) !== 0) throw new Error(`encoding ${rect.readInt32BE(8)} not asked for`);
          const data = await take(w * h * 4);
          if (px >= x && px < x + w && py >= y && py < y + h) {
            const at = ((py - y) * w + (px - x)) * 4;
            found = [data[at + 2]!, data[at + 1]!, data[at]!];
          }
        }
      }
      return found;
    },
  };
}
