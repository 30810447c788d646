// An API token acts only for an owner who could still sign in: once local
// sign-in is narrowed (LOCAL_LOGIN=admins), a local technician's tokens stop
// with the same words as the login form, and a local administrator's go on
// (found by review: tokens kept working). Two servers in turn on one database.
import { afterAll, describe, expect, it } from 'vitest';
import { freshDatabase } from '../../test/databases.ts';
import { ADMIN_PASSWORD, startHarness, type Harness } from '../../test/server-harness.ts';

describe('API tokens and LOCAL_LOGIN (sqlite)', () => {
  const harnesses: Harness[] = [];
  afterAll(async () => {
    for (const h of harnesses) await h.close();
  });

  it('a local technician\'s token is refused in words once LOCAL_LOGIN=admins; a local administrator\'s still works', async () => {
    const database = await freshDatabase('sqlite');
    if (database.client !== 'sqlite') throw new Error('expected SQLite');
    const url = `sqlite:${database.filename}`;
    const before = await startHarness('sqlite', { DATABASE_URL: url, LOCAL_LOGIN: 'all' });
    harnesses.push(before);
    const admin = await before.login('admin', ADMIN_PASSWORD);
    const ana = await before.freshTechnician(admin, 'ana');
    const anaToken = (await ana.post('/api/v1/tokens', { name: 'Ana sync', scopes: ['tickets:read'], expiresInDays: 30 }).expect(201)).body.token as string;
    const adminToken = (await admin.post('/api/v1/tokens', { name: 'Admin sync', scopes: ['tickets:read'], expiresInDays: 30 }).expect(201)).body.token as string;
    await before.api.get('/api/v1/tickets/queue').set('authorization', `Bearer ${anaToken}`).expect(200);
    await before.close();
    harnesses.pop();

    const after = await startHarness('sqlite', { DATABASE_URL: url, LOCAL_LOGIN: 'admins' });
    harnesses.push(after);
    const refused = await after.api.get('/api/v1/tickets/queue').set('authorization', `Bearer ${anaToken}`);
    expect(refused.status).toBe(403);
    expect(refused.body.error).toMatchObject({ code: 'LOCAL_LOGIN_OFF', message: expect.stringMatching(/Only administrators may log in with a local account here/) });
    await after.api.get('/api/v1/tickets/queue').set('authorization', `Bearer ${adminToken}`).expect(200);
  });
});
