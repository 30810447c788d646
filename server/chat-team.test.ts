// A queued request's chat is sent live by the team its message carries
// (server/events/routes.ts): that team is the request's when the message is
// written, not when the request was read before. A move to another team's
// queue committed in between must not leave the message to the old team's
// streams. Only on MariaDB: SQLite's one connection runs the two one after
// the other, so they cannot interleave there.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { engines } from '../test/databases.ts';
import { ADMIN_PASSWORD, startHarness, type Harness, type Tech } from '../test/server-harness.ts';

describe.each(engines.filter((e) => e === 'mysql'))('a queued request\'s message and a move at once, on %s', (engine) => {
  let h: Harness;
  let admin: Tech;
  beforeAll(async () => {
    h = await startHarness(engine);
    admin = await h.login('admin', ADMIN_PASSWORD);
  }, 60_000);
  afterAll(async () => h?.close());

  it('carries the team the request is in when the message is written', async () => {
    const team = (await admin.post('/api/v1/teams', { name: 'Printers team', members: [] }).expect(201)).body.team.id as number;
    const t = await h.helpRequest();
    // A move to the Printers team, not yet committed, holding the request's row (as tickets/queue.ts's moveToTeam does).
    const trx = await h.server.db.transaction();
    let committed = false;
    try {
      await trx('tickets').where({ id: t.id }).forUpdate().first('id');
      await trx('tickets').where({ id: t.id }).update({ team_id: team });
      // Meanwhile the user writes: the request is read as it was (everyone's queue), then the message is written.
      const answer = h.api.post(`/api/v1/help-requests/${t.id}/messages`).set({ Authorization: `Bearer ${t.secret}` }).send({ text: 'still there?' }).then((res) => res);
      await new Promise((r) => setTimeout(r, 400));
      await trx.commit();
      committed = true;
      expect((await answer).status).toBe(201);
    } finally {
      if (!committed) await trx.rollback();
    }
    const row = await h.server.db('event_outbox').where({ name: 'ticket.message', ticket_id: t.id }).orderBy('id', 'desc').first();
    expect(JSON.parse(String(row.payload))).toMatchObject({ ticketId: t.id, queued: true, teamId: team });
  });
});
