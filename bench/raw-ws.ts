// The benchmark driver's own lean websocket ends, so that the driver's CPU is
// never what limits a run: a client handshake over a raw socket, a sender that
// writes one pre-masked frame again and again, and a receiver that counts
// payload bytes without copying them. Only for loopback benchmarks.
import { connect, type Socket } from 'node:net';
import { randomBytes } from 'node:crypto';

/** Opens a raw websocket (RFC 6455 handshake), with any `headers` more (an Origin); resolves with the socket and any bytes after the 101. */
export function rawWebSocket(host: string, port: number, path: string, localAddress?: string, headers: Record<string, string> = {}): Promise<{ socket: Socket; head: Buffer }> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host, port, ...(localAddress ? { localAddress } : {}) });
    socket.setNoDelay(true);
    const key = randomBytes(16).toString('base64');
    let buffered = Buffer.alloc(0);
    const onData = (chunk: Buffer): void => {
      buffered = Buffer.concat([buffered, chunk]);
      const end = buffered.indexOf('\r\n\r\n');
      if (end < 0) return;
      socket.off('data', onData);
      socket.off('error', reject);
      socket.pause();
      const status = buffered.subarray(0, buffered.indexOf('\r\n')).toString();
      if (!/^HTTP\/1\.1 101 /.test(status)) {
        socket.destroy();
        return reject(new Error(`upgrade refused: ${status}`));
      }
      resolve({ socket, head: buffered.subarray(end + 4) });
    };
    socket.on('data', onData);
    socket.once('error', reject);
    socket.once('connect', () => {
      socket.write(
        `GET ${path} HTTP/1.1\r\nHost: ${host}:${port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
          `Sec-WebSocket-Key: ${key}\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Protocol: binary\r\n` +
          Object.entries(headers).map(([name, value]) => `${name}: ${value}\r\n`).join('') +
          '\r\n',
      );
    });
  });
}

/**
 * One masked frame carrying `payload`, built once and written many times:
 * binary unless `opcode` says otherwise, with a random mask unless one is
 * given (the zero mask is legal and leaves the payload as it is).
 */
export function maskedFrame(payload: Buffer, options: { opcode?: number; mask?: Buffer } = {}): Buffer {
  const length = payload.length;
  const extended = length < 126 ? 0 : length < 65536 ? 2 : 8;
  const header = Buffer.alloc(2 + extended + 4);
  header[0] = 0x80 | (options.opcode ?? 0x2);
  header[1] = 0x80 | (extended === 0 ? length : extended === 2 ? 126 : 127);
  if (extended === 2) header.writeUInt16BE(length, 2);
  if (extended === 8) header.writeUInt32BE(length, 6);
  const mask = options.mask ?? randomBytes(4);
  mask.copy(header, 2 + extended);
  const body = Buffer.allocUnsafe(length);
  for (let i = 0; i < length; i++) body[i] = payload[i]! ^ mask[i & 3]!;
  return Buffer.concat([header, body]);
}

/** Writes `frame` `count` times as fast as the socket drains. */
export function pump(socket: Socket, frame: Buffer, count: number): Promise<void> {
  return pumpFrames(socket, [frame], count, 0);
}

/** Writes frames[(start + i) % frames.length] for i < count, as fast as the socket drains. */
export function pumpFrames(socket: Socket, frames: readonly Buffer[], count: number, start: number): Promise<void> {
  return new Promise((resolve, reject) => {
    let sent = 0;
    socket.once('error', reject);
    const go = (): void => {
      while (sent < count) {
        const frame = frames[(start + sent) % frames.length]!;
        sent += 1;
        if (!socket.write(frame)) {
          socket.once('drain', go);
          return;
        }
      }
      socket.off('error', reject);
      resolve();
    };
    go();
  });
}

export function framePayloadCounter(onBytes: (n: number) => void): (chunk: Buffer) => void {
  let skip = 0;
  let pending: Buffer | null = null;
  return (chunk) => {
    const buf = pending ? Buffer.concat([pending, chunk]) : chunk;
    pending = null;
    let pos = 0;
    let got = 0;
    while (pos < buf.length) {
      if (skip > 0) {
        const n = Math.min(skip, buf.length - pos);
        skip -= n;
        pos += n;
        got += n; // only data frames are skipped in pieces
        continue;
      }
      if (buf.length - pos < 2) break;
      const len7 = buf[pos + 1]! & 0x7f;
      const size = 2 + (len7 === 126 ? 2 : len7 === 127 ? 8 : 0);
      if (buf.length - pos < size) break;
      const length = len7 === 126 ? buf.readUInt16BE(pos + 2) : len7 === 127 ? buf.readUInt32BE(pos + 6) : len7;
      if ((buf[pos]! & 0x0f) >= 8) {
        // Control frames (a heartbeat ping) carry no counted payload: taken whole.
        if (buf.length - pos - size < length) break;
        pos += size + length;
        continue;
      }
      pos += size;
      skip = length;
    }
    if (pos < buf.length) pending = Buffer.from(buf.subarray(pos));
    if (got > 0) onBytes(got);
  };
}

/** Counts the data-payload bytes of the frames arriving on `socket` (after `head`) and resolves when `total` have arrived. */
export function countFramePayload(socket: Socket, head: Buffer, total: number): Promise<void> {
  return new Promise((resolve, reject) => {
    let got = 0;
    const onData = framePayloadCounter((n) => {
      got += n;
      if (got < total) return;
      socket.off('data', onData);
      resolve();
    });
    socket.on('data', onData);
    socket.once('close', () => {
      if (got < total) reject(new Error(`receiver closed after ${got}/${total} bytes`));
    });
    if (head.length) onData(head);
    socket.resume();
  });
}

/** Counts raw TCP bytes until `total`. */
export function countBytes(socket: Socket, total: number): Promise<void> {
  return new Promise((resolve, reject) => {
    let got = 0;
    const onData = (chunk: Buffer): void => {
      got += chunk.length;
      if (got >= total) {
        socket.off('data', onData);
        resolve();
      }
    };
    socket.on('data', onData);
    socket.once('close', () => {
      if (got < total) reject(new Error(`receiver closed after ${got}/${total} bytes`));
    });
    socket.resume();
  });
}
