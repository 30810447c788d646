// Source vnc: an existing VNC server on loopback (here x11vnc in forward mode
// with a password, the way a Wayland desktop's own server would serve), reached
// only after the user allowed the session and only once the viewer is there;
// the password never leaves the machine: the viewer is offered no
// authentication and gets the server's framebuffer. Real server, repeater,
// Xvfb; the viewer is a websocket client speaking RFB.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { WebSocket } from 'ws';
import { ADMIN_PASSWORD, startHarness, type Harness, type Tech } from '../../test/server-harness.ts';
import { freePort, waitForPort } from '../../test/processes.ts';
import { startXDisplay, type XDisplay } from '../../test/x-display.ts';
import { reach } from '../../test/help-session-helpers.ts';
import { HelpSession } from './help-session.ts';
import { createTransport } from './transport.ts';
import { loadClientConfig, WAYLAND_NOTICE, type ScreenSource } from './config.ts';
import { describeSnapshot } from './messages.ts';

let h: Harness;
let x: XDisplay;
let ana: Tech;
let vnc: ChildProcess;
let vncPort: number;
const PASSWORD = 'sesame-42';
const dir = mkdtempSync(join(tmpdir(), 'helpdesk-vnc-'));

beforeAll(async () => {
  [h, x] = await Promise.all([startHarness('sqlite', { MAX_ACTIVE_TICKETS_PER_TECH: '20' }), startXDisplay()]);
  ana = await h.createTechnician(await h.login('admin', ADMIN_PASSWORD), 'ana');
  vncPort = await freePort();
  writeFileSync(join(dir, 'passwd'), `${PASSWORD}\n`);
  vnc = spawn('x11vnc', ['-display', x.display, '-localhost', '-rfbport', String(vncPort), '-passwdfile', join(dir, 'passwd'), '-forever', '-shared', '-noxdamage', '-quiet'], { stdio: 'ignore' });
  await waitForPort(vncPort, 'x11vnc (forward)', vnc);
}, 60_000);

afterAll(async () => {
  vnc?.kill('SIGKILL');
  await h?.close();
  await x?.stop();
});

function newSession(source: ScreenSource): HelpSession {
  return new HelpSession(
    { serverUrl: h.server.url, clientKey: null, display: x.display, x11vncPath: 'x11vnc', requester: { requesterName: 'Wayne Wayland', username: 'wayne', hostname: 'wl-pc', os: 'Linux' }, source },
    createTransport({ ca: null, proxy: { httpProxy: null, httpsProxy: null, noProxy: '' } }),
  );
}

/** A viewer that speaks the RFB opening: version, security (expects None only), ClientInit; resolves with ServerInit's size and name. */
async function rfbViewer(ticketId: number): Promise<{ width: number; height: number; name: string; ws: WebSocket }> {
  const { body } = await ana.post(`/api/v1/tickets/${ticketId}/viewer-token`).expect(201);
  const ws = new WebSocket(body.url, { origin: h.server.url });
  let buf = Buffer.alloc(0);
  const waiters: (() => void)[] = [];
  ws.on('message', (d: Buffer) => {
    buf = Buffer.concat([buf, d]);
    waiters.splice(0).forEach((w) => w());
  });
  const take = async (n: number): Promise<Buffer> => {
    while (buf.length < n) await new Promise<void>((r) => waiters.push(r));
    const out = buf.subarray(0, n);
    buf = buf.subarray(n);
    return out;
  };
  await new Promise((resolve, reject) => {
    ws.once('open', resolve);
    ws.once('error', reject);
  });
  expect((await take(12)).toString()).toBe('RFB 003.008\n');
  ws.send(Buffer.from('RFB 003.008\n'));
  expect([...(await take(2))]).toEqual([1, 1]); // one type offered: None — the password stays on the user's machine
  ws.send(Buffer.from([1]));
  expect((await take(4)).readUInt32BE(0)).toBe(0);
  ws.send(Buffer.from([1])); // ClientInit, shared
  const init = await take(24);
  const name = (await take(init.readUInt32BE(20))).toString();
  return { width: init.readUInt16BE(0), height: init.readUInt16BE(2), name, ws };
}

describe('screen source vnc', () => {
  it('bridges a password-protected local VNC server to the viewer: authenticated here, no password asked there', async () => {
    const session = newSession({ kind: 'vnc', host: '127.0.0.1', port: vncPort, password: PASSWORD });
    await session.requestHelp('On Wayland');
    const id = session.snapshot.ticketId!;
    await ana.post(`/api/v1/tickets/${id}/accept`).expect(200);
    await reach(session, 'technician_offered');
    await session.allow(false);
    await reach(session, 'waiting_for_viewer');
    expect(session.x11vncPid).toBeNull(); // nothing started: the user's own server serves
    const viewer = await rfbViewer(id);
    expect({ width: viewer.width, height: viewer.height }).toEqual({ width: 1024, height: 768 });
    await reach(session, 'in_session');
    viewer.ws.terminate();
    await session.stop();
  }, 60_000);

  it('ends in words when the local server refuses the password, or does not answer', async () => {
    for (const [source, code] of [
      [{ kind: 'vnc', host: '127.0.0.1', port: vncPort, password: 'wrong-one' }, 'VNC_AUTH_FAILED'],
      [{ kind: 'vnc', host: '127.0.0.1', port: vncPort, password: null }, 'VNC_AUTH_FAILED'],
      [{ kind: 'vnc', host: '127.0.0.1', port: await freePort(), password: null }, 'VNC_UNREACHABLE'],
    ] as const) {
      const session = newSession(source);
      await session.requestHelp('Broken VNC');
      const id = session.snapshot.ticketId!;
      await ana.post(`/api/v1/tickets/${id}/accept`).expect(200);
      await reach(session, 'technician_offered');
      await session.allow(false);
      await reach(session, 'waiting_for_viewer');
      const { body } = await ana.post(`/api/v1/tickets/${id}/viewer-token`).expect(201);
      const ws = new WebSocket(body.url, { origin: h.server.url });
      let seen = 0;
      ws.on('message', () => {
        seen += 1;
        if (seen === 1) ws.send(Buffer.from('RFB 003.008\n')); // after the version
        if (seen === 2) ws.send(Buffer.from([1])); // after the security types: None
      });
      const ended = await reach(session, 'ended');
      expect(ended.error?.code).toBe(code);
      expect(describeSnapshot(ended)).toMatch(/screen-sharing service of this computer/);
      ws.terminate();
    }
  }, 60_000);
});

describe('screen source configuration', () => {
  it('accepts x11vnc or a loopback vnc:// address with a password file, and explains anything else', () => {
    const base = { HELPDESK_SERVER_URL: 'http://127.0.0.1:1', HELPDESK_CLIENT_CONFIG: '/nonexistent-is-not-read' };
    delete (base as Record<string, string>).HELPDESK_CLIENT_CONFIG;
    expect(loadClientConfig({ ...base }).source).toEqual({ kind: 'x11vnc' });
    expect(loadClientConfig({ ...base, HELPDESK_SOURCE: 'vnc://127.0.0.1', HELPDESK_VNC_PASSWORD_FILE: join(dir, 'passwd') }).source).toEqual({ kind: 'vnc', host: '127.0.0.1', port: 5900, password: PASSWORD });
    expect(() => loadClientConfig({ ...base, HELPDESK_SOURCE: 'vnc://10.1.2.3:5900' })).toThrow(/must be on this machine's loopback/);
    expect(() => loadClientConfig({ ...base, HELPDESK_SOURCE: 'rdp://127.0.0.1' })).toThrow(/only x11vnc or vnc/);
    expect(() => loadClientConfig({ ...base, HELPDESK_SOURCE: 'vnc://127.0.0.1', HELPDESK_VNC_PASSWORD_FILE: join(dir, 'missing') })).toThrow(/cannot read/);
    expect(loadClientConfig({ ...base, XDG_SESSION_TYPE: 'wayland' }).sourceNotice).toBe(WAYLAND_NOTICE);
    expect(loadClientConfig({ ...base, XDG_SESSION_TYPE: 'wayland', HELPDESK_SOURCE: 'vnc://127.0.0.1:5901' }).sourceNotice).toBeNull();
  });
});
