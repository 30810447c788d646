// The repeater: authorizes websocket upgrades on /wsServer (desktop) and
// /wsClient (viewer), pairs the two legs of a ticket and relays between them.
// It attaches to any http.Server; authorization is injected, so this folder
// imports nothing from server/.
import { EventEmitter } from 'node:events';
import type { IncomingMessage, RequestListener, Server } from 'node:http';
import type { Duplex } from 'node:stream';
import type { AddressInfo, Socket } from 'node:net';
import type { CloseCodeId } from '../protocol/close-codes.ts';
import { defaultRepeaterOptions, type AuthorizeLeg, type RepeaterEvents, type RepeaterLogger, type RepeaterOptions } from './contract.ts';
import type { LegSide } from '../protocol/repeater.ts';
import { Leg, departureReason, type LegHooks } from './leg.ts';
import { PairingTable } from './pairing-table.ts';
import { LegLimits } from './leg-limits.ts';
import type { RecorderOptions } from './recording-writer.ts';
import { ConnectionGate } from './connection-gate.ts';
import { UpgradeDoor, type Admitted } from './upgrade-door.ts';
import type { TrustProxy } from './client-address.ts';
import { listening, ownServer } from './own-server.ts';
import { relayRecordingHooks } from './recording-hooks.ts';
import { SessionRecordings, type SessionRecording } from './session-recordings.ts';

/** A paired session: its name, its two legs and when it started. */
interface Relay {
  sessionId: string;
  desktop: Leg;
  viewer: Leg;
  startedAt: Date;
  recorder: SessionRecording | null;
}

export interface RepeaterDeps {
  authorizeLeg: AuthorizeLeg;
  logger: RepeaterLogger;
  options?: Partial<RepeaterOptions>;
  /** This node's name when it runs as its own process (told to the authorizer with each leg). */
  node?: string | null;
  /** Where recordings go (tests may slow the disk down); a file under options.recordingsDir by default. */
  openRecordingSink?: RecorderOptions['openSink'];
  /** The gate of the server it attaches to (the host's, when it gates its other requests too); one from the options by default. */
  gate?: ConnectionGate;
  /** TRUST_PROXY: proxies whose X-Forwarded-For names a leg's client (its limits, events, audit) and who count only to the gate's total; none by default. */
  trustProxy?: TrustProxy;
}

export class Repeater extends EventEmitter<RepeaterEvents> {
  readonly options: Readonly<RepeaterOptions>;
  readonly #log: RepeaterLogger;
  readonly #table = new PairingTable();
  readonly #relays = new Map<string, Relay>();
  /** Each admitted leg's remote session (its slot's name). */
  readonly #sessionOf = new WeakMap<Leg, string>();
  readonly #limits: LegLimits;
  readonly #heartbeat: NodeJS.Timeout;
  readonly #progress: NodeJS.Timeout;
  readonly #hooks: LegHooks;
  /** Every upgraded socket until it is gone (shutdown waits for them). */
  readonly #sockets = new Set<Socket>();
  #socketsGone: (() => void) | null = null;
  #ownServer: Server | null = null;
  #closing = false;
  readonly #recordings: SessionRecordings;
  readonly #gate: ConnectionGate;
  readonly #door: UpgradeDoor;

  constructor(deps: RepeaterDeps) {
    super();
    this.options = Object.freeze({ ...defaultRepeaterOptions, ...deps.options });
    this.#log = deps.logger.child({ component: 'repeater' });
    this.#limits = new LegLimits(this.options.maxLegs, this.options.maxLegsPerAddress);
    this.#recordings = new SessionRecordings(this.options, this.#log, (result) => this.emit('recordingClosed', result), deps.openRecordingSink);
    const trustProxy = deps.trustProxy ?? (() => false);
    this.#gate = deps.gate ?? ConnectionGate.fromOptions(this.options, (address) => trustProxy(address, 0));
    const door = { authorizeLeg: deps.authorizeLeg, limits: this.#limits, gate: this.#gate, log: this.#log, node: deps.node ?? null, trustProxy };
    this.#door = new UpgradeDoor({ ...door, closing: () => this.#closing, admit: (leg) => this.#admit(leg) });
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
      sessionId: r.sessionId,
      ticketId: r.desktop.ticketId,
      bytesDesktopToViewer: r.desktop.bytesIn,
      bytesViewerToDesktop: r.viewer.bytesIn,
    }));
    this.emit('progress', { sessions });
  }

  /** Claims every upgrade on this server (repeater paths are handled, others refused) and gates its connections. */
  attach(server: Server): this {
    this.#gate.attach(server);
    server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
      void this.handleUpgrade(req, socket, head);
    });
    return this;
  }

  /** Runs the repeater on its own port (0 for any); resolves with the bound address. */
  async listen(port: number, host = '127.0.0.1', handler?: RequestListener): Promise<AddressInfo> {
    const server = (this.#ownServer = ownServer(handler));
    this.attach(server);
    return listening(server, port, host);
  }

  get stats(): { legs: number; tickets: number; sessions: number } {
    return { legs: this.#limits.total, tickets: this.#table.ticketCount, sessions: this.#relays.size };
  }

  /** Each live session's bytes relayed each way, kept per frame piece (metrics add those of ended sessions from 'ended'). */
  get liveRelayBytes(): { desktopToViewer: number; viewerToDesktop: number }[] {
    return [...this.#relays.values()].map((r) => ({ desktopToViewer: r.desktop.bytesIn, viewerToDesktop: r.viewer.bytesIn }));
  }

  /** Whether a ticket's side has a leg connected (waiting or paired). */
  legState(ticketId: string, side: LegSide): 'waiting' | 'paired' | null {
    const leg = this.#table.get(ticketId)?.[side];
    return leg && leg.state !== 'closed' ? leg.state : null;
  }

  /** Bytes queued by the repeater towards each side of a ticket's legs, waiting or paired (diagnostics, tests). */
  bufferedBytes(ticketId: string): { toDesktop: number; toViewer: number } | null {
    const slot = this.#table.get(ticketId);
    if (!slot) return null;
    return { toDesktop: slot.desktop?.socket.writableLength ?? 0, toViewer: slot.viewer?.socket.writableLength ?? 0 };
  }

  /** Whether close() has begun. */
  get closing(): boolean {
    return this.#closing;
  }

  handleUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): Promise<void> {
    return this.#door.handle(req, socket, head);
  }

  /** Connections of the attached servers not yet answered (tests). */
  get pendingConnections(): number {
    return this.#gate.pending;
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
    await this.#recordings.close();
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

  #admit({ socket, head, ticketId, side, remoteAddress, record }: Admitted): void {
    const leg = new Leg(socket, ticketId, side, remoteAddress, this.options, this.#hooks, head);
    leg.recordOrder = record;
    this.#sockets.add(socket);
    const outcome = this.#table.add(leg);
    const sessionId = this.#table.get(ticketId)!.sessionId;
    this.#sessionOf.set(leg, sessionId);
    if (outcome.kind === 'duplicate') {
      this.#log.warn({ ticketId, side }, 'duplicate leg refused');
      leg.closeWith('DUPLICATE_LEG');
      return;
    }
    if (outcome.kind === 'waiting') {
      leg.waitingTimer = setTimeout(() => this.#closeWaiting(leg, 'WAITING_TIMEOUT'), this.options.waitingTimeoutMs);
      this.#log.info({ ticketId, side }, 'leg waiting');
      this.emit('legWaiting', { sessionId, ticketId, side, remoteAddress, at: new Date() });
      leg.startWaiting();
      return;
    }
    const { desktop, viewer } = outcome;
    desktop.transition('paired');
    viewer.transition('paired');
    const startedAt = new Date();
    const order = desktop.recordOrder ?? viewer.recordOrder;
    const failed = (): void => {
      const relay = this.#relays.get(ticketId);
      if (relay?.desktop === desktop) this.#endSession(relay, 'RECORDING_FAILED', null);
    };
    const hooks = relayRecordingHooks(desktop, viewer, this.options.recordingRequired, failed);
    const recorder = order ? this.#recordings.start(ticketId, sessionId, startedAt, order, hooks) : null;
    const relay: Relay = { sessionId, desktop, viewer, startedAt, recorder };
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
    const sessionId = this.#sessionOf.get(leg) ?? '';
    leg.closeWith(reason);
    this.#table.remove(leg);
    this.#log.info({ ticketId: leg.ticketId, side: leg.side, reason }, 'waiting leg closed');
    this.emit('legClosed', { sessionId, ticketId: leg.ticketId, side: leg.side, reason, waitedMs: Date.now() - leg.openedAt });
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
      sessionId: relay.sessionId,
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
    if (relay.recorder) this.#recordings.finish(relay.recorder, endedAt, reason);
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
        leg.sendPing();
      }
    }
  }
}
