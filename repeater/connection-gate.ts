// Bounds what connections that have not yet finished their handshake can hold.
// From its accept until its request is answered (an upgrade: until the 101 or
// the refusal is written; a plain request: until its headers are in), a
// connection is pending: it must finish within handshakeTimeoutMs (then it is
// answered 408 and dropped), and at most maxPendingPerAddress of them may come
// from one address and maxPending in all (past that a new one is answered 429
// or 503 and dropped at once). A half-sent request cannot hold a socket for
// Node's 60 s header timeout, nor a thousand of them from one address.
// A trusted proxy's address (every user behind it shares it) is held only to
// the total and the deadline.
import type { Server } from 'node:http';
import type { Socket } from 'node:net';

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
}

const kPending = Symbol('pending');
type GatedSocket = Socket & { [kPending]?: Pending | null };

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

  constructor(private readonly options: ConnectionGateOptions) {}

  /** Connections not yet answered (diagnostics, tests). */
  get pending(): number {
    return this.#pending;
  }

  /** Gates every connection of `server`; a plain request is settled when its headers are in. */
  attach(server: Server): void {
    if (this.#servers.has(server)) return;
    this.#servers.add(server);
    server.on('connection', (socket: Socket) => this.#admit(socket));
    server.on('request', (req: { socket: Socket }) => this.settle(req.socket));
    // Later requests on a kept-alive connection are held to Node's own header deadline.
    server.headersTimeout = Math.min(server.headersTimeout, Math.max(this.options.handshakeTimeoutMs, 1000));
  }

  /** The connection's request was answered (or it became a websocket): it is no longer pending. */
  settle(socket: Socket): void {
    const pending = (socket as GatedSocket)[kPending];
    if (!pending) return;
    (socket as GatedSocket)[kPending] = null;
    clearTimeout(pending.timer);
    this.#release(pending.address);
  }

  #admit(socket: Socket): void {
    const address = socket.remoteAddress ?? 'unknown';
    const shared = this.options.sharedAddress?.(address) ?? false;
    const fromAddress = this.#byAddress.get(address) ?? 0;
    if (this.#pending >= this.options.maxPending) return this.#drop(socket, BUSY);
    if (!shared && fromAddress >= this.options.maxPendingPerAddress) return this.#drop(socket, BUSY_ADDRESS);
    this.#pending += 1;
    this.#byAddress.set(address, fromAddress + 1);
    const timer = setTimeout(() => {
      if ((socket as GatedSocket)[kPending] !== pending) return;
      this.settle(socket);
      this.#drop(socket, TIMED_OUT);
    }, this.options.handshakeTimeoutMs);
    timer.unref();
    const pending: Pending = { address, timer };
    (socket as GatedSocket)[kPending] = pending;
    socket.once('close', () => this.settle(socket));
  }

  #release(address: string): void {
    this.#pending -= 1;
    const n = (this.#byAddress.get(address) ?? 1) - 1;
    if (n <= 0) this.#byAddress.delete(address);
    else this.#byAddress.set(address, n);
  }

  #drop(socket: Socket, answer: string): void {
    socket.on('error', ignore);
    if (socket.writable) socket.end(answer);
    // A client that does not read the answer (or keeps its side open) is not waited for.
    setTimeout(() => socket.destroy(), 1000).unref();
  }
}

function ignore(): void {}
