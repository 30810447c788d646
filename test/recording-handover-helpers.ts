// Pieces of the recording hand-over suites (issue 23): a TCP proxy in front
// of the server that a test can cut (a repeater node's link goes through it),
// hand-overs written on a raw socket, a recording the server ordered from a
// node (its `paired` event, as the node's link reports it), and the rows.
import { createHash, randomUUID } from 'node:crypto';
import { existsSync, readdirSync } from 'node:fs';
import { connect, createServer, type Server, type Socket } from 'node:net';
import { join } from 'node:path';
import { expect } from 'vitest';
import type { Harness, Tech } from './server-harness.ts';
import { TEST_REPEATER_SECRET } from './repeater-process.ts';
import { FakeNode } from './fake-node.ts';

export const bearer = { authorization: `Bearer ${TEST_REPEATER_SECRET}` };
export const sha = (b: Buffer): string => createHash('sha256').update(b).digest('hex');

/** Every file under a directory (relative paths), its outbox's too. */
export const filesIn = (dir: string): string[] =>
  existsSync(dir) ? readdirSync(dir, { recursive: true, withFileTypes: true }).filter((d) => d.isFile()).map((d) => join(d.parentPath, d.name).slice(dir.length + 1)) : [];

export interface RecordingRow {
  id: string;
  state: string;
  bytes: number | null;
  sha256: string | null;
  file: string;
  node: string | null;
  problem: string | null;
}

export const recordingRow = async (h: Harness, id: string): Promise<RecordingRow> => (await h.server.db('recordings').where({ id }).first()) as RecordingRow;

/** A recorded request accepted by `tech` and allowed by the user (told it is recorded). */
export async function approvedRequest(h: Harness, tech: Tech): Promise<{ id: number; secret: string }> {
  const t = await h.acceptedRequest(tech);
  await h.api.post(`/api/v1/help-requests/${t.id}/approve`).set({ authorization: `Bearer ${t.secret}` }).send({ viewOnly: false, recordingNoticeShown: true }).expect(200);
  return t;
}

/**
 * A recording the server ordered from node `name` (a live one: its name claimed and renewed while the
 * harness runs), or from a FakeNode as the test drives it: its `paired` event, as the node reports it.
 */
export async function orderedRecording(h: Harness, name: string | FakeNode, ticketId: number): Promise<{ recordingId: string; file: string; startedAt: number; sessionId: string; node: FakeNode }> {
  const node = typeof name === 'string' ? new FakeNode(name) : name;
  if (typeof name === 'string') await node.alive(h.server.url);
  const recordingId = randomUUID();
  const sessionId = randomUUID();
  const startedAt = Date.now();
  const file = `${new Date(startedAt).toISOString().slice(0, 7)}/${ticketId}-${recordingId}.hcrec`;
  const paired = node.number({ type: 'paired', sessionId, ticketId: String(ticketId), desktopAddress: '127.0.0.1', viewerAddress: '127.0.0.1', at: startedAt, recording: { id: recordingId, file } });
  expect((await node.post(h.server.url, [paired])).results).toEqual([{ ok: true }]);
  expect((await recordingRow(h, recordingId))?.state).toBe('recording');
  return { recordingId, file, startedAt, sessionId, node };
}

/**
 * A hand-over written on a raw socket: `declared` is the Content-Length (null:
 * chunked); `hangUp` drops the connection after the body; `excess` is written
 * a moment after it, past what Content-Length covers. Resolves with the first
 * answer's status and the whole text once the server closes.
 */
export function rawPut(
  serverUrl: string,
  path: string,
  headers: Record<string, string>,
  body: Buffer,
  declared: number | null,
  options: { hangUp?: boolean; excess?: Buffer } = {},
): Promise<{ status: number; text: string }> {
  const url = new URL(serverUrl);
  return new Promise((resolve, reject) => {
    const extra = Object.entries(headers).map(([k, v]) => `${k}: ${v}\r\n`).join('');
    const framing = declared === null ? 'Transfer-Encoding: chunked' : `Content-Length: ${declared}`;
    const socket = connect(Number(url.port), url.hostname, () => {
      socket.write(`PUT ${path} HTTP/1.1\r\nHost: ${url.host}\r\nConnection: close\r\n${extra}Content-Type: application/octet-stream\r\n${framing}\r\n\r\n`);
      socket.write(declared === null ? Buffer.concat([Buffer.from(`${body.length.toString(16)}\r\n`), body, Buffer.from('\r\n0\r\n\r\n')]) : body);
      if (options.hangUp) setTimeout(() => socket.destroy(), 200);
      if (options.excess) setTimeout(() => socket.write(options.excess!), 200);
    });
    let text = '';
    socket.on('data', (d: Buffer) => (text += d.toString()));
    socket.on('close', () => resolve({ status: Number(/^HTTP\/1\.1 (\d{3})/.exec(text)?.[1] ?? 0), text }));
    socket.on('error', reject);
    setTimeout(() => socket.destroy(), 5_000);
  });
}

/** A TCP proxy in front of the server: a node's link (events, commands, hand-overs) goes through it; `cut` severs it, `restore` lets it through again. */
export class LinkProxy {
  readonly port: number;
  #target: number;
  readonly #sockets = new Set<Socket>();
  #server: Server | null = null;

  constructor(port: number, target: number) {
    this.port = port;
    this.#target = target;
  }

  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  /** Where connections made from now on go (those open stay where they are until cut). */
  retarget(port: number): void {
    this.#target = port;
  }

  async restore(): Promise<void> {
    const server = createServer((client) => {
      const upstream = connect(this.#target, '127.0.0.1');
      for (const s of [client, upstream]) {
        this.#sockets.add(s);
        s.on('close', () => this.#sockets.delete(s));
        s.on('error', () => s.destroy()); // the other side's close follows
      }
      client.pipe(upstream).pipe(client);
    });
    await new Promise<void>((resolve) => server.listen(this.port, '127.0.0.1', resolve));
    this.#server = server;
  }

  async cut(): Promise<void> {
    const server = this.#server;
    this.#server = null;
    for (const s of this.#sockets) s.destroy();
    if (server) await new Promise((resolve) => server.close(resolve));
  }
}
