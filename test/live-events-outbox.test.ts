// Live events of repeater events (session.ended, ticket.desktop) are written
// to the event outbox in the transaction of their rows, not published after
// the commit: a server that dies between the commit and a publish loses none.
// The window is modelled by a bus whose publish does nothing for them (the
// process gone before it ran); the rows and the outbox entries must still be
// there together — for an ended reported by a node, and for a session ended
// as REPEATER_LOST by the lost-sessions round.
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { randomUUID } from 'node:crypto';
import type { BusEventName } from '../protocol/events.ts';
import { EventBus, durableEvents } from '../server/events/event-bus.ts';
import { engines } from './databases.ts';
import { startTwoServers, type TwoServers } from './two-servers.ts';
import { FakeNode } from './fake-node.ts';

const engine = engines.includes('mysql') ? 'mysql' : 'sqlite';
let two: TwoServers;

beforeAll(async () => {
  two = await startTwoServers(engine);
}, 60_000);

afterAll(async () => {
  await two?.close();
});

afterEach(() => {
  vi.restoreAllMocks();
});

const db = () => two.servers[0].db;
const outbox = async (ticketId: number, name: string) => ((await db()('event_outbox').where({ ticket_id: ticketId, name })) as unknown[]).length;

/** From now on the process "dies" right after each commit: live events published after it are never written. */
function crashAfterCommits(): void {
  const real = Object.getOwnPropertyDescriptor(EventBus.prototype, 'publish')?.value as (this: EventBus, name: BusEventName, event: unknown) => void;
  vi.spyOn(EventBus.prototype, 'publish').mockImplementation(function (this: EventBus, name, event) {
    if (durableEvents.has(name) && (name === 'session.ended' || name === 'ticket.desktop')) return;
    real.call(this, name, event);
  });
}

describe('live events of repeater events are written with their rows', () => {
  it('a node\'s ended: the closed row and its session.ended / ticket.desktop in the outbox, though nothing is published after the commit', async () => {
    const node = new FakeNode('node-outbox');
    const stop = await node.alive(two.servers[0].url);
    try {
      const t = await two.approved();
      crashAfterCommits();
      const sessionId = randomUUID();
      const ticketId = String(t.id);
      const at = Date.now();
      const result = await node.post(two.servers[0].url, [
        node.number({ type: 'legWaiting', sessionId, ticketId, side: 'desktop', remoteAddress: '127.0.0.1', at }),
        node.number({ type: 'paired', sessionId, ticketId, desktopAddress: '127.0.0.1', viewerAddress: '127.0.0.2', at: at + 10, recording: null }),
        node.number({ type: 'ended', sessionId, ticketId, reason: 'ENDED_BY_USER', endedBy: 'desktop', bytesDesktopToViewer: 5, bytesViewerToDesktop: 6, startedAt: at + 10, endedAt: at + 20, durationMs: 10 }),
      ]);
      expect(result.status).toBe(200);
      expect((await db()('remote_sessions').where({ ticket_id: t.id }).select('end_reason')).map((r: { end_reason: string }) => r.end_reason)).toEqual(['ENDED_BY_USER']);
      expect(await outbox(t.id, 'session.ended')).toBe(1);
      expect(await outbox(t.id, 'ticket.desktop')).toBe(3); // waiting, paired, gone
    } finally {
      stop();
    }
  }, 30_000);

  it('a lost node\'s session: REPEATER_LOST and its session.ended / ticket.desktop in the outbox, though nothing is published after the commit', async () => {
    const node = new FakeNode('node-outbox-lost');
    expect((await node.hello(two.servers[0].url)).status).toBe(200);
    const t = await two.approved();
    const sessionId = randomUUID();
    const ticketId = String(t.id);
    const at = Date.now();
    await node.post(two.servers[0].url, [
      node.number({ type: 'legWaiting', sessionId, ticketId, side: 'desktop', remoteAddress: '127.0.0.1', at }),
      node.number({ type: 'paired', sessionId, ticketId, desktopAddress: '127.0.0.1', viewerAddress: '127.0.0.2', at: at + 10, recording: null }),
    ]);
    crashAfterCommits();
    // No heartbeat: past the lease (1 s) a round ends it.
    await expect.poll(async () => (await db()('remote_sessions').where({ ticket_id: t.id }).select('end_reason')).map((r: { end_reason: string }) => r.end_reason), { timeout: 10_000 }).toEqual(['REPEATER_LOST']);
    expect(await outbox(t.id, 'session.ended')).toBe(1);
    expect(await outbox(t.id, 'ticket.desktop')).toBe(3); // waiting, paired, gone
  }, 30_000);
});
