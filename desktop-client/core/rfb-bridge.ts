// Source `vnc`: a VNC server already running on the user's loopback (a Wayland
// desktop's own — GNOME Remote Desktop, krfb, wayvnc — or any other). The
// client stands in the middle of the RFB opening only: it offers the viewer
// "no authentication", and only once the viewer is there does it connect to the
// local server and authenticate with the configured password (VNC
// authentication, DES), so the password never leaves this machine. After the
// security result both byte streams are joined unchanged.
import { connect, type Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import { createRequire } from 'node:module';
import { DesktopError } from './errors.ts';

const SECURITY_NONE = 1;
const SECURITY_VNC_AUTH = 2;
const VERSION = Buffer.from('RFB 003.008\n');

interface DesCipher {
  update(data: Buffer): number[];
}
const des = createRequire(import.meta.url)('des.js') as { DES: { create(o: { type: 'encrypt'; key: Buffer }): DesCipher } };

/** VNC authentication's answer: the challenge DES-encrypted with the password (8 bytes, each byte's bits mirrored). */
export function vncAuthResponse(challenge: Buffer, password: string): Buffer {
  const key = Buffer.alloc(8);
  Buffer.from(password, 'latin1').copy(key, 0, 0, 8);
  for (let i = 0; i < 8; i++) {
    let b = key[i]!;
    let r = 0;
    for (let bit = 0; bit < 8; bit++) {
      r = (r << 1) | (b & 1);
      b >>= 1;
    }
    key[i] = r;
  }
  const out = Buffer.alloc(16);
  for (let block = 0; block < 2; block++) {
    Buffer.from(des.DES.create({ type: 'encrypt', key }).update(challenge.subarray(block * 8, block * 8 + 8))).copy(out, block * 8);
  }
  return out;
}

/** Reads exactly n bytes from a paused stream (what follows stays in it for the pipeline). */
async function readExactly(stream: Duplex, n: number, what: string, timeoutMs: number): Promise<Buffer> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const chunk = stream.read(n) as Buffer | null;
    if (chunk) return chunk;
    if (stream.destroyed || stream.readableEnded) throw new DesktopError('VNC_FAILED', `The connection closed while waiting for ${what}`);
    const left = deadline - Date.now();
    if (left <= 0) throw new DesktopError('VNC_FAILED', `No ${what} within ${Math.round(timeoutMs / 1000)} s`);
    await new Promise<void>((resolve) => {
      const done = (): void => {
        clearTimeout(timer);
        stream.off('readable', done);
        stream.off('close', done);
        stream.off('end', done);
        resolve();
      };
      const timer = setTimeout(done, left);
      stream.once('readable', done);
      stream.once('close', done);
      stream.once('end', done);
    });
  }
}

async function reasonOf(server: Duplex): Promise<string> {
  const length = (await readExactly(server, 4, 'the server\'s reason', 5_000)).readUInt32BE(0);
  return (await readExactly(server, Math.min(length, 4096), 'the server\'s reason', 5_000)).toString('utf8');
}

function connectLocal(host: string, port: number): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host, port, noDelay: true });
    socket.once('connect', () => {
      socket.off('error', reject);
      socket.pause();
      resolve(socket);
    });
    socket.once('error', (err: NodeJS.ErrnoException) =>
      reject(new DesktopError('VNC_UNREACHABLE', `No VNC server answers at ${host}:${port} (${err.code ?? err.message})`)),
    );
  });
}

/**
 * Runs the RFB opening between the viewer (behind `viewer`, the repeater's
 * desktop leg) and the local VNC server; resolves with the server's socket,
 * authenticated and paused, ready to be joined to `viewer`.
 */
export async function bridgeVnc(viewer: Duplex, source: { host: string; port: number; password: string | null }, viewerWaitMs: number): Promise<Socket> {
  viewer.write(VERSION);
  const viewerVersion = (await readExactly(viewer, 12, 'the viewer', viewerWaitMs)).toString('latin1');
  if (!/^RFB 003\.00[78]\n$/.test(viewerVersion)) throw new DesktopError('VNC_FAILED', `The viewer speaks ${JSON.stringify(viewerVersion)}, not RFB 3.7/3.8`);
  viewer.write(Buffer.from([1, SECURITY_NONE]));
  const choice = (await readExactly(viewer, 1, 'the viewer\'s security choice', 10_000))[0];
  if (choice !== SECURITY_NONE) throw new DesktopError('VNC_FAILED', `The viewer chose security type ${choice}`);

  const server = await connectLocal(source.host, source.port);
  try {
    const version = (await readExactly(server, 12, 'the VNC server\'s greeting', 10_000)).toString('latin1');
    const match = /^RFB (\d{3})\.(\d{3})\n$/.exec(version);
    if (!match) throw new DesktopError('VNC_FAILED', `Not a VNC server at ${source.host}:${source.port} (it said ${JSON.stringify(version.slice(0, 12))})`);
    const minor = Number(match[1]) > 3 ? 8 : Math.min(Number(match[2]), 8);
    const speak = minor >= 8 ? 8 : minor >= 7 ? 7 : 3;
    server.write(`RFB 003.00${speak}\n`);
    let type: number;
    if (speak === 3) {
      type = (await readExactly(server, 4, 'the security type', 10_000)).readUInt32BE(0);
      if (type === 0) throw new DesktopError('VNC_FAILED', `The VNC server refused: ${await reasonOf(server)}`);
    } else {
      const count = (await readExactly(server, 1, 'the security types', 10_000))[0]!;
      if (count === 0) throw new DesktopError('VNC_FAILED', `The VNC server refused: ${await reasonOf(server)}`);
      const offered = [...(await readExactly(server, count, 'the security types', 10_000))];
      if (source.password !== null && offered.includes(SECURITY_VNC_AUTH)) type = SECURITY_VNC_AUTH;
      else if (offered.includes(SECURITY_NONE)) type = SECURITY_NONE;
      else if (offered.includes(SECURITY_VNC_AUTH)) throw new DesktopError('VNC_AUTH_FAILED', 'The VNC server asks for a password: set vncPasswordFile (HELPDESK_VNC_PASSWORD_FILE)');
      else throw new DesktopError('VNC_FAILED', `The VNC server offers only security types this client does not speak (${offered.join(', ')})`);
      server.write(Buffer.from([type]));
    }
    if (type === SECURITY_VNC_AUTH) {
      if (source.password === null) throw new DesktopError('VNC_AUTH_FAILED', 'The VNC server asks for a password: set vncPasswordFile (HELPDESK_VNC_PASSWORD_FILE)');
      const challenge = await readExactly(server, 16, 'the authentication challenge', 10_000);
      server.write(vncAuthResponse(challenge, source.password));
    } else if (type !== SECURITY_NONE) {
      throw new DesktopError('VNC_FAILED', `The VNC server requires security type ${type}, which this client does not speak`);
    }
    // RFB 3.8 sends a result for every type; 3.3 and 3.7 only after VNC authentication.
    if (speak === 8 || type === SECURITY_VNC_AUTH) {
      const result = (await readExactly(server, 4, 'the security result', 10_000)).readUInt32BE(0);
      if (result !== 0) {
        // The reason string is a courtesy: a server that closes before sending it still refused.
        const why = speak === 8 ? await reasonOf(server).catch((_unreadable: unknown) => '') : '';
        throw new DesktopError('VNC_AUTH_FAILED', `The VNC server refused the password${why ? `: ${why}` : ''}`);
      }
    }
  } catch (err) {
    server.destroy();
    throw err;
  }
  // The viewer may go on: its ClientInit reaches the server through the pipeline.
  viewer.write(Buffer.alloc(4));
  return server;
}
