// Canned replies' store and service on both engines (issue 29): create,
// change, delete (each audited in its transaction), the bound per team, an
// unknown team refused, and a ticket's replies — its team's and every team's,
// placeholders filled.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { engines } from '../../test/databases.ts';
import { ADMIN_PASSWORD, startHarness, type Harness, type Tech } from '../../test/server-harness.ts';
import { CANNED_REPLIES_PER_TEAM } from './schema.ts';

describe.each(engines)('canned replies on %s', (engine) => {
  let h: Harness;
  let admin: Tech;
  beforeAll(async () => {
    h = await startHarness(engine);
    admin = await h.login('admin', ADMIN_PASSWORD);
  }, 120_000);
  afterAll(async () => {
    await h?.close();
  });

  it('are kept per team, bounded, audited, and filled for a ticket', async () => {
    const team = (await admin.post('/api/v1/teams', { name: `Network ${engine}`, members: [] }).expect(201)).body.team.id as number;
    const everyone = (await admin.post('/api/v1/canned-replies', { title: 'Hello', body: 'Hi {user}, {technician} here. {other} stays.', teamId: null }).expect(201)).body.cannedReply;
    const mine = (await admin.post('/api/v1/canned-replies', { title: 'Reboot', body: 'Please restart, {user}.', teamId: team }).expect(201)).body.cannedReply;
    const changed = (await admin.patch(`/api/v1/canned-replies/${mine.id}`, { title: 'Restart', body: 'Please restart, {user}.', teamId: team }).expect(200)).body.cannedReply;
    expect(changed).toMatchObject({ id: mine.id, title: 'Restart', teamId: team });
    expect((await admin.patch('/api/v1/canned-replies/999999', { title: 'x', body: 'y', teamId: null }).expect(404)).body.error.code).toBe('CANNED_REPLY_NOT_FOUND');
    for (let i = 1; i < CANNED_REPLIES_PER_TEAM; i++) await admin.post('/api/v1/canned-replies', { title: `n${i}`, body: 'b', teamId: team }).expect(201);
    expect((await admin.post('/api/v1/canned-replies', { title: 'over', body: 'b', teamId: team }).expect(409)).body.error.code).toBe('TOO_MANY_CANNED_REPLIES');
    // Nor by moving one in from elsewhere (found by review: a change of team was not counted).
    const elsewhere = (await admin.post('/api/v1/canned-replies', { title: 'Moved in', body: 'b', teamId: null }).expect(201)).body.cannedReply as { id: number };
    expect((await admin.patch(`/api/v1/canned-replies/${elsewhere.id}`, { title: 'Moved in', body: 'b', teamId: team }).expect(409)).body.error.code).toBe('TOO_MANY_CANNED_REPLIES');
    await admin.agent.delete(`/api/v1/canned-replies/${elsewhere.id}`).set('x-csrf-token', admin.csrf).expect(204);
    // Every team's has its own count.
    await admin.post('/api/v1/canned-replies', { title: 'Bye', body: 'Bye {user}', teamId: null }).expect(201);

    const outside = await h.helpRequest({ requesterName: 'Uma User' });
    const inTeam = await h.helpRequest({ requesterName: 'Tim Team' });
    await admin.post(`/api/v1/tickets/${inTeam.id}/move`, { teamId: team, note: '' }).expect(200);
    const titles = async (id: number) => (await admin.get(`/api/v1/tickets/${id}/canned-replies`).expect(200)).body.cannedReplies as { title: string; body: string }[];
    expect((await titles(outside.id)).map((r) => r.title)).toEqual(['Bye', 'Hello']);
    const teamReplies = await titles(inTeam.id);
    expect(teamReplies).toHaveLength(CANNED_REPLIES_PER_TEAM + 2);
    expect(teamReplies.find((r) => r.title === 'Hello')!.body).toBe('Hi Tim Team, Administrator here. {other} stays.');
    expect(teamReplies.find((r) => r.title === 'Restart')!.body).toBe('Please restart, Tim Team.');

    await admin.agent.delete(`/api/v1/canned-replies/${everyone.id}`).set('x-csrf-token', admin.csrf).expect(204);
    expect((await titles(outside.id)).map((r) => r.title)).toEqual(['Bye']);
    const actions = (await h.server.db('audit_events').where('action', 'like', 'canned_reply.%').select('action')).map((r: { action: string }) => r.action);
    expect(actions.filter((a) => a === 'canned_reply.created')).toHaveLength(CANNED_REPLIES_PER_TEAM + 3);
    expect(actions.filter((a) => a === 'canned_reply.updated')).toHaveLength(1);
    expect(actions.filter((a) => a === 'canned_reply.deleted')).toHaveLength(2);
  }, 120_000);
});
