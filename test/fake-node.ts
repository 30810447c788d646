// A repeater node's link spoken by hand (protocol/repeater.ts), for tests that
// play a node — or a forger — at one or several servers: the name claimed
// (hello, heartbeats), events numbered per session and posted, a command
// stream held open. Every request names the node and this process's instance.
import { randomUUID } from 'node:crypto';
import { readSseEvents } from '../lib/sse-reader.ts';
import { COMMAND_CURSOR_HEADER, INSTANCE_HEADER, NODE_HEADER, internalPaths, type EventResult, type SessionEvent, type WireEvent } from '../protocol/repeater.ts';
import { TEST_REPEATER_SECRET } from './repeater-process.ts';

export class FakeNode {
  readonly name: string;
  readonly instance: string;
  readonly #seqs = new Map<string, number>();

  constructor(name: string, instance: string = randomUUID()) {
    this.name = name;
    this.instance = instance;
  }

  headers(): Record<string, string> {
    return { authorization: `Bearer ${TEST_REPEATER_SECRET}`, [NODE_HEADER]: this.name, [INSTANCE_HEADER]: this.instance };
  }

  /** Numbers an event in its session, as a node's link does. */
  number(event: SessionEvent): WireEvent {
    const seq = (this.#seqs.get(event.sessionId) ?? 0) + 1;
    this.#seqs.set(event.sessionId, seq);
    return { ...event, seq };
  }

  async hello(server: string): Promise<{ status: number; body: { error?: { code: string; message: string }; leaseMs?: number } }> {
    const res = await fetch(`${server}${internalPaths.hello}`, { headers: this.headers() });
    return { status: res.status, body: (await res.json()) as never };
  }

  async beat(server: string, extra: { url?: string | null; leaving?: boolean } = {}): Promise<{ status: number; text: string }> {
    const res = await fetch(`${server}${internalPaths.heartbeat}`, {
      method: 'POST',
      headers: { ...this.headers(), 'content-type': 'application/json' },
      body: JSON.stringify({ node: this.name, instance: this.instance, url: extra.url ?? null, sessions: 0, legs: 0, ...(extra.leaving ? { leaving: true } : {}) }),
    });
    return { status: res.status, text: await res.text() };
  }

  /** Claims the name and keeps renewing it (as a live node's heartbeats do) until the returned function is called. */
  async alive(server: string, everyMs = 200): Promise<() => void> {
    const hello = await this.hello(server);
    if (hello.status !== 200) throw new Error(`node ${this.name} refused: ${JSON.stringify(hello.body)}`);
    const timer = setInterval(() => void this.beat(server).catch((err: unknown) => err), everyMs);
    timer.unref();
    return () => clearInterval(timer);
  }

  /** Posts events as they are (numbered already, or deliberately not). */
  async post(server: string, events: unknown[]): Promise<{ status: number; results: EventResult[] }> {
    const res = await fetch(`${server}${internalPaths.events}`, {
      method: 'POST',
      headers: { ...this.headers(), 'content-type': 'application/json' },
      body: JSON.stringify({ node: this.name, instance: this.instance, events }),
    });
    const body = (await res.json()) as { results?: EventResult[] };
    return { status: res.status, results: body.results ?? [] };
  }

  /** Opens a command stream; `ends` collects the end commands it receives. */
  async commands(server: string, after = 0): Promise<{ status: number; text: string; ends: { id: number; ticketId: string; reason: string }[]; close(): void }> {
    const controller = new AbortController();
    const res = await fetch(`${server}${internalPaths.commands}`, { headers: { ...this.headers(), [COMMAND_CURSOR_HEADER]: String(after) }, signal: controller.signal });
    const ends: { id: number; ticketId: string; reason: string }[] = [];
    if (res.ok && res.body) {
      void readSseEvents(res.body as unknown as AsyncIterable<Uint8Array>, (event, data) => {
        if (event === 'end') ends.push(data as { id: number; ticketId: string; reason: string });
      }).catch((err: unknown) => err);
      return { status: res.status, text: '', ends, close: () => controller.abort() };
    }
    return { status: res.status, text: await res.text(), ends, close: () => controller.abort() };
  }
}
