// The statistics' daily rollups equal a recount of the tickets after random
// sequences of moves (accept, release, decline, requeue, approve, end,
// resolve, cancel, expire — a reopen does not exist), some of them at once,
// and after a crash between the ticket's write and the commit: the rollups
// are written in the move's transaction, so they roll back with it.
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { tsExecArgv } from '../../lib/node-entry.ts';
import { engines } from '../../test/databases.ts';
import { ADMIN_PASSWORD, startHarness, type Harness } from '../../test/server-harness.ts';
import type { ActorContext } from '../audit/actor.ts';
import type { TicketAction } from '../tickets/state-machine.ts';
import { compareRollupsWithRecount } from './recount.ts';
import { createSurveyService } from '../surveys/service.ts';
import { tenthsOf } from './rollups.ts';
import { spreadOf, ticketStats } from './ticket-stats.ts';

describe.each(engines)('statistics rollups on %s', (engine) => {
  let h: Harness;
  let techs: ActorContext[];
  beforeAll(async () => {
    h = await startHarness(engine, { MAX_ACTIVE_TICKETS_PER_TECH: '50' });
    const admin = await h.login('admin', ADMIN_PASSWORD);
    techs = [];
    for (const name of ['ana', 'bo', 'cy']) {
      const t = await h.freshTechnician(admin, `${name}-${engine}`);
      techs.push({ actor: { type: 'technician', id: t.id, name, role: 'technician' }, remoteAddress: '127.0.0.1' });
    }
  }, 120_000);
  afterAll(async () => {
    await h?.close();
  });

  const snapshot = async () => {
    const db = h.server.db;
    const tables = ['ticket_day_counts', 'ticket_day_spreads', 'ticket_day_percentiles', 'ticket_spread_tree'];
    return JSON.stringify(await Promise.all(tables.map((t) => db(t).select('*').orderByRaw(t === 'ticket_spread_tree' ? '1, 2, 3, 4, 5, 6' : '1, 2'))));
  };

  it('equal a recount after random sequences of moves, some at once, across days', async () => {
    let seed = engine === 'sqlite' ? 7 : 11;
    const rand = (n: number) => ((seed = (seed * 48271) % 2147483647), seed % n);
    const user: ActorContext = { actor: { type: 'requester', name: 'User' }, remoteAddress: '127.0.0.1' };
    const ids: number[] = [];
    const moves: [TicketAction, (id: number) => ActorContext][] = [
      ['accept', () => techs[rand(techs.length)]!],
      ['release', () => user],
      ['decline', () => user],
      ['requeue', () => user],
      ['approve', () => user],
      ['start_session', () => user],
      ['end', () => user],
      ['resolve', () => user],
      ['cancel', () => user],
      ['expire', () => user],
    ];
    const forward: Partial<Record<string, TicketAction>> = { requested: 'accept', accepted: 'approve', approved: 'start_session', in_session: 'end', ended: 'resolve' };
    const surveys = createSurveyService({ db: h.server.db, clock: h.clock });
    let rated = 0;
    const tryMove = async (id: number) => {
      // Now and then the user answers the survey (issue 29): refused before the session ended, without one, and the second time.
      if (rand(8) === 0) {
        const ok = await surveys.answer(id, { rating: 1 + rand(5), comment: null }, user).then(() => true, (err: { code?: string }) => {
          if (!['SURVEY_NOT_YET', 'SURVEY_NO_SESSION', 'SURVEY_ANSWERED'].includes(err.code ?? '')) throw err;
          return false;
        });
        if (ok) rated++;
        return;
      }
      // Mostly the ticket's next step forward, else any move (release, decline, requeue, cancel, expire, or one refused).
      const next = forward[(await h.server.tickets.get(id)).status];
      const [action, who] = next && rand(10) < 7 ? moves.find(([a]) => a === next)! : moves[rand(moves.length)]!;
      const context = who(id);
      await h.server.tickets.transition(id, action, context, action === 'resolve' ? { patch: { resolution: 'done' } } : {}).catch((err: { code?: string }) => {
        // Most random moves are not legal from the ticket's state: refused, and nothing changes.
        if (err.code !== 'ILLEGAL_TRANSITION' && err.code !== 'TICKET_TAKEN') throw err;
      });
    };
    let done = 0;
    for (let round = 0; round < 12; round++) {
      for (let i = 0; i < 4; i++) ids.push((await h.helpRequest({ hostname: `rollup-${engine}` })).id);
      for (let step = 0; step < 30; step++) {
        h.clock.advance(rand(20) * 60_000 + rand(60_000));
        // Now and then several moves at once (on MariaDB they run in parallel transactions).
        if (step % 5 === 0) await Promise.all(Array.from({ length: 4 }, () => tryMove(ids[rand(ids.length)]!)));
        else await tryMove(ids[rand(ids.length)]!);
        done++;
      }
      // Some rounds cross midnight (UTC), so tickets of several days are moved.
      if (round % 3 === 2) h.clock.advance(9 * 3_600_000);
    }
    expect(done).toBe(360);
    const resolved = Number(((await h.server.db('tickets').where({ status: 'resolved' }).count({ n: '*' }).first()) as { n: number | string }).n);
    expect(resolved).toBeGreaterThan(0);
    expect(rated).toBeGreaterThan(0);
    const check = await compareRollupsWithRecount(h.server.db);
    expect(check.differences).toEqual([]);
    expect(check.rows).toBeGreaterThan(0);
    // The page's figures read from them count every ticket.
    const stats = await ticketStats(h.server.db, h.clock.now(), 30);
    expect(stats.requests.reduce((a, b) => a + b, 0)).toBe(await h.rows('tickets'));
  }, 120_000);

  it("give each technician's figures over periods of whole months and days equal to the tickets' own", async () => {
    // Tickets over about five months, so a year's period reads whole months and the days around them.
    for (let round = 0; round < 10; round++) {
      for (let i = 0; i < 3; i++) {
        const t = await h.helpRequest({ hostname: `months-${engine}` });
        h.clock.advance((round * 7 + i * 3) * 60_000 + 6_000 * i + 2_999);
        await h.server.tickets.transition(t.id, 'accept', techs[(round + i) % techs.length]!);
        if (i < 2) for (const step of ['approve', 'start_session', 'end'] as const) await h.server.tickets.transition(t.id, step, techs[0]!).catch(() => undefined);
        h.clock.advance((round * 13 + i * 5) * 60_000 + 3_001);
        if (i < 2) await h.server.tickets.transition(t.id, 'resolve', techs[0]!, { patch: { resolution: 'done' } }).catch(() => undefined);
      }
      h.clock.advance(15 * 86_400_000 + round * 3_600_000);
    }
    expect((await compareRollupsWithRecount(h.server.db)).differences).toEqual([]);
    const tickets = (await h.server.db('tickets').whereNotNull('technician_id').select('technician_id', 'created_at', 'accepted_at', 'resolved_at')) as { technician_id: number; created_at: number; accepted_at: number | null; resolved_at: number | null }[];
    for (const days of [365, 100, 45, 3]) {
      const stats = await ticketStats(h.server.db, h.clock.now(), days);
      const expected = new Map<number, { requests: number; w: number[]; r: number[] }>();
      for (const t of tickets.filter((x) => Number(x.created_at) >= stats.from && Number(x.created_at) < stats.to)) {
        const e = expected.get(Number(t.technician_id)) ?? { requests: 0, w: [], r: [] };
        e.requests++;
        if (t.accepted_at !== null && Number(t.accepted_at) >= Number(t.created_at)) e.w.push(tenthsOf(Number(t.accepted_at) - Number(t.created_at)));
        if (t.resolved_at !== null && Number(t.resolved_at) >= Number(t.created_at)) e.r.push(tenthsOf(Number(t.resolved_at) - Number(t.created_at)));
        expected.set(Number(t.technician_id), e);
      }
      const histogram = (values: number[]) => [...values.reduce((m, v) => m.set(v, (m.get(v) ?? 0) + 1), new Map<number, number>())].sort((a, b) => a[0] - b[0]);
      const want = [...expected].map(([technicianId, e]) => ({ technicianId, requests: e.requests, wait: spreadOf(histogram(e.w)), resolve: spreadOf(histogram(e.r)) }));
      expect(stats.byTechnician.sort((a, b) => a.technicianId - b.technicianId)).toEqual(want.sort((a, b) => a.technicianId - b.technicianId));
    }
    const months = Number(((await h.server.db('ticket_spread_tree').where({ unit: 'm' }).countDistinct({ n: 'at' }).first()) as { n: number | string }).n);
    expect(months).toBeGreaterThanOrEqual(4);
  }, 120_000);

  it('let every one of many moves at once through (no move lost to a deadlock between rollup rows), and still equal a recount', async () => {
    // Requests, accepts by three technicians and resolves all at once, on a day of their own: new rollup rows in the same gaps.
    h.clock.advance(3 * 86_400_000);
    const created = await Promise.all(Array.from({ length: 24 }, (_, i) => h.helpRequest({ hostname: `burst-${engine}-${i}` })));
    h.clock.advance(61_000);
    await Promise.all(created.map((t, i) => h.server.tickets.transition(t.id, 'accept', techs[i % techs.length]!)));
    for (const step of ['approve', 'start_session', 'end'] as const) {
      await Promise.all(created.map((t, i) => h.server.tickets.transition(t.id, step, techs[i % techs.length]!)));
    }
    h.clock.advance(187_000);
    await Promise.all(created.map((t, i) => h.server.tickets.transition(t.id, 'resolve', techs[i % techs.length]!, { patch: { resolution: 'done' } })));
    expect(Number(((await h.server.db('tickets').whereIn('id', created.map((t) => t.id)).where({ status: 'resolved' }).count({ n: '*' }).first()) as { n: number | string }).n)).toBe(24);
    expect((await compareRollupsWithRecount(h.server.db)).differences).toEqual([]);
  }, 120_000);

  it('roll back with the move when the process fails between the rollup write and the commit', async () => {
    const t = await h.helpRequest({ hostname: `crash-${engine}` });
    h.clock.advance(7 * 60_000);
    const before = await snapshot();
    const crash = new Error('the process fails here');
    // `also` runs in the move's transaction after the ticket's row and the rollups are written.
    await expect(h.server.tickets.transition(t.id, 'accept', techs[0]!, { also: () => Promise.reject(crash) })).rejects.toBe(crash);
    expect(await snapshot()).toBe(before);
    expect((await h.server.tickets.get(t.id)).status).toBe('requested');
    // The same move without the failure is counted.
    await h.server.tickets.transition(t.id, 'accept', techs[0]!);
    expect(await snapshot()).not.toBe(before);
    expect((await compareRollupsWithRecount(h.server.db)).differences).toEqual([]);
  });

  it('keep nothing of a move whose process is killed between its writes and its commit', async () => {
    const t = await h.helpRequest({ hostname: `killed-${engine}` });
    h.clock.advance(3 * 60_000);
    const before = await snapshot();
    const techId = techs[1]!.actor.type === 'technician' ? techs[1]!.actor.id : 0;
    const held = async () => Number(((await h.server.db('ticket_day_counts').where({ technician_id: techId }).sum({ n: 'requests' }).first()) as { n: number | string | null }).n ?? 0);
    const heldBefore = await held();
    const config = (h.server.db.client as { config: { connection: { filename?: string; uri?: string } } }).config.connection;
    const database = engine === 'sqlite' ? { client: 'sqlite', filename: config.filename } : { client: 'mysql', url: config.uri };
    const child = spawn(process.execPath, [...tsExecArgv(), fileURLToPath(new URL('./crash-child.ts', import.meta.url)), JSON.stringify(database), String(t.id), String(techId)], { stdio: ['ignore', 'pipe', 'inherit'] });
    let said = '';
    child.stdout.on('data', (chunk: Buffer) => (said += chunk.toString()));
    while (!said.includes('written')) {
      if (child.exitCode !== null) throw new Error(`the child exited with ${child.exitCode}`);
      await new Promise((r) => setTimeout(r, 50));
    }
    // Inside its transaction the move had counted the ticket for the technician…
    expect(Number(/written (\d+)/.exec(said)![1])).toBe(heldBefore + 1);
    child.kill('SIGKILL');
    await once(child, 'exit');
    // …and once its process is gone, nothing of it is left.
    expect(await held()).toBe(heldBefore);
    expect(await snapshot()).toBe(before);
    // The database rolled the move back: the ticket is still queued, the rollups as they were and equal to a recount.
    await h.server.tickets.transition(t.id, 'accept', techs[2]!);
    expect((await h.server.tickets.get(t.id)).technician?.id).toBe(techs[2]!.actor.type === 'technician' ? techs[2]!.actor.id : -1);
    expect(await snapshot()).not.toBe(before);
    expect((await compareRollupsWithRecount(h.server.db)).differences).toEqual([]);
  }, 60_000);
});
