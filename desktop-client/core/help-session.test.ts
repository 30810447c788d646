// The desktop client's core against the real server and repeater, with a real
// x11vnc on Xvfb. The technician's viewer is a plain websocket client here
// (the browser viewer has its own tests); it reads x11vnc's RFB greeting.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { createServer, connect as netConnect, type Server } from 'node:net';
import { WebSocket } from 'ws';
import { ADMIN_PASSWORD, startHarness, type Harness, type Tech } from '../../test/server-harness.ts';
import { startXDisplay, type XDisplay } from '../../test/x-display.ts';
import { CloseCode } from '../../protocol/close-codes.ts';
import { HelpSession, closeCodeNext, type FlowSnapshot, type FlowState } from './help-session.ts';
import { describeSnapshot, messages } from './messages.ts';
import type { CloseCodeId } from '../../protocol/close-codes.ts';
import { createTransport, selectProxy } from './transport.ts';
import type { ClientConfig } from './config.ts';
import { Tunnel } from './tunnel.ts';
import { DesktopError } from './errors.ts';

let h: Harness;
let x: XDisplay;
let ana: Tech;
let ben: Tech;
const sessions: HelpSession[] = [];

beforeAll(async () => {
  [h, x] = await Promise.all([startHarness('sqlite', { MAX_ACTIVE_TICKETS_PER_TECH: '20' }), startXDisplay()]);
  const admin = await h.login('admin', ADMIN_PASSWORD);
  ana = await h.createTechnician(admin, 'ana');
  ben = await h.createTechnician(admin, 'ben');
}, 60_000);

afterAll(async () => {
  for (const s of sessions) await s.stop().catch(() => undefined);
  await Promise.all(sessions.map((s) => s.settled()));
  await h?.close();
  await x?.stop();
});

const noProxy: ClientConfig['proxy'] = { httpProxy: null, httpsProxy: null, noProxy: '' };

function newSession(overrides: Partial<ClientConfig> = {}, proxy = noProxy): HelpSession {
  const config = {
    serverUrl: h.server.url,
    clientKey: null,
    display: x.display,
    x11vncPath: 'x11vnc',
    requester: { requesterName: 'Eve User', username: 'eve', hostname: 'eve-pc', os: 'Linux test' },
    ...overrides,
  };
  const session = new HelpSession(config, createTransport({ ca: null, proxy }));
  sessions.push(session);
  return session;
}

function reach(session: HelpSession, state: FlowState, timeoutMs = 15_000): Promise<FlowSnapshot> {
  if (session.snapshot.state === state) return Promise.resolve(session.snapshot);
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`never reached ${state}; at ${JSON.stringify(session.snapshot)}`)), timeoutMs);
    const onState = (s: FlowSnapshot) => {
      if (s.state !== state) return;
      clearTimeout(timer);
      session.off('state', onState);
      resolve(s);
    };
    session.on('state', onState);
  });
}

async function openViewer(tech: Tech, ticketId: number): Promise<{ ws: WebSocket; greeting: Promise<string> }> {
  const { body } = await tech.post(`/api/v1/tickets/${ticketId}/viewer-token`).expect(201);
  const ws = new WebSocket(body.url, { origin: h.server.url });
  const greeting = new Promise<string>((resolve) => ws.once('message', (d: Buffer) => resolve(d.toString())));
  await new Promise((resolve, reject) => {
    ws.once('open', resolve);
    ws.once('error', reject);
  });
  return { ws, greeting };
}

const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

describe('help session (desktop client core)', () => {
  it('runs the whole flow: request, offer, allow, x11vnc tunnel, viewer, stop', async () => {
    const session = newSession();
    const seen: FlowState[] = [];
    session.on('state', (s) => seen.push(s.state));
    await session.requestHelp('My screen is frozen');
    const ticketId = session.snapshot.ticketId!;
    const ticket = await ana.get(`/api/v1/tickets/${ticketId}`).expect(200);
    expect(ticket.body.ticket).toMatchObject({ requesterName: 'Eve User', username: 'eve', hostname: 'eve-pc', description: 'My screen is frozen' });
    await ana.post(`/api/v1/tickets/${ticketId}/accept`).expect(200);
    expect((await reach(session, 'technician_offered')).technicianName).toBe('Ana');
    await session.allow(false);
    await reach(session, 'waiting_for_viewer');
    const pid = session.x11vncPid!;
    expect(alive(pid)).toBe(true);
    expect(readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0')).toEqual(expect.arrayContaining(['-connect_or_exit', '-rfbport', '0']));
    const viewer = await openViewer(ana, ticketId);
    expect(await viewer.greeting).toMatch(/^RFB 003\.00\d\n$/);
    await reach(session, 'in_session');
    const viewerClosed = new Promise<number>((resolve) => viewer.ws.once('close', resolve));
    await session.stop();
    expect(session.snapshot).toMatchObject({ state: 'ended', endReason: 'ENDED_BY_USER' });
    expect(await viewerClosed).toBe(CloseCode.ENDED_BY_USER);
    await expect.poll(() => alive(pid), { timeout: 5000 }).toBe(false);
    expect(seen).toEqual(['requesting', 'waiting_for_technician', 'technician_offered', 'approved', 'connecting', 'waiting_for_viewer', 'in_session', 'ended']);
    const after = await ana.get(`/api/v1/tickets/${ticketId}`).expect(200);
    expect(after.body.ticket).toMatchObject({ status: 'ended', endReason: 'ENDED_BY_USER' });
  }, 60_000);

  it('declines a technician, keeps waiting, and is offered another', async () => {
    const session = newSession();
    await session.requestHelp('Printer');
    const id = session.snapshot.ticketId!;
    await ana.post(`/api/v1/tickets/${id}/accept`).expect(200);
    await reach(session, 'technician_offered');
    await session.decline();
    expect(session.snapshot).toMatchObject({ state: 'waiting_for_technician', technicianName: null });
    await ben.post(`/api/v1/tickets/${id}/accept`).expect(200);
    expect((await reach(session, 'technician_offered')).technicianName).toBe('Ben');
    await session.stop();
    expect(session.snapshot.endReason).toBe('CANCELLED');
  }, 30_000);

  it('re-arms with a fresh token and a fresh x11vnc when the viewer drops, with -viewonly kept', async () => {
    const session = newSession();
    await session.requestHelp('Look only');
    const id = session.snapshot.ticketId!;
    await ana.post(`/api/v1/tickets/${id}/accept`).expect(200);
    await reach(session, 'technician_offered');
    await session.allow(true);
    await reach(session, 'waiting_for_viewer');
    const firstPid = session.x11vncPid!;
    expect(readFileSync(`/proc/${firstPid}/cmdline`, 'utf8').split('\0')).toContain('-viewonly');
    const first = await openViewer(ana, id);
    await first.greeting;
    await reach(session, 'in_session');
    first.ws.close();
    await reach(session, 'connecting');
    await reach(session, 'waiting_for_viewer');
    const secondPid = session.x11vncPid!;
    expect(secondPid).not.toBe(firstPid);
    await expect.poll(() => alive(firstPid), { timeout: 5000 }).toBe(false);
    const second = await openViewer(ana, id);
    expect(await second.greeting).toMatch(/^RFB /);
    await reach(session, 'in_session');
    const closed = new Promise<number>((resolve) => second.ws.once('close', resolve));
    await ana.post(`/api/v1/tickets/${id}/end`).expect(200);
    expect((await reach(session, 'ended')).endReason).toBe('ENDED_BY_TECHNICIAN');
    expect(await closed).toBe(CloseCode.ENDED_BY_TECHNICIAN);
    await expect.poll(() => alive(secondPid), { timeout: 5000 }).toBe(false);
  }, 60_000);

  it.each([
    ['x11vnc is missing', { x11vncPath: '/nonexistent/x11vnc' }, 'X11VNC_MISSING', /x11vnc is not installed/],
    ['there is no X display', { display: ':4999' }, 'NO_DISPLAY', /cannot open display :4999/],
  ] as const)('ends with a clear message when %s, and tells the server', async (_name, overrides, code, words) => {
    const session = newSession(overrides);
    await session.requestHelp('Broken setup');
    const id = session.snapshot.ticketId!;
    await ana.post(`/api/v1/tickets/${id}/accept`).expect(200);
    await reach(session, 'technician_offered');
    await session.allow(false);
    const ended = await reach(session, 'ended');
    expect(ended.error).toMatchObject({ code });
    expect(ended.error!.message).toMatch(words);
    await expect.poll(async () => (await ana.get(`/api/v1/tickets/${id}`)).body.ticket.status).toBe('ended');
  }, 30_000);

  it('says the server is unreachable and stays ready to retry', async () => {
    const session = newSession({ serverUrl: 'http://127.0.0.1:9' });
    await expect(session.requestHelp('hello')).rejects.toThrow(DesktopError);
    expect(session.snapshot).toMatchObject({ state: 'idle', error: { code: 'SERVER_UNREACHABLE' } });
    expect(session.snapshot.error!.message).toMatch(/Cannot reach the helpdesk server at http:\/\/127\.0\.0\.1:9/);
  });

  it('refuses to start a tunnel with a refused token, before starting x11vnc', async () => {
    const tunnel = new Tunnel({ url: `${h.server.url.replace('http', 'ws')}/wsServer?token=${'A'.repeat(43)}`, display: x.display, viewOnly: false, x11vncBinary: 'x11vnc' });
    await expect(tunnel.open()).rejects.toMatchObject({ code: 'TOKEN_REFUSED', message: expect.stringMatching(/HTTP 401 TOKEN_INVALID/) });
    expect(tunnel.x11vncPid).toBeNull();
  });

  it('goes through HTTP_PROXY (CONNECT) unless NO_PROXY names the server', async () => {
    const proxy = await startConnectProxy();
    try {
      const session = newSession({}, { httpProxy: `http://127.0.0.1:${proxy.port}`, httpsProxy: null, noProxy: 'example.invalid' });
      await session.requestHelp('through the proxy');
      const id = session.snapshot.ticketId!;
      await ana.post(`/api/v1/tickets/${id}/accept`).expect(200);
      await reach(session, 'technician_offered');
      await session.allow(false);
      await reach(session, 'waiting_for_viewer');
      expect(proxy.targets.size).toBe(1);
      expect([...proxy.targets][0]).toBe(new URL(h.server.url).host);
      expect(proxy.count).toBeGreaterThanOrEqual(2); // API calls and the /wsServer websocket
      await session.stop();
      // Let the stopped session's pooled proxy connections settle before counting.
      await new Promise((r) => setTimeout(r, 500));
      const before = proxy.count;
      const bypass = newSession({}, { httpProxy: `http://127.0.0.1:${proxy.port}`, httpsProxy: null, noProxy: 'localhost,127.0.0.1' });
      await bypass.requestHelp('direct');
      await bypass.stop();
      expect(proxy.count).toBe(before);
    } finally {
      proxy.server.close();
    }
  }, 30_000);
});

describe('every attempt clean from start to end', () => {
  it('a Stop while the request is being created ends at once, withdraws it on the server, and throws nothing late', async () => {
    const session = newSession({ requester: { requesterName: 'Quick Quitter', username: 'quitter', hostname: 'q-pc', os: 'Linux' } });
    const requesting = session.requestHelp('Never mind');
    expect(session.snapshot.state).toBe('requesting');
    await session.stop();
    await expect(requesting).resolves.toBeUndefined();
    expect(session.snapshot).toMatchObject({ state: 'ended', endReason: 'CANCELLED' });
    const queue = (await ana.get('/api/v1/tickets/queue').expect(200)).body.tickets as { username: string }[];
    expect(queue.filter((t) => t.username === 'quitter')).toEqual([]);
    const admin = await h.login('admin', ADMIN_PASSWORD);
    const history = (await admin.get('/api/v1/tickets?requester=Quick').expect(200)).body;
    expect(history.rows.map((r: { status: string }) => r.status)).toEqual(['cancelled']);
  });

  // Every close code the repeater can send to a waiting desktop leads somewhere defined, with words.
  it.each(Object.entries(closeCodeNext) as [CloseCodeId, 'rearm' | 'end'][])('close code %s → %s', async (code, next) => {
    const session = newSession();
    await session.requestHelp(`Close code ${code}`);
    const id = session.snapshot.ticketId!;
    await ana.post(`/api/v1/tickets/${id}/accept`).expect(200);
    await reach(session, 'technician_offered');
    await session.allow(false);
    await reach(session, 'waiting_for_viewer');
    const firstPid = session.x11vncPid!;
    const leaving = next === 'rearm' ? reach(session, 'connecting') : reach(session, 'ended');
    expect(h.server.repeater!.endTicket(String(id), code)).toBe(true);
    const after = await leaving;
    if (next === 'rearm') {
      await reach(session, 'waiting_for_viewer');
      expect(session.x11vncPid).not.toBe(firstPid);
      await session.stop();
    } else {
      expect(after.endReason).toBe(code);
      expect(describeSnapshot(after)).not.toMatch(/unexpected error/);
      expect(messages[`reason.${code}`]).toBeTruthy();
      await ana.post(`/api/v1/tickets/${id}/end`).expect(200);
    }
  }, 30_000);
});

describe('selectProxy', () => {
  const proxy = { httpProxy: 'http://p:3128', httpsProxy: 'http://sp:3128', noProxy: '.corp.example, localhost, 10.0.0.5:8443' };
  it.each([
    ['https://help.example.com/', 'http://sp:3128'],
    ['wss://help.example.com/wsServer', 'http://sp:3128'],
    ['http://help.example.com/', 'http://p:3128'],
    ['https://help.corp.example/', null],
    ['https://corp.example/', null],
    ['http://localhost:8080/', null],
    ['https://10.0.0.5:8443/', null],
    ['https://10.0.0.5/', 'http://sp:3128'],
  ])('%s → %s', (url, expected) => {
    expect(selectProxy(url, proxy)).toBe(expected);
  });
});

/** A minimal HTTP CONNECT proxy on loopback that records where it tunnels to. */
function startConnectProxy(): Promise<{ server: Server; port: number; count: number; targets: Set<string> }> {
  const state: { count: number; targets: Set<string> } = { count: 0, targets: new Set<string>() };
  const server = createServer((client) => {
    client.once('data', (head) => {
      const match = /^CONNECT ([^ ]+):(\d+) HTTP\/1\.1/.exec(head.toString());
      if (!match) return client.destroy();
      state.count += 1;
      state.targets.add(`${match[1]}:${match[2]}`);
      const upstream = netConnect(Number(match[2]), match[1], () => {
        client.write('HTTP/1.1 200 Connection Established\r\n\r\n');
        upstream.pipe(client).pipe(upstream);
      });
      upstream.on('error', () => client.destroy());
      client.on('error', () => upstream.destroy());
    });
  });
  return new Promise((resolve) => {
    server.listen(0, '127.0.0.1', () => {
      const result = { server, port: (server.address() as { port: number }).port, targets: state.targets, get count() { return state.count; } };
      resolve(result);
    });
  });
}
