// Streams that resume, on one server (SQLite and MariaDB): a stream cut and
// reopened with its last event id gets exactly what it missed, then goes live;
// a stream too far behind, or whose events were trimmed, is told to reload
// (reset) and gets a fresh snapshot; the desktop's stream resumes the same way.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ADMIN_PASSWORD, cookieOf, openSse, startHarness, type Harness, type SseStream } from '../../test/server-harness.ts';
import { engines } from '../../test/databases.ts';

/** Every event of a stream until `until` matches, in order (events the stream had already are included). */
async function collect(stream: SseStream, until: (event: string, data: any) => boolean, timeoutMs = 5_000) {
  const seen: { event: string; data: any; id: string | null }[] = [];
  for (;;) {
    const e = await stream.next(() => true, timeoutMs);
    seen.push(e);
    if (until(e.event, e.data)) return seen;
  }
}

const createdIds = (events: { event: string; data: any }[]) => events.filter((e) => e.event === 'ticket' && e.data.action === 'created').map((e) => e.data.ticket.id as number);

describe.each(engines)('streams that resume (%s)', (engine) => {
  let h: Harness;
  let cookie: string;
  beforeAll(async () => {
    h = await startHarness(engine, { EVENT_REPLAY_MAX: '10' });
    cookie = await cookieOf(await h.login('admin', ADMIN_PASSWORD));
  }, 60_000);
  afterAll(() => h?.close());

  const open = (headers: Record<string, string> = {}, query = '') => openSse(`${h.server.url}/api/v1/events${query}`, { cookie, ...headers });

  it('a stream cut and reopened with its last id misses nothing and repeats nothing', async () => {
    const first = await open();
    const snapshot = await first.next((e) => e === 'snapshot');
    expect(snapshot.id).toMatch(/^\d+$/);
    const before = [await h.helpRequest({ description: 'before 1' }), await h.helpRequest({ description: 'before 2' })];
    const seen = await collect(first, (e, d) => e === 'ticket' && d.ticket.id === before[1]!.id);
    first.close();
    const lastId = seen.at(-1)!.id!;
    const missed = [await h.helpRequest({ description: 'missed 1' }), await h.helpRequest({ description: 'missed 2' }), await h.helpRequest({ description: 'missed 3' })];

    const second = await open({ 'last-event-id': lastId });
    const replayed = await collect(second, (e, d) => e === 'ticket' && d.ticket.id === missed[2]!.id);
    expect(replayed.map((e) => e.event)).not.toContain('snapshot');
    expect(createdIds(replayed)).toEqual(missed.map((t) => t.id));
    const after = await h.helpRequest({ description: 'live again' });
    const live = await collect(second, (e, d) => e === 'ticket' && d.ticket.id === after.id);
    expect(createdIds(live)).toEqual([after.id]);
    const ids = [...seen, ...replayed, ...live].map((e) => Number(e.id)).filter((id) => id > Number(snapshot.id));
    expect(new Set(ids).size).toBe(ids.length);
    expect(ids).toEqual([...ids].sort((a, b) => a - b));
    second.close();
  });

  it('?lastEventId= resumes as the header does (for a client that cannot set it)', async () => {
    const first = await open();
    const snapshot = await first.next((e) => e === 'snapshot');
    first.close();
    const missed = await h.helpRequest({ description: 'by query' });
    const second = await open({}, `?lastEventId=${snapshot.id}`);
    const event = await second.next(() => true);
    expect(event).toMatchObject({ event: 'ticket', data: { action: 'created', ticket: { id: missed.id } } });
    second.close();
  });

  it('past the replay bound (EVENT_REPLAY_MAX) the stream is told to reload, then gets a fresh snapshot', async () => {
    const first = await open();
    const snapshot = await first.next((e) => e === 'snapshot');
    first.close();
    const made = [];
    for (let i = 0; i < 12; i++) made.push(await h.helpRequest({ description: `burst ${i}` }));
    const second = await open({ 'last-event-id': snapshot.id! });
    const reset = await second.next(() => true);
    expect(reset).toMatchObject({ event: 'reset', data: { reason: 'TOO_FAR_BEHIND' }, id: null });
    const fresh = await second.next(() => true);
    expect(fresh.event).toBe('snapshot');
    expect(fresh.data.queue.map((t: { id: number }) => t.id)).toEqual(expect.arrayContaining(made.map((t) => t.id)));
    second.close();
  });

  it('an id this outbox never gave is not resumed from; garbage is a new stream', async () => {
    const unknown = await open({ 'last-event-id': '999999999' });
    expect(await unknown.next(() => true)).toMatchObject({ event: 'reset', data: { reason: 'UNKNOWN_EVENT_ID' } });
    expect((await unknown.next(() => true)).event).toBe('snapshot');
    unknown.close();
    const garbage = await open({ 'last-event-id': 'yesterday' });
    expect((await garbage.next(() => true)).event).toBe('snapshot');
    garbage.close();
  });

  it('the desktop\'s stream resumes with its own ticket\'s events only', async () => {
    const admin = await h.login('admin', ADMIN_PASSWORD);
    const t = await h.helpRequest({ description: 'desktop resume' });
    const url = `${h.server.url}/api/v1/help-requests/${t.id}/events`;
    const auth = { authorization: `Bearer ${t.secret}` };
    const first = await openSse(url, auth);
    const initial = await first.next((e) => e === 'connection');
    first.close();
    await admin.post(`/api/v1/tickets/${t.id}/messages`, { text: 'seen, coming' }).expect(201);
    await h.helpRequest({ description: 'another ticket meanwhile' });
    await admin.post(`/api/v1/tickets/${t.id}/accept`).expect(200);
    const second = await openSse(url, { ...auth, 'last-event-id': initial.id! });
    const message = await second.next(() => true);
    expect(message).toMatchObject({ event: 'message', data: { text: 'seen, coming' } });
    const accepted = await second.next(() => true);
    expect(accepted).toMatchObject({ event: 'ticket', data: { id: t.id, status: 'accepted' } });
    expect(Number(accepted.id)).toBeGreaterThan(Number(message.id));
    second.close();
  });
});

describe('a stream whose events were trimmed (EVENT_KEEP_MAX_ROWS)', () => {
  it('cannot replay them: it is told to reload (reset), then gets the snapshot', async () => {
    const h = await startHarness('sqlite', { EVENT_KEEP_MAX_ROWS: '10' });
    try {
      const cookie = await cookieOf(await h.login('admin', ADMIN_PASSWORD));
      const first = await openSse(`${h.server.url}/api/v1/events`, { cookie });
      const snapshot = await first.next((e) => e === 'snapshot');
      first.close();
      for (let i = 0; i < 12; i++) await h.helpRequest({ description: `to be trimmed ${i}` });
      expect(await h.server.housekeeping()).toBe(true);
      expect(await h.rows('event_outbox')).toBe(10);
      const second = await openSse(`${h.server.url}/api/v1/events`, { cookie, 'last-event-id': snapshot.id! });
      expect(await second.next(() => true)).toMatchObject({ event: 'reset', data: { reason: 'EVENTS_TRIMMED' } });
      const fresh = await second.next(() => true);
      expect(fresh.event).toBe('snapshot');
      expect(fresh.data.queue).toHaveLength(12);
      second.close();
    } finally {
      await h.close();
    }
  });
});
