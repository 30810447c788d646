// The repeater: authorizes websocket upgrades on /wsServer (desktop) and
// /wsClient (viewer), pairs the two legs of a ticket and relays between them.
// It attaches to any http.Server; authorization is injected, so this folder
// imports nothing from server/.
import { randomUUID } from 'node:crypto';
import { EventEmitter } from 'node:events';
import { createServer, STATUS_CODES, type IncomingMessage, type Server } from 'node:http';
import type { Duplex } from 'node:stream';
import type { AddressInfo, Socket } from 'node:net';
import { RefusalCode, type CloseCodeId, type RefusalCodeId } from '../protocol/close-codes.ts';
import { defaultRepeaterOptions, type AuthorizeLeg, type RepeaterEvents, type RepeaterLogger, type RepeaterOptions } from './contract.ts';
import { sidePaths, type LegRequest, type LegSide, type RecordOrder } from '../protocol/repeater.ts';
import { checkHandshake, switchingProtocols } from './frames.ts';
import { Leg, departureReason, type LegHooks } from './leg.ts';
import { PairingTable } from './pairing-table.ts';
import { LegLimits } from './leg-limits.ts';
import { RECORDING_FORMAT_VERSION, Recorder, type RecorderOptions } from './recording.ts';

/** A paired session: its two legs and when it started. */
interface Relay {
  desktop: Leg;
  viewer: Leg;
  startedAt: Date;
  recorder: Recorder | null;
}

export interface RepeaterDeps {
  authorizeLeg: AuthorizeLeg;
  logger: RepeaterLogger;
  options?: Partial<RepeaterOptions>;
  /** This node's name when it runs as its own process (told to the authorizer with each leg). */
  node?: string | null;
  /** Where recordings go (tests may slow the disk down); a file under options.recordingsDir by default. */
  openRecordingSink?: RecorderOptions['openSink'];
}

const sideByPath = new Map<string, LegSide>([
  [sidePaths.desktop, 'desktop'],
  [sidePaths.viewer, 'viewer'],
]);

export class Repeater extends EventEmitter<RepeaterEvents> {
  readonly options: Readonly<RepeaterOptions>;
  readonly #authorizeLeg: AuthorizeLeg;
  readonly #node: string | null;
  readonly #log: RepeaterLogger;
  readonly #table = new PairingTable();
  readonly #relays = new Map<string, Relay>();
  readonly #limits: LegLimits;
  readonly #heartbeat: NodeJS.Timeout;
  readonly #progress: NodeJS.Timeout;
  readonly #hooks: LegHooks;
  /** Every upgraded socket until it is gone (shutdown waits for them). */
  readonly #sockets = new Set<Socket>();
  #socketsGone: (() => void) | null = null;
  #ownServer: Server | null = null;
  #closing = false;
  /** Recordings still being written (close() waits for them). */
  readonly #finishing = new Set<Promise<unknown>>();
  readonly #openRecordingSink: RecorderOptions['openSink'];

  constructor(deps: RepeaterDeps) {
    super();
    this.options = Object.freeze({ ...defaultRepeaterOptions, ...deps.options });
    this.#authorizeLeg = deps.authorizeLeg;
    this.#node = deps.node ?? null;
    this.#openRecordingSink = deps.openRecordingSink;
    this.#log = deps.logger.child({ component: 'repeater' });
    this.#limits = new LegLimits(this.options.maxLegs, this.options.maxLegsPerAddress);
    this.#hooks = {
      departed: (leg, code) => this.#legDeparted(leg, code),
      socketClosed: (leg) => {
        this.#table.remove(leg);
        this.#sockets.delete(leg.socket);
        if (this.#sockets.size === 0) this.#socketsGone?.();
      },
    };
    this.#heartbeat = setInterval(() => this.#beat(), this.options.heartbeatIntervalMs);
    this.#heartbeat.unref();
    this.#progress = setInterval(() => this.#reportProgress(), this.options.progressIntervalMs);
    this.#progress.unref();
  }

  #reportProgress(): void {
    if (this.#relays.size === 0) return;
    const sessions = [...this.#relays.values()].map((r) => ({
      ticketId: r.desktop.ticketId,
      bytesDesktopToViewer: r.desktop.bytesIn,
      bytesViewerToDesktop: r.viewer.bytesIn,
    }));
    this.emit('progress', { sessions });
  }

  /** Claims every upgrade on this server: repeater paths are handled, others refused. */
  attach(server: Server): this {
    server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
      void this.handleUpgrade(req, socket, head);
    });
    return this;
  }

  /** Runs the repeater on its own port (0 for any); resolves with the bound address. */
  async listen(port: number, host = '127.0.0.1', handler?: Parameters<typeof createServer>[1]): Promise<AddressInfo> {
    const server = createServer(
      handler ??
        ((_req, res) => {
          res.writeHead(404, { 'content-type': 'application/json' });
          res.end(JSON.stringify({ error: { code: 'NOT_FOUND', message: 'Only websocket upgrades are served here' } }));
        }),
    );
    this.#ownServer = server;
    this.attach(server);
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, host, () => resolve());
    });
    return server.address() as AddressInfo;
  }

  get stats(): { legs: number; tickets: number; sessions: number } {
    return { legs: this.#limits.total, tickets: this.#table.ticketCount, sessions: this.#relays.size };
  }

  /** Whether a ticket's side has a leg connected (waiting or paired). */
  legState(ticketId: string, side: LegSide): 'waiting' | 'paired' | null {
    const leg = this.#table.get(ticketId)?.[side];
    return leg && leg.state !== 'closed' ? leg.state : null;
  }

  /** Bytes queued by the repeater towards each side of a paired session (diagnostics, tests). */
  bufferedBytes(ticketId: string): { toDesktop: number; toViewer: number } | null {
    const relay = this.#relays.get(ticketId);
    if (!relay) return null;
    return { toDesktop: relay.desktop.socket.writableLength, toViewer: relay.viewer.socket.writableLength };
  }

  /** What this repeater holds now: paired sessions and waiting legs (a node's `sync`). */
  holdings(): { sessions: { ticketId: string; startedAt: number }[]; waiting: { ticketId: string; side: LegSide }[] } {
    const sessions = [...this.#relays.values()].map((r) => ({ ticketId: r.desktop.ticketId, startedAt: r.startedAt.getTime() }));
    const waiting = [...this.#table.legs()].filter((l) => l.state === 'waiting').map((l) => ({ ticketId: l.ticketId, side: l.side }));
    return { sessions, waiting };
  }

  /** Whether close() has begun. */
  get closing(): boolean {
    return this.#closing;
  }

  async handleUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): Promise<void> {
    socket.on('error', rawSocketOnError);
    const remoteAddress = req.socket.remoteAddress ?? 'unknown';
    const url = new URL(req.url ?? '/', 'http://repeater.invalid');
    const side = sideByPath.get(url.pathname);
    if (!side) return this.#refuse(socket, 'NOT_FOUND', 'No websocket is served at this path', url.pathname, remoteAddress);
    if (this.#closing) return this.#refuse(socket, 'SHUTTING_DOWN', 'The repeater is shutting down', url.pathname, remoteAddress);
    // A malformed handshake is refused before a token is spent on it.
    const handshake = checkHandshake(req);
    if (!handshake.ok) return this.#refuse(socket, 'BAD_HANDSHAKE', handshake.message, url.pathname, remoteAddress, handshake.status);
    const limited = this.#limits.acquire(remoteAddress);
    if (limited) {
      const message = limited === 'TOO_MANY_LEGS' ? 'The repeater is at capacity' : 'Too many connections from this address';
      return this.#refuse(socket, limited, message, url.pathname, remoteAddress);
    }
    socket.once('close', () => this.#limits.release(remoteAddress));

    const request: LegRequest = {
      path: url.pathname,
      token: url.searchParams.get('token'),
      origin: headerValue(req.headers.origin),
      host: headerValue(req.headers.host),
      scheme: (req.socket as { encrypted?: boolean }).encrypted ? 'https' : 'http',
      forwardedProto: headerValue(req.headers['x-forwarded-proto']),
      remoteAddress,
      side,
      node: this.#node,
    };
    if (!request.token) return this.#refuse(socket, 'TOKEN_MISSING', 'A token query parameter is required', url.pathname, remoteAddress);

    let authorization;
    try {
      authorization = await this.#authorizeLeg(request);
    } catch (err) {
      this.#log.error({ err, path: url.pathname }, 'authorizeLeg failed');
      return this.#refuse(socket, 'AUTHORIZER_FAILED', 'Authorization is unavailable, try again', url.pathname, remoteAddress);
    }
    if (!authorization.ok) {
      return this.#refuse(socket, authorization.code, authorization.message, url.pathname, remoteAddress);
    }
    if (authorization.side !== side) {
      return this.#refuse(socket, 'WRONG_SIDE', `This token is for the ${authorization.side} side`, url.pathname, remoteAddress);
    }
    if (socket.destroyed || !socket.writable || this.#closing) {
      socket.destroy();
      return;
    }
    socket.off('error', rawSocketOnError);
    socket.write(switchingProtocols(handshake));
    this.#admit(socket as Socket, head, authorization.ticketId, side, remoteAddress, authorization.record ?? null);
  }

  /** Ends a ticket's legs (waiting or paired) with a server-chosen reason. */
  endTicket(ticketId: string, reason: CloseCodeId): boolean {
    const slot = this.#table.get(ticketId);
    if (!slot) return false;
    const relay = this.#relays.get(ticketId);
    if (relay) {
      this.#endSession(relay, reason, null);
      return true;
    }
    for (const leg of [slot.desktop, slot.viewer]) {
      if (leg) this.#closeWaiting(leg, reason);
    }
    return true;
  }

  /**
   * Refuses new upgrades, closes every leg with `reason` (SHUTDOWN by default;
   * the events still fire), and resolves once every socket is gone — at most
   * closeTimeoutMs later — and the own server, if any, is closed.
   */
  async close(reason: CloseCodeId = 'SHUTDOWN'): Promise<void> {
    this.#closing = true;
    clearInterval(this.#heartbeat);
    clearInterval(this.#progress);
    for (const relay of [...this.#relays.values()]) this.#endSession(relay, reason, null);
    for (const leg of [...this.#table.legs()]) this.#closeWaiting(leg, reason);
    while (this.#finishing.size > 0) await Promise.all([...this.#finishing]);
    if (this.#sockets.size > 0) {
      await new Promise<void>((resolve) => {
        this.#socketsGone = resolve;
      });
    }
    const server = this.#ownServer;
    if (server) {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    }
  }

  #admit(socket: Socket, head: Buffer, ticketId: string, side: LegSide, remoteAddress: string, record: RecordOrder | null): void {
    const leg = new Leg(socket, ticketId, side, remoteAddress, this.options, this.#hooks, head);
    leg.recordOrder = record;
    this.#sockets.add(socket);
    const outcome = this.#table.add(leg);
    if (outcome.kind === 'duplicate') {
      this.#log.warn({ ticketId, side }, 'duplicate leg refused');
      leg.closeWith('DUPLICATE_LEG');
      return;
    }
    if (outcome.kind === 'waiting') {
      leg.waitingTimer = setTimeout(() => this.#closeWaiting(leg, 'WAITING_TIMEOUT'), this.options.waitingTimeoutMs);
      this.#log.info({ ticketId, side }, 'leg waiting');
      this.emit('legWaiting', { ticketId, side, remoteAddress, at: new Date() });
      leg.startWaiting();
      return;
    }
    const { desktop, viewer } = outcome;
    desktop.transition('paired');
    viewer.transition('paired');
    const startedAt = new Date();
    const sessionId = randomUUID();
    const order = desktop.recordOrder ?? viewer.recordOrder;
    const recorder = order ? this.#startRecording(ticketId, sessionId, startedAt, order) : null;
    const relay: Relay = { desktop, viewer, startedAt, recorder };
    this.#relays.set(ticketId, relay);
    desktop.recorder = recorder;
    viewer.recorder = recorder;
    desktop.relayTo(viewer);
    viewer.relayTo(desktop);
    this.#log.info({ ticketId, sessionId, recording: recorder?.recordingId }, 'legs paired');
    this.emit('paired', {
      ticketId,
      desktopAddress: desktop.remoteAddress,
      viewerAddress: viewer.remoteAddress,
      at: startedAt,
      sessionId,
      recording: recorder ? { id: recorder.recordingId, file: recorder.file } : null,
    });
  }

  #startRecording(ticketId: string, sessionId: string, startedAt: Date, order: RecordOrder): Recorder {
    const recordingId = randomUUID();
    return new Recorder(
      recordingId,
      {
        format: 'helpdesk-session-recording',
        version: RECORDING_FORMAT_VERSION,
        recordingId,
        ticketId,
        remoteSession: sessionId,
        startedAt: startedAt.getTime(),
        meta: order.meta,
      },
      {
        dir: this.options.recordingsDir,
        maxBufferBytes: this.options.recordingMaxBufferBytes,
        finishTimeoutMs: this.options.closeTimeoutMs,
        openSink: this.#openRecordingSink,
      },
    );
  }

  #finishRecording(recorder: Recorder, endedAt: Date, reason: CloseCodeId): void {
    const done = recorder.finish({ endedAt: endedAt.getTime(), reason }).then(
      (result) => {
        if (result.state !== 'complete') this.#log.warn({ ...result }, 'recording not complete');
        this.emit('recordingClosed', result);
      },
      (err: unknown) => this.#log.error({ err, recordingId: recorder.recordingId }, 'finishing a recording failed'),
    );
    this.#finishing.add(done);
    void done.finally(() => this.#finishing.delete(done));
  }

  #legDeparted(leg: Leg, code: number): void {
    if (leg.state === 'closed') return;
    const reason = departureReason(leg, code);
    if (leg.state === 'waiting') {
      this.#closeWaiting(leg, reason);
      return;
    }
    const relay = this.#relays.get(leg.ticketId);
    if (relay) this.#endSession(relay, reason, leg.side);
  }

  #closeWaiting(leg: Leg, reason: CloseCodeId): void {
    if (leg.state !== 'waiting') return;
    leg.closeWith(reason);
    this.#table.remove(leg);
    this.#log.info({ ticketId: leg.ticketId, side: leg.side, reason }, 'waiting leg closed');
    this.emit('legClosed', { ticketId: leg.ticketId, side: leg.side, reason, waitedMs: Date.now() - leg.openedAt });
  }

  #endSession(relay: Relay, reason: CloseCodeId, endedBy: LegSide | null): void {
    const { desktop, viewer } = relay;
    if (!this.#relays.delete(desktop.ticketId)) return;
    desktop.closeWith(reason);
    viewer.closeWith(reason);
    this.#table.remove(desktop);
    this.#table.remove(viewer);
    const endedAt = new Date();
    const event = {
      ticketId: desktop.ticketId,
      reason,
      endedBy,
      bytesDesktopToViewer: desktop.bytesIn,
      bytesViewerToDesktop: viewer.bytesIn,
      startedAt: relay.startedAt,
      endedAt,
      durationMs: endedAt.getTime() - relay.startedAt.getTime(),
    };
    this.#log.info(event, 'session ended');
    this.emit('ended', event);
    desktop.recorder = null;
    viewer.recorder = null;
    if (relay.recorder) this.#finishRecording(relay.recorder, endedAt, reason);
  }

  /** One timer for all paired legs: a leg that missed the last pong is terminated. */
  #beat(): void {
    for (const relay of this.#relays.values()) {
      for (const leg of [relay.desktop, relay.viewer]) {
        if (leg.heldForBackpressure) continue; // its pong cannot be read while held
        if (!leg.alive) {
          leg.terminate('HEARTBEAT_TIMEOUT');
          continue;
        }
        leg.alive = false;
        leg.ping();
      }
    }
  }

  #refuse(socket: Duplex, code: RefusalCodeId, message: string, path: string, remoteAddress: string, status: number = RefusalCode[code]): void {
    this.#log.info({ code, path, remoteAddress }, 'upgrade refused');
    if (!socket.destroyed && socket.writable) {
      const body = JSON.stringify({ error: { code, message } });
      socket.end(
        `HTTP/1.1 ${status} ${STATUS_CODES[status]}\r\n` +
          'Connection: close\r\nContent-Type: application/json\r\n' +
          (status === 400 && code === 'BAD_HANDSHAKE' ? 'Sec-WebSocket-Version: 13\r\n' : '') +
          `Content-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`,
      );
    }
    socket.destroy();
  }
}

function headerValue(value: string | string[] | undefined): string | null {
  if (value === undefined) return null;
  return Array.isArray(value) ? (value[0] ?? null) : value;
}

/** A raw socket error before or during the upgrade: the socket is dropped, the process lives. */
function rawSocketOnError(this: Duplex): void {
  this.destroy();
}
