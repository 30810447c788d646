// A fake desktop API and fake tunnels for unit tests of the desktop core: the
// transport answers the desktop API of one help request (#7) from memory and
// feeds its event stream; each tunnel stands in for x11vnc and the repeater.
// The flows with real parts are help-session.test.ts, participants-x11vnc.test.ts
// and participants-vnc.test.ts.
import { EventEmitter } from 'node:events';
import type { DesktopStreamEvents, HelpRequestView } from '../../protocol/desktop-api.ts';
import type { DesktopError } from './errors.ts';
import { HelpSession, type FlowState, type LegTunnel } from './help-session.ts';
import type { Transport } from './transport.ts';
import type { TunnelClosed, TunnelOptions } from './tunnel.ts';

const SERVER = 'http://helpdesk.test';

export class FakeTunnel extends EventEmitter<{ closed: [TunnelClosed] }> implements LegTunnel {
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
export function fakeServer() {
  const calls: { method: string; path: string; body: unknown }[] = [];
  let view: HelpRequestView = { id: 7, status: 'requested', technician: null, viewOnly: false, recorded: false, endReason: null, createdAt: 1, updatedAt: 1, participants: [], mainChannel: true };
  let stream: ReadableStreamDefaultController<Uint8Array> | null = null;
  let tokens = 0;
  /** Participants whose desktop token is refused, with the HTTP status. */
  const refusals = new Map<number, number>();
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
      const participant = /\/participants\/(\d+)\/(desktop-token|approve|decline|stop)$/.exec(path);
      if (method === 'POST' && participant) {
        if (participant[2] !== 'desktop-token') return Promise.resolve(json(200, { participant: { technicianId: Number(participant[1]) } }));
        const refusal = refusals.get(Number(participant[1]));
        if (refusal) return Promise.resolve(json(refusal, { error: { code: 'PARTICIPANT_NOT_CONNECTED', message: 'not connected' } }));
        return Promise.resolve(json(201, { url: `ws://repeater.test/wsServer?token=p${participant[1]}-${++tokens}`, expiresAt: 0 }));
      }
      if (method === 'POST' && path.endsWith('/participants/stop-all')) return Promise.resolve(json(200, { participants: [] }));
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
    refusals,
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
/** Stops every session started here (an afterEach). */
export async function stopAll(): Promise<void> {
  for (const s of sessions.splice(0)) await s.stop();
}

export function start() {
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

export function reach(session: HelpSession, state: FlowState, timeoutMs = 3_000): Promise<void> {
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
export async function toWaitingForViewer(recorded = false) {
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

