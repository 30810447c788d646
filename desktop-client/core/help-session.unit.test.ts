// HelpSession on its own: a fake transport answers the desktop API and feeds
// the ticket's event stream, a fake tunnel stands in for x11vnc and the
// repeater. The whole flow with real parts is help-session.test.ts; this one
// pins the state machine's decisions, each in isolation.
import { EventEmitter } from 'node:events';
import { afterEach, describe, expect, it } from 'vitest';
import { CloseCode } from '../../protocol/close-codes.ts';
import type { DesktopStreamEvents, HelpRequestView } from '../../protocol/desktop-api.ts';
import { DesktopError } from './errors.ts';
import { HelpSession, type FlowState, type LegTunnel } from './help-session.ts';
import type { Transport } from './transport.ts';
import type { TunnelClosed, TunnelOptions } from './tunnel.ts';

const SERVER = 'http://helpdesk.test';

class FakeTunnel extends EventEmitter<{ closed: [TunnelClosed] }> implements LegTunnel {
  opened = false;
  closed = false;
  readonly options: TunnelOptions;
  readonly x11vncPid: number;

  constructor(
    options: TunnelOptions,
    x11vncPid: number,
  ) {
    super();
    this.options = options;
    this.x11vncPid = x11vncPid;
  }
  open(): Promise<void> {
    this.opened = true;
    return Promise.resolve();
  }
  close(): Promise<void> {
    this.closed = true;
    return Promise.resolve();
  }
  /** The repeater closed the desktop leg with this code (or the tunnel failed here: code 0 and an error). */
  drop(code: number, error: DesktopError | null = null): void {
    this.emit('closed', { code, reason: '', error });
  }
}

/** The desktop API of one help request (#7), in memory. */
function fakeServer() {
  const calls: { method: string; path: string; body: unknown }[] = [];
  let view: HelpRequestView = { id: 7, status: 'requested', technician: null, viewOnly: false, recorded: false, endReason: null, createdAt: 1, updatedAt: 1, participants: [], mainChannel: true };
  let stream: ReadableStreamDefaultController<Uint8Array> | null = null;
  let tokens = 0;
  const send = (event: string, data: unknown) => stream?.enqueue(new TextEncoder().encode(`event: ${event}\ndata: ${JSON.stringify(data)}\n\n`));
  const json = (status: number, body: unknown) => new Response(JSON.stringify(body), { status, headers: { 'content-type': 'application/json' } });
  const transport: Transport = {
    proxyFor: () => null,
    wsOptions: () => ({}),
    fetch(url, init = {}) {
      const method = init.method ?? 'GET';
      const path = url.slice(SERVER.length);
      calls.push({ method, path, body: typeof init.body === 'string' ? JSON.parse(init.body) : undefined });
      if (method === 'POST' && path === '/api/v1/help-requests') return Promise.resolve(json(201, { id: 7, clientSecret: 'secret', helpRequest: view }));
      if (path === '/api/v1/help-requests/7/events') {
        const body = new ReadableStream<Uint8Array>({
          start(controller) {
            stream = controller;
            init.signal?.addEventListener('abort', () => {
              stream = null;
              controller.close();
            });
          },
        });
        return Promise.resolve(new Response(body, { status: 200, headers: { 'content-type': 'text/event-stream' } }));
      }
      if (path.endsWith('/messages')) return Promise.resolve(json(200, { messages: [] }));
      if (path.endsWith('/files')) return Promise.resolve(json(200, { files: [] }));
      if (path.endsWith('/desktop-token')) return Promise.resolve(json(201, { url: `ws://repeater.test/wsServer?token=t${++tokens}`, expiresAt: 0 }));
      const moves: Record<string, HelpRequestView['status']> = { '/approve': 'approved', '/decline': 'requested', '/end': 'ended', '/cancel': 'cancelled' };
      const move = Object.entries(moves).find(([suffix]) => path.endsWith(suffix));
      if (method === 'POST' && move) {
        view = { ...view, status: move[1], ...(move[1] === 'requested' ? { technician: null } : {}) };
        // As the server does: the move is published on the ticket's stream before the answer.
        send('ticket', view);
        return Promise.resolve(json(200, view));
      }
      return Promise.resolve(json(404, { error: { code: 'NOT_FOUND', message: `nothing at ${method} ${path}` } }));
    },
  };
  return {
    transport,
    calls,
    /** Sends an event on the ticket's stream, as the server would. */
    push<K extends keyof DesktopStreamEvents>(event: K, data: DesktopStreamEvents[K]): void {
      if (!stream) throw new Error('the client has not opened its stream');
      send(event, data);
    },
    ticket(patch: Partial<HelpRequestView>): void {
      view = { ...view, ...patch };
      this.push('ticket', view);
    },
    posted: (suffix: string) => calls.filter((c) => c.method === 'POST' && c.path.endsWith(suffix)),
  };
}

const sessions: HelpSession[] = [];
afterEach(async () => {
  for (const s of sessions.splice(0)) await s.stop();
});

function start() {
  const server = fakeServer();
  const tunnels: FakeTunnel[] = [];
  const session = new HelpSession(
    { serverUrl: SERVER, clientKey: null, display: ':0', x11vncPath: 'x11vnc', requester: { requesterName: 'Eva', username: 'eva', hostname: 'eva-pc', os: 'Debian 12' } },
    server.transport,
    (options) => {
      const tunnel = new FakeTunnel(options, 1000 + tunnels.length);
      tunnels.push(tunnel);
      return tunnel;
    },
  );
  sessions.push(session);
  return { server, tunnels, session };
}

function reach(session: HelpSession, state: FlowState, timeoutMs = 3_000): Promise<void> {
  if (session.snapshot.state === state) return Promise.resolve();
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`still ${session.snapshot.state} (${JSON.stringify(session.snapshot)}), never ${state}`)), timeoutMs);
    const onState = (s: { state: FlowState }) => {
      if (s.state !== state) return;
      clearTimeout(timer);
      session.off('state', onState);
      resolve();
    };
    session.on('state', onState);
  });
}

/** Up to the technician's viewer awaited on the first tunnel. */
async function toWaitingForViewer(recorded = false) {
  const s = start();
  await s.session.requestHelp('The printer does not print');
  await reach(s.session, 'waiting_for_technician');
  await new Promise((r) => setTimeout(r, 50)); // the stream opens
  s.server.ticket({ status: 'accepted', technician: { displayName: 'Ana' }, recorded });
  await reach(s.session, 'technician_offered');
  await s.session.allow(false);
  await reach(s.session, 'waiting_for_viewer');
  await new Promise((r) => setTimeout(r, 20)); // the approval's stream event is read
  return s;
}

describe('HelpSession (fake transport and tunnel)', () => {
  it('asks once, shares the screen, re-arms without asking again when the viewer leaves, and ends in words', async () => {
    const { server, tunnels, session } = await toWaitingForViewer(true);
    expect(server.posted('/api/v1/help-requests')[0]!.body).toMatchObject({ requesterName: 'Eva', description: 'The printer does not print' });
    expect(session.snapshot).toMatchObject({ technicianName: 'Ana', recorded: true, viewOnly: false });
    // The user saw "This session will be recorded" before allowing: the approval says so.
    expect(server.posted('/approve').map((c) => c.body)).toEqual([{ viewOnly: false, screen: null, recordingNoticeShown: true }]);
    expect(tunnels).toHaveLength(1);
    expect(tunnels[0]!.opened).toBe(true);
    expect(tunnels[0]!.options.url).toBe('ws://repeater.test/wsServer?token=t1');

    server.push('connection', { state: 'paired', reason: null });
    await reach(session, 'in_session');

    // The viewer left: a fresh token and tunnel, no new consent.
    tunnels[0]!.drop(CloseCode.VIEWER_LEFT);
    await reach(session, 'connecting');
    await reach(session, 'waiting_for_viewer');
    expect(tunnels[0]!.closed).toBe(true);
    expect(tunnels).toHaveLength(2);
    expect(tunnels[1]!.options.url).toBe('ws://repeater.test/wsServer?token=t2');
    expect(server.posted('/approve')).toHaveLength(1);

    tunnels[1]!.drop(CloseCode.ENDED_BY_TECHNICIAN);
    await reach(session, 'ended');
    expect(session.snapshot.endReason).toBe('ENDED_BY_TECHNICIAN');
    expect(tunnels[1]!.closed).toBe(true);
  });

  it('a tunnel that fails here ends the session with its error, and the server is told', async () => {
    const { server, tunnels, session } = await toWaitingForViewer();
    tunnels[0]!.drop(0, new DesktopError('VNC_FAILED', 'x11vnc stopped'));
    await reach(session, 'ended');
    expect(session.snapshot.endReason).toBe('VNC_FAILED');
    expect(session.snapshot.error).toMatchObject({ code: 'VNC_FAILED' });
    await new Promise((r) => setTimeout(r, 20));
    expect(server.posted('/end')).toHaveLength(1);
  });

  it('a code the repeater does not own (1006) is a lost desktop leg: it re-arms', async () => {
    const { tunnels, session } = await toWaitingForViewer();
    tunnels[0]!.drop(1006);
    await reach(session, 'connecting');
    await reach(session, 'waiting_for_viewer');
    expect(tunnels).toHaveLength(2);
  });

  it('declining for good says so to the server and waits for another technician; a ticket sent back to the queue stops the sharing', async () => {
    const { server, session } = start();
    await session.requestHelp('Mail is stuck');
    await new Promise((r) => setTimeout(r, 50));
    server.ticket({ status: 'accepted', technician: { displayName: 'Ana' } });
    await reach(session, 'technician_offered');
    await session.decline(true);
    expect(session.snapshot.state).toBe('waiting_for_technician');
    expect(server.posted('/decline').map((c) => c.body)).toEqual([{ dontAskAgain: true }]);

    server.ticket({ status: 'accepted', technician: { displayName: 'Ben' } });
    await reach(session, 'technician_offered');
    expect(session.snapshot.technicianName).toBe('Ben');
  });

  it('the server sends the ticket back to the queue mid-session: the tunnel closes and the request waits again', async () => {
    const { server, tunnels, session } = await toWaitingForViewer();
    server.ticket({ status: 'requested', technician: null });
    await reach(session, 'waiting_for_technician');
    expect(tunnels[0]!.closed).toBe(true);
    expect(session.snapshot.technicianName).toBeNull();
  });
});
