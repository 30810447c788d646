// The database going away under a running server (a private MariaDB, stopped
// and started again): requests get 503 DATABASE_UNAVAILABLE with Retry-After,
// never 500, and everything works again once it is back, without a restart.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import knexFactory from 'knex';
import { startMariaDb, type MariaDb } from './mariadb.ts';
import { ADMIN_PASSWORD, startHarness, type Harness } from './server-harness.ts';

let db: MariaDb;
let h: Harness;

beforeAll(async () => {
  db = await startMariaDb();
  const admin = knexFactory({ client: 'mysql2', connection: db.url });
  await admin.raw('CREATE DATABASE outage CHARACTER SET utf8mb4');
  await admin.destroy();
  h = await startHarness('sqlite', { DATABASE_URL: `${db.url}/outage` });
}, 120_000);

afterAll(async () => {
  await h?.close().catch(() => undefined); // the pool may still be reconnecting
  await db?.destroy();
});

describe('database outage', () => {
  it('answers 503 DATABASE_UNAVAILABLE with Retry-After while MariaDB is down, and recovers by itself', async () => {
    await h.helpRequest();
    const admin = await h.login('admin', ADMIN_PASSWORD);
    await db.stop();
    const create = await h.api.post('/api/v1/help-requests').send({ requesterName: 'Bob', username: 'bob', hostname: 'pc', os: 'Linux', description: 'Help' });
    expect(create.status).toBe(503);
    expect(create.body.error.code).toBe('DATABASE_UNAVAILABLE');
    expect(create.headers['retry-after']).toBe('5');
    // A logged-in technician's request needs the session store: the same answer.
    const me = await admin.get('/api/v1/me');
    expect(me.status).toBe(503);
    expect(me.body.error.code).toBe('DATABASE_UNAVAILABLE');
    expect((await h.api.get('/healthz')).status).toBe(503);
    await db.start();
    await expect.poll(async () => (await h.api.get('/healthz')).status, { timeout: 15_000 }).toBe(200);
    await h.helpRequest();
    await admin.get('/api/v1/me').expect(200);
  }, 120_000);
});
