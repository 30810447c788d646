// Issue 24 at unit level: two real servers in this process on one database
// (MariaDB when the run has one), as a load-balanced internal door makes of a
// node's requests. Events by session: replayed out of order and twice into
// both servers, every session ends with exactly one closed row, its bytes, no
// open row; a late `paired` after its `ended` (the gap given up on) is
// recognised; a batch with one invalid event applies the others, and a close
// code from a newer repeater is stored as it is; one that breaks a constraint
// is that event's refusal, not the batch's 500. "Desktop connected" is the
// same on both servers. A node's stream moving between servers ends nothing;
// only its lease running out does — once, one row each, both servers reaping.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { randomUUID } from 'node:crypto';
import request from 'supertest';
import { engines } from './databases.ts';
import { startTwoServers, type TwoServers } from './two-servers.ts';
import { FakeNode } from './fake-node.ts';
import { loginAt, openSse, type Tech } from './http-clients.ts';
import type { SessionEvent, WireEvent } from '../protocol/repeater.ts';
import { recordingFileName } from '../repeater/recording-format.ts';

const engine = engines.includes('mysql') ? 'mysql' : 'sqlite';
let two: TwoServers;

beforeAll(async () => {
  two = await startTwoServers(engine, { REPEATER_EVENT_GAP_MS: '1000' });
}, 60_000);

afterAll(async () => {
  await two?.close();
});

const urls = (): [string, string] => [two.servers[0].url, two.servers[1].url];
const db = () => two.servers[0].db;

interface Row {
  session_uid: string;
  ticket_id: number;
  ended_at: number | null;
  end_reason: string | null;
  bytes_desktop_to_viewer: number;
  bytes_viewer_to_desktop: number;
}
const rowsOf = async (ticketId: number) => (await db()('remote_sessions').where({ ticket_id: ticketId }).orderBy('id')) as Row[];
const audits = async (ticketId: number, action: string) => ((await db()('audit_events').where({ ticket_id: ticketId, action })) as unknown[]).length;

/** A whole session as a node reports it: desktop waiting, paired, two progress reports, ended. */
function wholeSession(node: FakeNode, ticketId: number, bytes: [number, number]): WireEvent[] {
  const sessionId = randomUUID();
  const ticket = String(ticketId);
  const at = Date.now();
  const events: SessionEvent[] = [
    { type: 'legWaiting', sessionId, ticketId: ticket, side: 'desktop', remoteAddress: '127.0.0.1', at },
    { type: 'paired', sessionId, ticketId: ticket, desktopAddress: '127.0.0.1', viewerAddress: '127.0.0.2', at: at + 10, recording: null },
    { type: 'progress', sessionId, ticketId: ticket, bytesDesktopToViewer: 100, bytesViewerToDesktop: 10 },
    { type: 'progress', sessionId, ticketId: ticket, bytesDesktopToViewer: 200, bytesViewerToDesktop: 20 },
    { type: 'ended', sessionId, ticketId: ticket, reason: 'ENDED_BY_USER', endedBy: 'desktop', bytesDesktopToViewer: bytes[0], bytesViewerToDesktop: bytes[1], startedAt: at + 10, endedAt: at + 1010, durationMs: 1000 },
  ];
  return events.map((e) => node.number(e));
}

/** A small seeded generator: the same shuffle every run. */
function random(seed: number): () => number {
  return () => ((seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31) / 2 ** 31);
}

describe('events by session, whichever server receives them', () => {
  it('replayed out of order and twice into two servers: each session one closed row with its bytes, no open row, each event applied once', async () => {
    const node = new FakeNode('node-replay');
    const stop = await node.alive(urls()[0]);
    try {
      const tickets = await Promise.all(Array.from({ length: 12 }, () => two.approved()));
      const sessions = tickets.map((t, i) => ({ id: t.id, bytes: [1_000 + i, 50 + i] as [number, number], events: wholeSession(node, t.id, [1_000 + i, 50 + i]) }));
      const next = random(24);
      const all = sessions.flatMap((s) => [...s.events, ...s.events]);
      for (let i = all.length - 1; i > 0; i--) {
        const j = Math.floor(next() * (i + 1));
        [all[i], all[j]] = [all[j]!, all[i]!];
      }
      const batches: WireEvent[][] = [];
      for (let i = 0; i < all.length; ) {
        const size = 1 + Math.floor(next() * 7);
        batches.push(all.slice(i, i + size));
        i += size;
      }
      // Four posters at once, each batch to one server or the other.
      const queue = batches.map((b, i) => ({ batch: b, server: urls()[i % 2]! }));
      await Promise.all(
        Array.from({ length: 4 }, async () => {
          for (let job = queue.shift(); job; job = queue.shift()) {
            const answer = await node.post(job.server, job.batch);
            expect(answer.status).toBe(200);
            expect(answer.results).toEqual(job.batch.map(() => ({ ok: true })));
          }
        }),
      );
      for (const s of sessions) {
        const rows = await rowsOf(s.id);
        expect(rows).toHaveLength(1);
        expect(rows[0]).toMatchObject({ end_reason: 'ENDED_BY_USER', bytes_desktop_to_viewer: s.bytes[0], bytes_viewer_to_desktop: s.bytes[1] });
        expect(rows[0]!.ended_at).not.toBeNull();
        expect(await audits(s.id, 'session.ended')).toBe(1);
        expect(await audits(s.id, 'session.desktop_waiting')).toBe(1);
      }
      expect(await db()('remote_legs').where({ node: 'node-replay' })).toEqual([]);
      expect(await db()('remote_session_events_held').whereIn('session_uid', sessions.map((s) => s.events[0]!.sessionId))).toEqual([]);
      await expect.poll(async () => (await two.servers[1].tickets.get(sessions[0]!.id)).status).toBe('in_session');
    } finally {
      stop();
    }
  }, 60_000);

  it('a late paired after its ended (the gap given up on) is recognised: one closed row, never a live one', async () => {
    const node = new FakeNode('node-late');
    const stop = await node.alive(urls()[0]);
    try {
      const t = await two.approved();
      const [waiting, paired, , , ended] = wholeSession(node, t.id, [777, 7]);
      expect((await node.post(urls()[1], [ended!])).results).toEqual([{ ok: true }]); // held: 1 to 4 have not arrived
      expect(await rowsOf(t.id)).toEqual([]);
      await expect.poll(async () => (await rowsOf(t.id)).length, { timeout: 10_000 }).toBe(1); // the gap given up on after REPEATER_EVENT_GAP_MS
      expect((await node.post(urls()[0], [paired!, waiting!])).results).toEqual([{ ok: true }, { ok: true }]);
      const rows = await rowsOf(t.id);
      expect(rows).toHaveLength(1);
      expect(rows[0]).toMatchObject({ end_reason: 'ENDED_BY_USER', bytes_desktop_to_viewer: 777, bytes_viewer_to_desktop: 7 });
      expect(rows[0]!.ended_at).not.toBeNull();
      expect(await audits(t.id, 'session.ended')).toBe(1);
      expect(await db()('remote_legs').where({ ticket_id: t.id })).toEqual([]);
    } finally {
      stop();
    }
  }, 30_000);

  it('a batch with one invalid event applies the others; a close code from a newer repeater is stored as it is', async () => {
    const node = new FakeNode('node-mixed');
    const stop = await node.alive(urls()[0]);
    try {
      const t = await two.approved();
      const [waiting, paired, progress, , last] = wholeSession(node, t.id, [0, 0]);
      const ended = { ...last!, seq: 4, reason: 'RELAY_REBALANCED', bytesDesktopToViewer: 4_242, bytesViewerToDesktop: 42 };
      const invalid = { type: 'ended', sessionId: randomUUID(), seq: 1, ticketId: String(t.id), reason: 'not a code' };
      const answer = await node.post(urls()[1], [waiting, paired, invalid, progress, ended]);
      expect(answer.status).toBe(200);
      expect(answer.results).toEqual([{ ok: true }, { ok: true }, { ok: false, error: { code: 'VALIDATION_FAILED', message: expect.stringMatching(/^Invalid event 2: /) } }, { ok: true }, { ok: true }]);
      const rows = await rowsOf(t.id);
      expect(rows).toHaveLength(1);
      expect(rows[0]).toMatchObject({ end_reason: 'RELAY_REBALANCED', bytes_desktop_to_viewer: 4_242, bytes_viewer_to_desktop: 42 });
    } finally {
      stop();
    }
  }, 30_000);
});

describe('an event that breaks a constraint', () => {
  it('is refused on its own (a recording id taken already): the batch is answered 200, its other events applied, nothing retried', async () => {
    const node = new FakeNode('node-constraint');
    const stop = await node.alive(urls()[0]);
    try {
      const [t1, t2] = [await two.approved(), await two.approved()];
      const recordingId = randomUUID();
      const at = Date.now();
      const paired = (ticketId: number) => node.number({ type: 'paired', sessionId: randomUUID(), ticketId: String(ticketId), desktopAddress: '127.0.0.1', viewerAddress: '127.0.0.1', at, recording: { id: recordingId, file: recordingFileName(String(ticketId), recordingId, at) } });
      expect((await node.post(urls()[0], [paired(t1.id)])).results).toEqual([{ ok: true }]);
      const again = paired(t2.id);
      const waiting = node.number({ type: 'legWaiting', sessionId: randomUUID(), ticketId: String(t2.id), side: 'desktop', remoteAddress: '127.0.0.1', at });
      const started = Date.now();
      const answer = await node.post(urls()[1], [again, waiting]);
      expect(answer.status).toBe(200);
      expect(answer.results).toEqual([{ ok: false, error: { code: 'VALIDATION_FAILED', message: expect.stringMatching(/conflicts with what the server holds/) } }, { ok: true }]);
      expect(Date.now() - started).toBeLessThan(2_000);
      expect(await db()('remote_legs').where({ session_uid: waiting.sessionId }).first()).toBeDefined();
      expect(await db()('remote_sessions').where({ session_uid: again.sessionId }).first()).toBeUndefined(); // the refused event left nothing
      expect(((await db()('recordings').where({ id: recordingId })) as { ticket_id: number }[]).map((r) => r.ticket_id)).toEqual([t1.id]);
      // The node's queue moves on: the next event of the refused one's session is applied.
      const next = node.number({ type: 'progress', sessionId: again.sessionId, ticketId: String(t2.id), bytesDesktopToViewer: 1, bytesViewerToDesktop: 1 });
      expect((await node.post(urls()[0], [next])).results).toEqual([{ ok: true }]);
    } finally {
      stop();
    }
  }, 30_000);
});

describe('"desktop connected" is the same on both servers', () => {
  it('a desktop leg waiting, paired, gone: the API, the pages and the desktop\'s stream say so on either server', async () => {
    const node = new FakeNode('node-desk');
    const stop = await node.alive(urls()[0]);
    try {
      const t = await two.approved();
      const [waiting, paired, p1, p2, ended] = wholeSession(node, t.id, [1, 1]);
      const ana: Tech[] = await Promise.all(urls().map((u) => loginAt(u, 'ana', 'ana-password-123')));
      const state = async (i: number) => (await ana[i]!.get(`/api/v1/tickets/${t.id}`).expect(200)).body.desktop;
      const mine = async (i: number) => (await ana[i]!.get('/api/v1/tickets/mine').expect(200)).body.tickets.find((x: { id: number }) => x.id === t.id).desktop;
      const stream = async (server: string) => {
        const live = await openSse(`${server}/api/v1/help-requests/${t.id}/events`, { authorization: `Bearer ${t.secret}` });
        const connection = await live.next((e) => e === 'connection');
        live.close();
        return connection.data.state;
      };
      const everywhere = async () => [await state(0), await state(1), await mine(0), await mine(1), ...(await Promise.all(urls().map(stream)))];
      expect(await everywhere()).toEqual([null, null, null, null, 'gone', 'gone']);
      await node.post(urls()[0], [waiting]);
      expect(await everywhere()).toEqual(['waiting', 'waiting', 'waiting', 'waiting', 'waiting', 'waiting']);
      await node.post(urls()[1], [paired]);
      expect(await everywhere()).toEqual(['paired', 'paired', 'paired', 'paired', 'paired', 'paired']);
      const page = await ana[1]!.get('/mine').expect(200);
      expect(page.text).toContain(`/tickets/${t.id}`);
      await node.post(urls()[1], [p1, p2, ended]);
      expect(await everywhere()).toEqual([null, null, null, null, 'gone', 'gone']);
    } finally {
      stop();
    }
  }, 30_000);
});

describe('a node\'s link moving between servers ends nothing; its real loss ends its sessions once', () => {
  it('the stream closes on server 1 and opens on server 2, heartbeats alternate: the session runs on; the heartbeats stop: REPEATER_LOST, once, one row', async () => {
    const node = new FakeNode('node-moving');
    expect((await node.hello(urls()[0])).status).toBe(200);
    const t = await two.approved();
    const [waiting, paired] = wholeSession(node, t.id, [0, 0]);
    await node.post(urls()[0], [waiting, paired]);
    let stream = await node.commands(urls()[0]);
    let beats = 0;
    const beating = setInterval(() => void node.beat(urls()[beats++ % 2]!).catch((err: unknown) => err), 200);
    try {
      for (let i = 0; i < 3; i++) {
        await new Promise((r) => setTimeout(r, 400));
        stream.close();
        stream = await node.commands(urls()[(i + 1) % 2]!);
        expect(stream.status).toBe(200);
      }
      await new Promise((r) => setTimeout(r, 2_500)); // past the lease (1 s), reaped by both servers each round
      expect((await rowsOf(t.id)).map((r) => r.ended_at)).toEqual([null]);
      // Commands still reach it, wherever its stream is (server 2 now): the user ends the ticket through server 1.
      await request(urls()[0]).post(`/api/v1/help-requests/${t.id}/end`).set({ authorization: `Bearer ${t.secret}` }).expect(200);
      await expect.poll(() => stream.ends.map((e) => e.ticketId), { timeout: 5_000 }).toContain(String(t.id));
    } finally {
      clearInterval(beating);
    }
    stream.close();
    await expect.poll(async () => (await rowsOf(t.id)).map((r) => r.end_reason), { timeout: 10_000 }).toEqual(['REPEATER_LOST']);
    await new Promise((r) => setTimeout(r, 1_500)); // more rounds on both servers change nothing
    expect((await rowsOf(t.id)).map((r) => r.end_reason)).toEqual(['REPEATER_LOST']);
    expect(await audits(t.id, 'session.ended')).toBe(1);
    await expect.poll(async () => (await request(urls()[1]).get('/healthz')).status).toBe(200);
  }, 30_000);
});
