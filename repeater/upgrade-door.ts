// The repeater's door: an upgrade request on /wsServer (desktop) or /wsClient
// (viewer) is checked before anything is spent on it (path, handshake, leg
// limits, token present), authorized by the host, and answered — 101 and
// handed to the repeater, or refused with a status, a code and words. The
// connection gate's clock runs until then: a slow authorizer or a half-sent
// request is cut at the handshake deadline.
import { STATUS_CODES, type IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import type { Socket } from 'node:net';
import { RefusalCode, type RefusalCodeId } from '../protocol/close-codes.ts';
import { sidePaths, type LegRequest, type LegSide, type RecordOrder } from '../protocol/repeater.ts';
import type { AuthorizeLeg, RepeaterLogger } from './contract.ts';
import { checkHandshake, switchingProtocols } from './frames.ts';
import type { LegLimits } from './leg-limits.ts';
import type { ConnectionGate } from './connection-gate.ts';
import { clientOrigin, type TrustProxy } from './client-address.ts';

export interface Admitted {
  socket: Socket;
  head: Buffer;
  ticketId: string;
  side: LegSide;
  remoteAddress: string;
  record: RecordOrder | null;
}

export interface UpgradeDoorDeps {
  authorizeLeg: AuthorizeLeg;
  limits: LegLimits;
  gate: ConnectionGate;
  log: RepeaterLogger;
  node: string | null;
  /** TRUST_PROXY: a leg from a trusted proxy is the client's named in X-Forwarded-For (limits, events, the authorizer). */
  trustProxy: TrustProxy;
  closing(): boolean;
  admit(leg: Admitted): void;
}

const sideByPath = new Map<string, LegSide>([
  [sidePaths.desktop, 'desktop'],
  [sidePaths.viewer, 'viewer'],
]);

export class UpgradeDoor {
  private readonly deps: UpgradeDoorDeps;

  constructor(deps: UpgradeDoorDeps) {
    this.deps = deps;
  }

  async handle(req: IncomingMessage, socket: Duplex, head: Buffer): Promise<void> {
    socket.on('error', rawSocketOnError);
    // The gate already answered this connection (too many pending, or too slow): nothing is spent on it.
    if (this.deps.gate.dropped(req.socket)) return void socket.destroy();
    try {
      await this.#handle(req, socket, head);
    } finally {
      this.deps.gate.settle(req.socket);
    }
  }

  async #handle(req: IncomingMessage, socket: Duplex, head: Buffer): Promise<void> {
    const { deps } = this;
    // The client's own address (behind a trusted proxy, from X-Forwarded-For): its legs count to its own limit.
    const client = clientOrigin(req, deps.trustProxy);
    const remoteAddress = client.address;
    const url = new URL(req.url ?? '/', 'http://repeater.invalid');
    const refuse = (code: RefusalCodeId, message: string, status?: number) => this.#refuse(socket, code, message, url.pathname, remoteAddress, status);
    const side = sideByPath.get(url.pathname);
    if (!side) return refuse('NOT_FOUND', 'No websocket is served at this path');
    if (deps.closing()) return refuse('SHUTTING_DOWN', 'The repeater is shutting down');
    // A malformed handshake is refused before a token is spent on it.
    const handshake = checkHandshake(req);
    if (!handshake.ok) return refuse('BAD_HANDSHAKE', handshake.message, handshake.status);
    const limited = deps.limits.acquire(remoteAddress);
    if (limited) return refuse(limited, limited === 'TOO_MANY_LEGS' ? 'The repeater is at capacity' : 'Too many connections from this address');
    socket.once('close', () => deps.limits.release(remoteAddress));

    const request: LegRequest = {
      path: url.pathname,
      token: url.searchParams.get('token'),
      origin: headerValue(req.headers.origin),
      host: headerValue(req.headers.host),
      scheme: client.scheme,
      forwardedProto: client.forwardedProto,
      remoteAddress,
      side,
      node: deps.node,
    };
    if (!request.token) return refuse('TOKEN_MISSING', 'A token query parameter is required');

    let authorization;
    try {
      authorization = await deps.authorizeLeg(request);
    } catch (err) {
      deps.log.error({ err, path: url.pathname }, 'authorizeLeg failed');
      return refuse('AUTHORIZER_FAILED', 'Authorization is unavailable, try again');
    }
    if (!authorization.ok) return refuse(authorization.code, authorization.message);
    if (authorization.side !== side) return refuse('WRONG_SIDE', `This token is for the ${authorization.side} side`);
    if (socket.destroyed || !socket.writable || deps.closing()) {
      socket.destroy();
      return;
    }
    socket.off('error', rawSocketOnError);
    socket.write(switchingProtocols(handshake));
    deps.admit({ socket: socket as Socket, head, ticketId: authorization.ticketId, side, remoteAddress, record: authorization.record ?? null });
  }

  #refuse(socket: Duplex, code: RefusalCodeId, message: string, path: string, remoteAddress: string, status: number = RefusalCode[code]): void {
    this.deps.log.info({ code, path, remoteAddress }, 'upgrade refused');
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
