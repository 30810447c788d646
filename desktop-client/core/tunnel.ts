// The reverse tunnel of one remote session: a loopback listener on a free
// port, x11vnc connecting out to it, and that TCP stream piped to the
// repeater's /wsServer with backpressure (createWebSocketStream + pipeline).
// Nothing here listens on anything but 127.0.0.1, and only until x11vnc has
// connected.
import { handledElsewhere } from '../../lib/expected.ts';
import { EventEmitter } from 'node:events';
import { createServer, type Server, type Socket } from 'node:net';
import { pipeline } from 'node:stream';
import { WebSocket, createWebSocketStream, type ClientOptions } from 'ws';
import { DesktopError } from './errors.ts';
import { startX11vnc, type X11vncProcess } from './x11vnc.ts';
import { bridgeVnc } from './rfb-bridge.ts';
import { SharedClientInit, WatcherInput } from './watcher-input.ts';
import type { ScreenSource } from './config.ts';

export interface TunnelOptions {
  /** The desktop token URL from POST /desktop-token. */
  url: string;
  display: string;
  /** x11vnc with -viewonly; with source vnc, the viewer's input is dropped here (watcher-input.ts). */
  viewOnly: boolean;
  x11vncBinary: string;
  /** Proxy agent, extra CA and the like for the websocket. */
  wsOptions?: ClientOptions;
  /** How long x11vnc may take to connect to the listener. */
  connectTimeoutMs?: number;
  /** What shares the screen (default: x11vnc in reverse mode). */
  source?: ScreenSource;
  /** With x11vnc: one monitor's rectangle (WxH+X+Y) instead of the whole display. */
  clip?: string | null;
  /** With source vnc: how long to wait for the viewer before giving up (the repeater's own timeout comes first). */
  viewerWaitMs?: number;
}

export interface TunnelClosed {
  /** The repeater's close code (4001…4011), 1000/1006, or 0 when the tunnel failed locally. */
  code: number;
  reason: string;
  error: DesktopError | null;
}

export interface TunnelEvents {
  closed: [TunnelClosed];
}

export class Tunnel extends EventEmitter<TunnelEvents> {
  #ws: WebSocket | null = null;
  #listener: Server | null = null;
  #x11vnc: X11vncProcess | null = null;
  #socket: Socket | null = null;
  #closed = false;

  private readonly options: TunnelOptions;

  constructor(options: TunnelOptions) {
    super();
    this.options = options;
  }

  /** The x11vnc pid while it runs (for tests and diagnostics). */
  get x11vncPid(): number | null {
    return this.#x11vnc?.pid ?? null;
  }

  /**
   * Connects to the repeater first (a refused token fails here, before any
   * process starts), then starts x11vnc and joins the two. Resolves when bytes
   * can flow; the session then waits at the repeater for the viewer.
   */
  async open(): Promise<void> {
    const ws = await connectWebSocket(this.options.url, this.options.wsOptions ?? {});
    this.#ws = ws;
    ws.once('close', (code, reason) => this.#finish({ code, reason: reason.toString(), error: null }));
    const source = this.options.source ?? { kind: 'x11vnc' };
    if (source.kind === 'vnc') {
      // The local VNC server is reached only once the viewer is there (see rfb-bridge.ts).
      const wsStream = createWebSocketStream(ws);
      void bridgeVnc(wsStream, source, this.options.viewerWaitMs ?? 3_600_000).then(
        (socket) => {
          if (this.#closed) return socket.destroy();
          this.#socket = socket;
          if (!this.options.viewOnly) return void pipeline(socket, wsStream, new SharedClientInit(), socket, () => void this.close());
          // A watcher: its input is dropped here, before the user's own server (watcher-input.ts).
          pipeline(socket, wsStream, new WatcherInput(), socket, (err) => {
            if (err instanceof DesktopError) this.#finish({ code: 0, reason: err.message, error: err });
            else void this.close();
          });
        },
        (err: unknown) => {
          if (this.#closed) return;
          const error = err instanceof DesktopError ? err : new DesktopError('VNC_FAILED', (err as Error).message);
          this.#finish({ code: 0, reason: error.message, error });
        },
      );
      return;
    }
    try {
      const { server, port, connection } = await listenOnce(this.options.connectTimeoutMs ?? 10_000);
      this.#listener = server;
      this.#x11vnc = await startX11vnc({ binary: this.options.x11vncBinary, display: this.options.display, port, viewOnly: this.options.viewOnly, clip: this.options.clip ?? null });
      const x11vncFailed = this.#x11vnc.exited.then((error) => {
        if (error) throw error;
        throw new DesktopError('X11VNC_FAILED', 'x11vnc stopped before connecting');
      });
      const socket = await Promise.race([connection, x11vncFailed]);
      server.close();
      this.#listener = null;
      this.#socket = socket;
      void this.#x11vnc.exited.then((error) => {
        if (error) this.#finish({ code: 0, reason: error.message, error });
      });
      const wsStream = createWebSocketStream(ws);
      pipeline(socket, wsStream, socket, () => {
        // Either end closing ends the tunnel; the websocket's close code (if any) is reported by its own listener.
        void this.close();
      });
    } catch (err) {
      await this.close();
      throw err;
    }
  }

  /**
   * Stops everything this tunnel started: x11vnc by its pid, the listener, the
   * socket and the websocket. Resolves once x11vnc has exited.
   */
  close(code = 1000): Promise<void> {
    const stopped = this.#teardown(code);
    if (!this.#ws) this.#finish({ code: 0, reason: 'closed', error: null });
    return stopped;
  }

  #finish(closed: TunnelClosed): void {
    if (this.#closed) return;
    this.#closed = true;
    void this.#teardown(1000);
    this.emit('closed', closed);
  }

  /** Stops x11vnc, the listener, the TCP socket and the websocket; resolves once x11vnc has exited. */
  #teardown(code: number): Promise<void> {
    const stopped = this.#x11vnc?.stop() ?? Promise.resolve();
    this.#listener?.close();
    this.#socket?.destroy();
    const ws = this.#ws;
    if (ws && (ws.readyState === ws.OPEN || ws.readyState === ws.CONNECTING)) ws.close(code);
    return stopped;
  }
}

function connectWebSocket(url: string, options: ClientOptions): Promise<WebSocket> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, { perMessageDeflate: false, handshakeTimeout: 15_000, ...options });
    ws.once('open', () => resolve(ws));
    ws.once('unexpected-response', (_req, res) => {
      let body = '';
      res.on('data', (chunk: Buffer) => (body += chunk.toString()));
      res.on('end', () => {
        let code = '';
        try {
          code = (JSON.parse(body) as { error?: { code?: string } }).error?.code ?? '';
        } catch {
          code = '';
        }
        reject(new DesktopError('TOKEN_REFUSED', `The server refused the desktop connection (HTTP ${res.statusCode}${code ? ` ${code}` : ''})`, { status: res.statusCode, code }));
      });
    });
    ws.once('error', (err) => reject(new DesktopError('SERVER_UNREACHABLE', `Cannot reach the server: ${err.message}`)));
  });
}

function listenOnce(timeoutMs: number): Promise<{ server: Server; port: number; connection: Promise<Socket> }> {
  return new Promise((resolve, reject) => {
    let accept: (s: Socket) => void;
    let fail: (e: Error) => void;
    const connection = new Promise<Socket>((res, rej) => {
      accept = res;
      fail = rej;
    });
    // The first connection is x11vnc's; the listener closes right after it.
    const server = createServer({ noDelay: true }, (socket) => accept(socket));
    server.maxConnections = 1;
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const timer = setTimeout(() => fail(new DesktopError('TUNNEL_TIMEOUT', `x11vnc did not connect within ${timeoutMs} ms`)), timeoutMs);
      timer.unref();
      void connection.finally(() => clearTimeout(timer)).catch(handledElsewhere); // the caller awaits `connection` itself
      resolve({ server, port: (server.address() as { port: number }).port, connection });
    });
  });
}
