// "Met the target wait" per day, team and topic (issue 29), on both engines:
// requests taken in time, found waiting too long by the check, withdrawn,
// and still waiting, counted against a recount of the tickets' rows.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ADMIN_PASSWORD, startHarness, type Harness, type Tech } from '../../test/server-harness.ts';
import { engines } from '../../test/databases.ts';

describe.each(engines)('met the target wait (%s)', (engine) => {
  let h: Harness;
  let admin: Tech;
  let ana: Tech;

  beforeAll(async () => {
    h = await startHarness(engine, { MAX_ACTIVE_TICKETS_PER_TECH: '50', WAIT_CHECK_MS: '600000' });
    admin = await h.login('admin', ADMIN_PASSWORD);
    ana = await h.createTechnician(admin, 'ana');
  }, 60_000);

  afterAll(async () => {
    await h?.close();
  });

  it('counts per day, team and topic the requests taken in time and those found waiting too long, as a recount does', async () => {
    const team = (await admin.post('/api/v1/teams', { name: 'Desk', members: [ana.id] }).expect(201)).body.team.id;
    const topicOf = async (name: string, teamId: number | null) => (await admin.post('/api/v1/topics', { nameEn: name, nameEs: name, nameZh: name, teamId, targetWaitSeconds: 60 }).expect(201)).body.topic.id as number;
    const [quick, other] = [await topicOf('Quick', team), await topicOf('Other', null)];
    const ask = async (topicId?: number) => (await h.api.post('/api/v1/help-requests').send({ requesterName: 'Bob', username: 'bob', hostname: 'pc', os: 'Linux', description: 'help', ...(topicId ? { topicId } : {}) }).expect(201)).body.id as number;
    // Taken in time: two on Quick, one on Other; withdrawn: one; no topic: one.
    for (const id of [await ask(quick), await ask(quick), await ask(other)]) await ana.post(`/api/v1/tickets/${id}/accept`).expect(200);
    const withdrawn = await h.api.post('/api/v1/help-requests').send({ requesterName: 'Bob', username: 'bob', hostname: 'pc', os: 'Linux', description: 'x', topicId: quick }).expect(201);
    await h.api.post(`/api/v1/help-requests/${withdrawn.body.id}/cancel`).set('authorization', `Bearer ${withdrawn.body.clientSecret}`).expect(200);
    await ask();
    // Too long: three on Quick (one of them taken afterwards), one on Other; one still waiting within its target comes after.
    const late = [await ask(quick), await ask(quick), await ask(quick), await ask(other)];
    h.clock.advance(61_000);
    expect(await h.server.checkWaiting()).toBe(4);
    await ana.post(`/api/v1/tickets/${late[0]}/accept`).expect(200);
    await ask(quick);

    const rows = await h.server.tickets.metTarget(30);
    // The recount: every ticket with a topic, by the same rule.
    const tickets = await h.server.db('tickets').whereNotNull('topic_id').select('created_at', 'team_id', 'topic_id', 'status', 'waiting_too_long_at');
    const expected = new Map<string, { met: number; missed: number }>();
    for (const t of tickets) {
      const key = `${new Date(Number(t.created_at)).toISOString().slice(0, 10)}:${t.team_id ?? 0}:${t.topic_id}`;
      const e = expected.get(key) ?? { met: 0, missed: 0 };
      if (t.waiting_too_long_at !== null) e.missed += 1;
      else if (!['requested', 'cancelled', 'expired'].includes(t.status)) e.met += 1;
      expected.set(key, e);
    }
    const got = new Map(rows.map((r) => [`${r.day}:${r.team?.id ?? 0}:${r.topic.id}`, { met: r.met, missed: r.missed }]));
    expect(got).toEqual(new Map([...expected].filter(([, v]) => v.met + v.missed > 0)));
    const quickRow = rows.find((r) => r.topic.id === quick)!;
    expect(quickRow).toMatchObject({ team: { id: team, name: 'Desk' }, met: 2, missed: 3 });
    expect(rows.find((r) => r.topic.id === other)).toMatchObject({ team: null, met: 1, missed: 1 });
  });

  it('the statistics page shows the figures', async () => {
    const page = await admin.get('/stats?days=7').expect(200);
    expect(page.text).toContain('id="met-target"');
    expect(page.text).toMatch(/<td class="met"[^>]*>2<\/td>\s*<td class="missed"[^>]*>3<\/td>/);
  });
});
