// A repeater process's link with its server (the authority): the node's name claimed for this
// process (hello, heartbeats renewing the lease); tokens checked (POST /authorize); every
// session event numbered per session and sent in order (POST /events: queued, batched, retried
// while the server is away; one the server refuses is logged and skipped); the server's
// commands on one SSE stream, reopened with backoff and resumed after the last command
// received; recordings handed over (PUT, recording-outbox.ts). Protocol: protocol/repeater.ts.
import { randomUUID } from 'node:crypto';
import { readSseEvents } from '../lib/sse-reader.ts';
import type { CloseCodeId } from '../protocol/close-codes.ts';
import {
  COMMAND_CURSOR_HEADER,
  INSTANCE_HEADER,
  NODE_HEADER,
  internalPaths,
  type Authorization,
  type EndCommand,
  type EventsAnswer,
  type HelloAnswer,
  type LegRequest,
  type SessionEvent,
  type WireEvent,
} from '../protocol/repeater.ts';
import { type RepeaterLogger } from './contract.ts';
import { SessionNumbers } from './session-numbers.ts';
import { putFile } from './put-file.ts';

export class LinkRefusedError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'LinkRefusedError';
  }
}

/** The node's name is held by another process (its lease still runs): this one waits, and says so. */
export class NodeNameTakenError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'NodeNameTakenError';
  }
}

export interface ServerLinkOptions {
  serverUrl: string;
  secret: string;
  node: string;
  logger: RepeaterLogger;
  /** This process's instance id (a new UUID by default). */
  instance?: string;
  /** Most events kept while the server cannot be reached (the oldest are dropped past it). */
  maxQueuedEvents?: number;
  requestTimeoutMs?: number;
}

const BATCH = 500;

/** The words of the server's `{ error: { message } }`, or null. */
function errorMessage(body: string): string | null {
  try {
    return (JSON.parse(body) as { error?: { message?: string } }).error?.message ?? null;
  } catch {
    return null;
  }
}

export class ServerLink {
  readonly #o: Required<ServerLinkOptions>;
  readonly #log: RepeaterLogger;
  readonly #queue: WireEvent[] = [];
  readonly #numbers = new SessionNumbers();
  #flushing: Promise<void> | null = null;
  #commands: AbortController | null = null;
  #connected = false;
  #closed = false;
  /** The last command received (the stream resumes after it). */
  #lastCommand = 0;
  /** Why the server refuses this process its node name, while it does. */
  #nameTaken: string | null = null;
  /** How long the server keeps the claim without a heartbeat (told at hello). */
  leaseMs = 5_000;
  dropped = 0;

  constructor(options: ServerLinkOptions) {
    this.#o = { maxQueuedEvents: 50_000, requestTimeoutMs: 5_000, instance: randomUUID(), ...options };
    this.#log = options.logger.child({ component: 'server-link' });
  }

  /** This process's instance id: the claim on the node's name is held by it. */
  get instance(): string {
    return this.#o.instance;
  }

  /** The server's words while another process holds this node's name (null: the name is ours). */
  get nameTaken(): string | null {
    return this.#nameTaken;
  }

  /** Whether the command stream is open. */
  get connected(): boolean {
    return this.#connected;
  }

  get queued(): number {
    return this.#queue.length;
  }

  /** Checks the server and the secret (LinkRefusedError) and claims the node's name (NodeNameTakenError: the heartbeats keep asking). */
  async hello(): Promise<{ version: string }> {
    const res = await this.#fetch(internalPaths.hello, { method: 'GET' });
    if (res.status === 401) throw new LinkRefusedError(`The server at ${this.#o.serverUrl} refused REPEATER_SECRET (HTTP 401): set the same secret on both`);
    if (res.status === 404) throw new LinkRefusedError(`The server at ${this.#o.serverUrl} has no repeater link (HTTP 404): set REPEATER_SECRET on the server`);
    if (res.status === 409) throw new NodeNameTakenError(this.#refused(await res.text()));
    if (!res.ok) throw new Error(`The server answered HTTP ${res.status} to hello`);
    const answer = (await res.json()) as HelloAnswer;
    this.#claimed();
    if (answer.leaseMs > 0) this.leaseMs = answer.leaseMs;
    return answer;
  }

  /** The server's words for a refused claim, noted (and logged when they are news). */
  #refused(body: string): string {
    const words = errorMessage(body) ?? `another process holds the node name ${this.#o.node}`;
    if (this.#nameTaken !== words) this.#log.error({ node: this.#o.node, instance: this.#o.instance }, `the server refuses this process the node name: ${words}`);
    this.#nameTaken = words;
    return words;
  }

  #claimed(): void {
    if (this.#nameTaken) this.#log.warn({ node: this.#o.node }, 'the node name is this process\'s now');
    this.#nameTaken = null;
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

  /** Renews the claim on the node's name, says where clients reach the node (null: unregistered) and its load; `leaving` releases the name. False when not taken. */
  async heartbeat(beat: { url: string | null; sessions: number; legs: number; leaving?: boolean }): Promise<boolean> {
    try {
      const res = await this.#fetch(internalPaths.heartbeat, { method: 'POST', body: JSON.stringify({ node: this.#o.node, instance: this.#o.instance, ...beat }) });
      if (res.status === 409) this.#refused(await res.text());
      else await res.body?.cancel();
      if (res.ok) this.#claimed();
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
    return putFile(url, file, length, { ...headers, ...this.#identity() }, signal);
  }

  /** Numbers an event in its session and queues it for the server; sent in order, retried until it arrives. */
  report(event: SessionEvent): void {
    this.#queue.push(this.#numbers.number(event));
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
          headers: { ...this.#identity(), [COMMAND_CURSOR_HEADER]: String(this.#lastCommand), accept: 'text/event-stream' },
          signal: controller.signal,
        });
        if (res.status === 409) this.#refused(await res.text());
        else if (!res.ok || !res.body) {
          this.#log.error({ status: res.status }, res.status === 401 ? 'the server refused REPEATER_SECRET' : 'command stream refused');
          await res.body?.cancel();
        } else {
          await readSseEvents(res.body as unknown as AsyncIterable<Uint8Array>, (event, data) => {
            if (event === 'ready') {
              this.#claimed();
              this.#connected = true;
              backoff = 250;
              this.#log.info({ server: this.#o.serverUrl }, 'linked with the server');
              handlers.onOpen();
            } else if (event === 'end') {
              const command = data as { id?: unknown; ticketId?: unknown; reason?: unknown };
              if (typeof command.id !== 'number' || command.id <= this.#lastCommand) return; // had it already
              this.#lastCommand = command.id;
              if (typeof command.ticketId === 'string' && typeof command.reason === 'string') {
                handlers.end({ id: command.id, ticketId: command.ticketId, reason: command.reason as CloseCodeId });
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
        const res = await this.#fetch(internalPaths.events, { method: 'POST', body: JSON.stringify({ node: this.#o.node, instance: this.#o.instance, events: batch }) });
        if (res.ok) {
          this.#skipRefused(batch, (await res.json()) as EventsAnswer);
          this.#queue.splice(0, batch.length);
          backoff = 250;
          continue;
        }
        if (res.status === 400) {
          // The batch as a whole is malformed: retrying will not help.
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

  /** Events the server refused one by one (it applied the others): logged, never sent again. */
  #skipRefused(batch: readonly WireEvent[], answer: EventsAnswer): void {
    answer.results?.forEach((result, i) => {
      if (result.ok) return;
      const e = batch[i];
      this.dropped += 1;
      this.#log.error({ type: e?.type, sessionId: e?.sessionId, seq: e?.seq, error: result.error }, 'the server refused an event as invalid; skipped');
    });
  }

  #identity(): Record<string, string> {
    return { authorization: `Bearer ${this.#o.secret}`, [NODE_HEADER]: this.#o.node, [INSTANCE_HEADER]: this.#o.instance };
  }

  #url(path: string): string {
    return `${this.#o.serverUrl}${path}`;
  }

  #fetch(path: string, init: { method: string; body?: string }): Promise<Response> {
    return fetch(this.#url(path), {
      ...init,
      headers: { ...this.#identity(), ...(init.body ? { 'content-type': 'application/json' } : {}) },
      signal: AbortSignal.timeout(this.#o.requestTimeoutMs),
    });
  }
}
