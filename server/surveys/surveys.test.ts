// The satisfaction survey on the real server, on both engines: refused before
// the session ended, without a session, with a bad body, with a wrong secret
// and the second time (in words); counted in the statistics' rollup, which
// stays equal to a recount of the tickets (across days, technicians and a
// resolution after the answer).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { engines } from '../../test/databases.ts';
import { ADMIN_PASSWORD, startHarness, type Harness } from '../../test/server-harness.ts';
import type { ActorContext } from '../audit/actor.ts';
import { compareRollupsWithRecount } from '../stats/recount.ts';
import { surveyStats } from './survey-stats.ts';

describe.each(engines)('satisfaction survey on %s', (engine) => {
  let h: Harness;
  let techs: ActorContext[];
  const user: ActorContext = { actor: { type: 'requester', name: 'Bob User' }, remoteAddress: '127.0.0.1' };
  beforeAll(async () => {
    h = await startHarness(engine, { MAX_ACTIVE_TICKETS_PER_TECH: '50' });
    const admin = await h.login('admin', ADMIN_PASSWORD);
    techs = [];
    for (const name of ['ana', 'luis']) {
      const t = await h.freshTechnician(admin, `${name}-${engine}`);
      techs.push({ actor: { type: 'technician', id: t.id, name, role: 'technician' }, remoteAddress: '127.0.0.1' });
    }
  }, 120_000);
  afterAll(async () => {
    await h?.close();
  });

  const answer = (t: { id: number; secret: string }, body: object, lang = 'en') =>
    h.api.post(`/api/v1/help-requests/${t.id}/survey`).set('authorization', `Bearer ${t.secret}`).set('accept-language', lang).send(body);

  /** A request taken through a session that ended. */
  async function endedSession(tech: ActorContext): Promise<{ id: number; secret: string }> {
    const t = await h.helpRequest({ hostname: `survey-${engine}` });
    await h.server.tickets.transition(t.id, 'accept', tech);
    for (const action of ['approve', 'start_session', 'end'] as const) await h.server.tickets.transition(t.id, action, user);
    return t;
  }

  it('is refused before the session ended, without a session, with a bad body or secret, and the second time', async () => {
    const t = await h.helpRequest();
    await h.server.tickets.transition(t.id, 'accept', techs[0]!);
    const early = await answer(t, { rating: 5 });
    expect(early.status).toBe(409);
    expect(early.body.error).toMatchObject({ code: 'SURVEY_NOT_YET' });
    expect(early.body.error.message).toMatch(/has not ended yet/);
    for (const action of ['approve', 'start_session', 'end'] as const) await h.server.tickets.transition(t.id, action, user);
    expect((await answer({ ...t, secret: 'wrong-secret' }, { rating: 5 })).status).toBe(401);
    const six = await answer(t, { rating: 6 });
    expect(six.status).toBe(400);
    expect(six.body.error.message).toMatch(/rating: must be from 1 to 5/);
    const long = await answer(t, { rating: 4, comment: 'x'.repeat(1001) });
    expect(long.status).toBe(400);
    expect(long.body.error.message).toMatch(/comment: must be at most 1000 characters/);
    const first = await answer(t, { rating: 4, comment: '  Quick and kind  ' });
    expect(first.status).toBe(201);
    expect(first.body.survey).toMatchObject({ rating: 4, comment: 'Quick and kind' });
    const second = await answer(t, { rating: 1 }, 'es');
    expect(second.status).toBe(409);
    expect(second.body.error).toMatchObject({ code: 'SURVEY_ANSWERED', message: 'Ya nos dijo cómo fue esta sesión; gracias.' });
    expect(await h.server.db('tickets').where({ id: t.id }).first('survey_rating', 'survey_comment')).toEqual({ survey_rating: 4, survey_comment: 'Quick and kind' });
    // A request cancelled before any session has nothing to rate.
    const cancelled = await h.helpRequest();
    await h.server.tickets.transition(cancelled.id, 'cancel', user);
    const none = await answer(cancelled, { rating: 3 });
    expect(none.status).toBe(409);
    expect(none.body.error.code).toBe('SURVEY_NO_SESSION');
    const audit = await h.server.db('audit_events').where({ ticket_id: t.id, action: 'ticket.survey' });
    expect(audit).toHaveLength(1);
  });

  it('counts each answer in the statistics, equal to a recount of the tickets', async () => {
    let seed = engine === 'sqlite' ? 5 : 9;
    const rand = (n: number) => ((seed = (seed * 48271) % 2147483647), seed % n);
    const given: { tech: number; rating: number }[] = [];
    for (let i = 0; i < 14; i++) {
      const tech = techs[i % 2]!;
      const t = await endedSession(tech);
      const rating = 1 + rand(5);
      // Some answer at once, some skip (no answer at all).
      if (rand(4) === 0) continue;
      expect((await answer(t, { rating, comment: rand(2) ? `comment ${i}` : null })).status).toBe(201);
      given.push({ tech: tech.actor.type === 'technician' ? tech.actor.id : 0, rating });
      // A resolution after the answer moves the other rollups, not the rating.
      if (rand(2)) await h.server.tickets.transition(t.id, 'resolve', techs[i % 2]!, { patch: { resolution: 'done' } });
      if (i % 5 === 4) h.clock.advance(26 * 3_600_000);
    }
    expect((await compareRollupsWithRecount(h.server.db)).differences).toEqual([]);
    const stats = await surveyStats(h.server.db, h.clock.now(), 30);
    const all = await h.server.db('tickets').whereNotNull('survey_rating').select('technician_id', 'survey_rating');
    expect(stats.overall.count).toBe(all.length);
    const mean = (xs: number[]) => Math.round((100 * xs.reduce((a, b) => a + b, 0)) / xs.length) / 100;
    expect(stats.overall.average).toBe(mean(all.map((r: { survey_rating: number }) => Number(r.survey_rating))));
    for (const tech of techs) {
      const id = tech.actor.type === 'technician' ? tech.actor.id : 0;
      const mine = all.filter((r: { technician_id: number }) => Number(r.technician_id) === id).map((r: { survey_rating: number }) => Number(r.survey_rating));
      expect(mine.length).toBeGreaterThanOrEqual(given.filter((g) => g.tech === id).length);
      const row = stats.byTechnician.find((r) => r.technicianId === id)!;
      expect(row.count).toBe(mine.length);
      expect(row.average).toBe(mean(mine));
      expect(row.distribution).toEqual([1, 2, 3, 4, 5].map((r) => mine.filter((x) => x === r).length));
    }
    // Days: the answers spread over more than one, and the days add up to the whole.
    expect(stats.perDay.filter((d) => d.count > 0).length).toBeGreaterThan(1);
    expect(stats.perDay.reduce((a, d) => a + d.count, 0)).toBe(stats.overall.count);
  }, 120_000);
});
