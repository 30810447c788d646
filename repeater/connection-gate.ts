// Bounds what connections that have not yet sent a whole request can hold.
// From its accept until its request is in (an upgrade: until the 101 or the
// refusal is written; a plain request: until its headers are in), and again
// from each response's end until the next request on a kept-alive connection,
// a connection is pending: it must finish within handshakeTimeoutMs (between
// requests: after Node's own keep-alive timeout; then one that sent part of a
// request is answered 408; one that sent nothing, like a browser's
// preconnected socket, or an idle kept-alive one, is just closed), and at most
// maxPendingPerAddress of them may come from one address and maxPending in
// all (past that a new one is answered 429 or 503 and dropped at once; its
// request, should it arrive, is never handed to the application). A half-sent
// request cannot hold a socket for Node's 60 s header timeout, nor a thousand
// of them from one address. Idle kept-alive connections count too, but a new
// connection is never refused for their sake: the oldest idle one is closed
// to make room (its client opens another when it needs one), so a hundred
// browsers behind one NAT keep working. A trusted proxy's address (every user
// behind it shares it) is held only to the total and the deadline.
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import type { RepeaterOptions } from './contract.ts';

export interface ConnectionGateOptions {
  handshakeTimeoutMs: number;
  maxPending: number;
  maxPendingPerAddress: number;
  /** Addresses held only to the total (trusted proxies). */
  sharedAddress?: (address: string) => boolean;
}

interface Pending {
  address: string;
  timer: NodeJS.Timeout;
  /** Kept alive between requests (may be closed to make room for a new connection, until its next request begins). */
  idle: boolean;
  /** Bytes the connection had read when it became pending (more since: its next request has begun). */
  readAt: number;
}

const kPending = Symbol('pending');
const kDropped = Symbol('dropped');
const kWatched = Symbol('watched');
const kInFlight = Symbol('in-flight');
type GatedSocket = Socket & { [kPending]?: Pending | null; [kDropped]?: boolean; [kWatched]?: boolean; [kInFlight]?: number };
type RequestListener = (req: IncomingMessage, res: ServerResponse) => void;

function refusal(status: string, code: string, message: string): string {
  const body = JSON.stringify({ error: { code, message } });
  return `HTTP/1.1 ${status}\r\nConnection: close\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`;
}
const TIMED_OUT = refusal('408 Request Timeout', 'HANDSHAKE_TIMEOUT', 'The request did not arrive in time');
const BUSY_ADDRESS = refusal('429 Too Many Requests', 'TOO_MANY_PENDING_FROM_ADDRESS', 'Too many unfinished connections from this address');
const BUSY = refusal('503 Service Unavailable', 'TOO_MANY_PENDING', 'Too many unfinished connections, try again');

export class ConnectionGate {
  #pending = 0;
  readonly #byAddress = new Map<string, number>();
  readonly #servers = new WeakSet<Server>();
  /** Kept-alive connections between requests, oldest first: overall and by address. */
  readonly #idle = new Set<Socket>();
  readonly #idleByAddress = new Map<string, Set<Socket>>();

  private readonly options: ConnectionGateOptions;

  /** The gate the repeater's options describe (REPEATER_HANDSHAKE_TIMEOUT_MS, REPEATER_MAX_PENDING, REPEATER_MAX_PENDING_PER_ADDRESS). */
  static fromOptions(
    options: Pick<RepeaterOptions, 'handshakeTimeoutMs' | 'maxPendingUpgrades' | 'maxPendingUpgradesPerAddress'>,
    sharedAddress?: (address: string) => boolean,
  ): ConnectionGate {
    const { handshakeTimeoutMs, maxPendingUpgrades: maxPending, maxPendingUpgradesPerAddress: maxPendingPerAddress } = options;
    return new ConnectionGate({ handshakeTimeoutMs, maxPending, maxPendingPerAddress, ...(sharedAddress ? { sharedAddress } : {}) });
  }

  constructor(options: ConnectionGateOptions) {
    this.options = options;
  }

  /** Connections not yet answered (diagnostics, tests). */
  get pending(): number {
    return this.#pending;
  }

  /** Gates every connection of `server` (attach after its request handler: the handler is wrapped). */
  attach(server: Server): void {
    if (this.#servers.has(server)) return;
    this.#servers.add(server);
    server.on('connection', (socket: Socket) => this.#admit(socket, false));
    // A refused connection's request never reaches the application; a kept-alive one is pending again between requests.
    const handlers = server.listeners('request') as RequestListener[];
    server.removeAllListeners('request');
    server.on('request', (req: IncomingMessage, res: ServerResponse) => {
      const socket = req.socket as GatedSocket;
      if (socket[kDropped]) return void socket.destroy();
      this.settle(socket);
      socket[kInFlight] = (socket[kInFlight] ?? 0) + 1;
      res.once('finish', () => {
        // Pipelined requests: pending again only once every answer is out.
        socket[kInFlight] = (socket[kInFlight] ?? 1) - 1;
        if (socket[kInFlight] === 0 && !socket.destroyed && !socket[kDropped]) this.#admit(socket, true);
      });
      for (const handler of handlers) handler.call(server, req, res);
    });
  }

  /** Whether the gate refused this connection (an upgrade on it is not to be served). */
  dropped(socket: Socket): boolean {
    return (socket as GatedSocket)[kDropped] === true;
  }

  /** The connection's request was answered (or it became a websocket): it is no longer pending. */
  settle(socket: Socket): void {
    const pending = (socket as GatedSocket)[kPending];
    if (!pending) return;
    (socket as GatedSocket)[kPending] = null;
    clearTimeout(pending.timer);
    if (pending.idle) {
      this.#idle.delete(socket);
      const mine = this.#idleByAddress.get(pending.address);
      mine?.delete(socket);
      if (mine?.size === 0) this.#idleByAddress.delete(pending.address);
    }
    this.#release(pending.address);
  }

  /** A new connection, or a kept-alive one back to waiting for its next request (`idle`: dropped silently). */
  #admit(socket: Socket, idle: boolean): void {
    const gated = socket as GatedSocket;
    if (gated[kPending]) return;
    const address = socket.remoteAddress ?? 'unknown';
    const shared = this.options.sharedAddress?.(address) ?? false;
    // A new connection is never refused for the sake of idle kept-alive ones: the oldest of those makes room.
    if (this.#pending >= this.options.maxPending && !(!idle && this.#closeIdle(this.#idle))) return this.#drop(socket, idle ? null : BUSY);
    if (!shared && (this.#byAddress.get(address) ?? 0) >= this.options.maxPendingPerAddress && !(!idle && this.#closeIdle(this.#idleByAddress.get(address)))) {
      return this.#drop(socket, idle ? null : BUSY_ADDRESS);
    }
    const fromAddress = this.#byAddress.get(address) ?? 0;
    this.#pending += 1;
    this.#byAddress.set(address, fromAddress + 1);
    const timer = setTimeout(() => {
      if (gated[kPending] !== pending) return;
      this.settle(socket);
      // One that sent nothing (a browser's preconnected socket) is closed silently: a browser
      // retries a request on a socket that closes unused, but fails an EventSource answered 408.
      this.#drop(socket, idle || socket.bytesRead === 0 ? null : TIMED_OUT);
    }, idle ? this.#idleDeadline(socket) : this.options.handshakeTimeoutMs);
    timer.unref();
    const pending: Pending = { address, timer, idle, readAt: socket.bytesRead };
    gated[kPending] = pending;
    if (idle) {
      this.#idle.add(socket);
      let mine = this.#idleByAddress.get(address);
      if (!mine) this.#idleByAddress.set(address, (mine = new Set()));
      mine.add(socket);
    }
    if (!gated[kWatched]) {
      gated[kWatched] = true;
      socket.once('close', () => this.settle(socket));
    }
  }

  /**
   * Between requests, Node's own keep-alive timeout closes an idle connection
   * first (it keeps a second's grace for clients that reuse a socket just as it
   * expires); this deadline only cuts one whose next request began and stalls.
   */
  #idleDeadline(socket: Socket): number {
    const keepAlive = (socket as Socket & { server?: Server }).server?.keepAliveTimeout ?? 5_000;
    return Math.max(this.options.handshakeTimeoutMs, keepAlive + 2_000);
  }

  /** Closes the oldest idle kept-alive connection of `set` (the client opens another when it needs one). */
  #closeIdle(set: Set<Socket> | undefined): boolean {
    for (const socket of set ?? []) {
      // One whose next request has begun (half-sent, perhaps on purpose) is pending for real: it stays counted.
      if (socket.bytesRead !== (socket as GatedSocket)[kPending]?.readAt) continue;
      this.settle(socket);
      this.#drop(socket, null);
      return true;
    }
    return false;
  }

  #release(address: string): void {
    this.#pending -= 1;
    const n = (this.#byAddress.get(address) ?? 1) - 1;
    if (n <= 0) this.#byAddress.delete(address);
    else this.#byAddress.set(address, n);
  }

  /** Refuses a connection: answered (unless it was idle between requests), then closed. */
  #drop(socket: Socket, answer: string | null): void {
    (socket as GatedSocket)[kDropped] = true;
    socket.on('error', ignore);
    if (answer === null) return void socket.destroy();
    if (socket.writable) socket.end(answer);
    // A client that does not read the answer (or keeps its side open) is not waited for.
    setTimeout(() => socket.destroy(), 1000).unref();
  }
}

function ignore(): void {}
