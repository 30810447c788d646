// The seam between a stream's replay and its live events, held to its word
// with a real bus and an outbox whose reads the test paces: events that
// arrive during the replay and that the replay also read are passed on once,
// in id order; more held than EVENT_REPLAY_MAX ends the stream (the client
// resumes from the outbox) instead of buffering without bound.
import { describe, expect, it } from 'vitest';
import { EventBus } from './event-bus.ts';
import type { EventLog } from './event-log.ts';
import type { OutboxRow } from './outbox-store.ts';
import { joinStream, type DurableHandlers } from './resume.ts';

const message = (id: number) => ({ ticketId: 1, technicianId: null, queued: true, message: { id, from: 'user' as const, authorName: 'Eva', text: `m${id}`, at: id } });
const row = (id: number): OutboxRow => ({ id, name: 'ticket.message', ticketId: 1, origin: 'elsewhere', event: message(id) });

/** An outbox holding `rows`, whose first read lets `during` run before it answers. */
function pacedLog(rows: OutboxRow[], during: () => void, replayMax = 100): EventLog {
  let first = true;
  return {
    position: 5,
    options: { pollMs: 1000, replayMax, keepMs: 3_600_000, keepRows: 1000 },
    check: () => Promise.resolve('ok'),
    trimmedSince: () => Promise.resolve(false),
    after: (afterId: number) => {
      if (first) during();
      first = false;
      return Promise.resolve(rows.filter((r) => r.id > afterId).slice(0, 200));
    },
  } as unknown as EventLog;
}

function stream(bus: EventBus, log: EventLog, lastEventId: number) {
  const sent: number[] = [];
  const state = { ended: false, snapshot: false };
  const channel = { onClose: () => undefined, end: () => void (state.ended = true), closed: false };
  const record = (_e: unknown, id: number | null) => void sent.push(id ?? -1);
  const on: DurableHandlers = { 'ticket.changed': record, 'ticket.desktop': record, 'ticket.message': record, 'ticket.file': record, 'session.ended': record, 'ticket.participant': record };
  const joined = joinStream({ bus, log, channel, lastEventId, on, snapshot: () => Promise.resolve(void (state.snapshot = true)) });
  return { sent, state, joined };
}

describe('the seam between replay and live', () => {
  it('an event both replayed and received live is passed on once, in id order', async () => {
    const bus = new EventBus();
    const log = pacedLog([row(6), row(7), row(8)], () => {
      for (const id of [7, 8, 9]) bus.deliver('ticket.message', message(id), { id, local: false });
    });
    const s = stream(bus, log, 5);
    await s.joined;
    bus.deliver('ticket.message', message(10), { id: 10, local: false });
    expect(s.sent).toEqual([6, 7, 8, 9, 10]);
    expect(s.state).toEqual({ ended: false, snapshot: false });
  });

  it('more live events held during a replay than EVENT_REPLAY_MAX: the stream ends, nothing is buffered past the bound', async () => {
    const bus = new EventBus();
    const log = pacedLog([row(6)], () => {
      for (let id = 7; id <= 30; id++) bus.deliver('ticket.message', message(id), { id, local: false });
    }, 10);
    const s = stream(bus, log, 5);
    await s.joined;
    expect(s.state.ended).toBe(true);
    expect(s.sent).toEqual([6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16]);
  });
});
