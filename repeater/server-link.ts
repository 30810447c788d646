// A repeater process's link with its server (the authority): token checks
// through POST /authorize, every leg and session event through POST /events in
// the order they happened (queued, batched, retried while the server is away),
// and the server's commands through one SSE stream, reopened with backoff;
// and recordings handed over (PUT, for recording-outbox.ts).
// See the protocol in protocol/repeater.ts.
import { createReadStream } from 'node:fs';
import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { readSseEvents } from '../lib/sse-reader.ts';
import type { CloseCodeId } from '../protocol/close-codes.ts';
import { NODE_HEADER, internalPaths, type Authorization, type EndCommand, type LegRequest, type WireEvent } from '../protocol/repeater.ts';
import { type RepeaterLogger } from './contract.ts';

export class LinkRefusedError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'LinkRefusedError';
  }
}

export interface ServerLinkOptions {
  serverUrl: string;
  secret: string;
  node: string;
  logger: RepeaterLogger;
  /** Most events kept while the server cannot be reached (the oldest are dropped past it). */
  maxQueuedEvents?: number;
  requestTimeoutMs?: number;
}

const BATCH = 500;

export class ServerLink {
  readonly #o: Required<ServerLinkOptions>;
  readonly #log: RepeaterLogger;
  readonly #queue: WireEvent[] = [];
  #flushing: Promise<void> | null = null;
  #commands: AbortController | null = null;
  #connected = false;
  #closed = false;
  dropped = 0;

  constructor(options: ServerLinkOptions) {
    this.#o = { maxQueuedEvents: 50_000, requestTimeoutMs: 5_000, ...options };
    this.#log = options.logger.child({ component: 'server-link' });
  }

  /** Whether the command stream is open. */
  get connected(): boolean {
    return this.#connected;
  }

  get queued(): number {
    return this.#queue.length;
  }

  /** Checks the server and the secret; a wrong secret is a LinkRefusedError. */
  async hello(): Promise<{ version: string }> {
    const res = await this.#fetch(internalPaths.hello, { method: 'GET' });
    if (res.status === 401) throw new LinkRefusedError(`The server at ${this.#o.serverUrl} refused REPEATER_SECRET (HTTP 401): set the same secret on both`);
    if (res.status === 404) throw new LinkRefusedError(`The server at ${this.#o.serverUrl} has no repeater link (HTTP 404): set REPEATER_SECRET on the server`);
    if (!res.ok) throw new Error(`The server answered HTTP ${res.status} to hello`);
    return (await res.json()) as { version: string };
  }

  /** The repeater's authorizer: the server redeems the token. Throws when it cannot be asked (the repeater answers 503). */
  readonly authorize = async (request: LegRequest): Promise<Authorization> => {
    const res = await this.#fetch(internalPaths.authorize, { method: 'POST', body: JSON.stringify(request) });
    if (!res.ok) {
      if (res.status === 401) this.#log.error({ status: 401 }, 'the server refused REPEATER_SECRET');
      throw new Error(`authorize: HTTP ${res.status}`);
    }
    return (await res.json()) as Authorization;
  };

  /** Tells the server this node is alive, where clients reach it, and its load; false when the server did not take it. */
  async heartbeat(beat: { url: string; sessions: number; legs: number }): Promise<boolean> {
    try {
      const res = await this.#fetch(internalPaths.heartbeat, { method: 'POST', body: JSON.stringify({ node: this.#o.node, ...beat }) });
      await res.body?.cancel();
      return res.ok;
    } catch {
      return false; // the server is away: the next beat tries again
    }
  }

  /**
   * Hands a recording over (PUT recordings/:id): the first `length` bytes of
   * `file` as the body, streamed. Resolves with the server's answer; throws
   * when it cannot be reached, or after 30 s without progress.
   */
  putRecording(recordingId: string, query: URLSearchParams, file: string, length: number, headers: Record<string, string>, signal: AbortSignal): Promise<{ status: number; body: string }> {
    const url = new URL(this.#url(`${internalPaths.recordings}/${encodeURIComponent(recordingId)}?${query.toString()}`));
    const send = url.protocol === 'https:' ? httpsRequest : httpRequest;
    return new Promise((resolve, reject) => {
      const req = send(url, {
        method: 'PUT',
        signal,
        headers: { ...headers, authorization: `Bearer ${this.#o.secret}`, [NODE_HEADER]: this.#o.node, 'content-type': 'application/octet-stream', 'content-length': String(length) },
      });
      req.setTimeout(30_000, () => req.destroy(new Error('no progress for 30 s')));
      req.once('error', reject);
      req.once('response', (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (d: string) => (body = (body + d).slice(0, 4096)));
        res.once('end', () => resolve({ status: res.statusCode ?? 0, body }));
        res.once('error', reject);
      });
      if (length === 0) return void req.end();
      const source = createReadStream(file, { start: 0, end: length - 1 });
      source.once('error', (err) => req.destroy(err));
      source.pipe(req);
    });
  }

  /** Queues an event for the server; sent in order, retried until it arrives. */
  report(event: WireEvent): void {
    this.#queue.push(event);
    if (this.#queue.length > this.#o.maxQueuedEvents) {
      this.#queue.shift();
      this.dropped += 1;
      if (this.dropped === 1 || this.dropped % 1000 === 0) this.#log.error({ dropped: this.dropped }, 'event queue full: the oldest events are dropped');
    }
    this.#kick();
  }

  #kick(): void {
    if (this.#flushing || this.#closed) return;
    this.#flushing = this.#flush().finally(() => {
      this.#flushing = null;
      if (this.#queue.length > 0) this.#kick();
    });
  }

  /** Resolves once the queue is empty, or after `timeoutMs`. */
  async drain(timeoutMs: number): Promise<boolean> {
    const deadline = Date.now() + timeoutMs;
    while (this.#queue.length > 0 && Date.now() < deadline) {
      await Promise.race([this.#flushing ?? Promise.resolve(), new Promise((r) => setTimeout(r, 50))]);
    }
    return this.#queue.length === 0;
  }

  /** Opens the command stream and keeps it open; `onOpen` runs each time it (re)opens. */
  follow(handlers: { end(command: EndCommand): void; onOpen(): void }): void {
    void this.#followLoop(handlers);
  }

  close(): void {
    this.#closed = true;
    this.#commands?.abort();
  }

  async #followLoop(handlers: { end(command: EndCommand): void; onOpen(): void }): Promise<void> {
    let backoff = 250;
    while (!this.#closed) {
      const controller = new AbortController();
      this.#commands = controller;
      try {
        const res = await fetch(this.#url(internalPaths.commands), {
          headers: { authorization: `Bearer ${this.#o.secret}`, [NODE_HEADER]: this.#o.node, accept: 'text/event-stream' },
          signal: controller.signal,
        });
        if (!res.ok || !res.body) {
          this.#log.error({ status: res.status }, res.status === 401 ? 'the server refused REPEATER_SECRET' : 'command stream refused');
          await res.body?.cancel();
        } else {
          await readSseEvents(res.body as unknown as AsyncIterable<Uint8Array>, (event, data) => {
            if (event === 'ready') {
              this.#connected = true;
              backoff = 250;
              this.#log.info({ server: this.#o.serverUrl }, 'linked with the server');
              handlers.onOpen();
            } else if (event === 'end') {
              const command = data as { ticketId?: unknown; reason?: unknown };
              if (typeof command.ticketId === 'string' && typeof command.reason === 'string') {
                handlers.end({ ticketId: command.ticketId, reason: command.reason as CloseCodeId });
              }
            }
          });
        }
      } catch (err) {
        if (!this.#closed) this.#log.warn({ err: (err as Error).message }, 'command stream lost');
      }
      if (this.#connected) this.#log.warn({}, 'command stream closed; reconnecting');
      this.#connected = false;
      if (this.#closed) return;
      await new Promise((r) => setTimeout(r, backoff));
      backoff = Math.min(5_000, backoff * 2);
    }
  }

  async #flush(): Promise<void> {
    let backoff = 250;
    while (this.#queue.length > 0) {
      const batch = this.#queue.slice(0, BATCH);
      try {
        const res = await this.#fetch(internalPaths.events, { method: 'POST', body: JSON.stringify({ node: this.#o.node, events: batch }) });
        if (res.ok) {
          this.#queue.splice(0, batch.length);
          backoff = 250;
          continue;
        }
        if (res.status === 400) {
          // Not the server's fault, and retrying will not help: say what and move on.
          this.#log.error({ body: await res.text() }, 'the server refused a batch of events as invalid; dropped');
          this.#queue.splice(0, batch.length);
          this.dropped += batch.length;
          continue;
        }
        this.#log.warn({ status: res.status }, 'events not accepted; retrying');
      } catch (err) {
        this.#log.warn({ err: (err as Error).message }, 'events not delivered; retrying');
      }
      if (this.#closed) return;
      await new Promise((r) => setTimeout(r, backoff));
      backoff = Math.min(5_000, backoff * 2);
    }
  }

  #url(path: string): string {
    return `${this.#o.serverUrl}${path}`;
  }

  #fetch(path: string, init: { method: string; body?: string }): Promise<Response> {
    return fetch(this.#url(path), {
      ...init,
      headers: { authorization: `Bearer ${this.#o.secret}`, ...(init.body ? { 'content-type': 'application/json' } : {}) },
      signal: AbortSignal.timeout(this.#o.requestTimeoutMs),
    });
  }
}
