// /metrics on a real server with its embedded repeater, read back with a
// Prometheus text parser: refused without the token or with a wrong one; the
// numbers follow a real session (one live session then none, bytes relayed
// each way growing), an accept's queue wait, failed logins; the database's
// counts are read once per cache period however many scrape at once. Without
// a token /metrics is not on the main port; METRICS_BIND serves it apart.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { randomBytes } from 'node:crypto';
import { ADMIN_PASSWORD, startHarness, type Harness, type Tech } from '../../test/server-harness.ts';
import { cookieOf, openLeg, openSse } from '../../test/http-clients.ts';
import { histogramOf, scrape, valueOf } from '../../test/prometheus.ts';
import { engines } from '../../test/databases.ts';

const TOKEN = 'metrics-token-for-tests-0123456789';
let h: Harness;
let admin: Tech;
let ana: Tech & { username: string; password: string };

beforeAll(async () => {
  h = await startHarness('sqlite', { METRICS_TOKEN: TOKEN, METRICS_DB_CACHE_MS: '1000' });
  admin = await h.login('admin', ADMIN_PASSWORD);
  ana = await h.freshTechnician(admin, 'ana');
});

afterAll(async () => {
  await h?.close();
});

const metrics = () => scrape(`${h.server.url}/metrics`, TOKEN);
const bearer = (secret: string) => ({ authorization: `Bearer ${secret}` });

describe('/metrics on the server', () => {
  it('is refused without the token and with a wrong one, in words', async () => {
    for (const token of [undefined, 'metrics-token-for-tests-0123456788', '']) {
      const res = await fetch(`${h.server.url}/metrics`, { headers: token === undefined ? {} : { authorization: `Bearer ${token}` } });
      expect(res.status).toBe(401);
      expect(res.headers.get('www-authenticate')).toMatch(/^Bearer/);
      expect(await res.json()).toMatchObject({ error: { code: 'UNAUTHENTICATED', message: expect.stringMatching(/METRICS_TOKEN/) } });
    }
    const basic = await fetch(`${h.server.url}/metrics`, { headers: { authorization: `Basic ${Buffer.from(`x:${TOKEN}`).toString('base64')}` } });
    expect(basic.status).toBe(401);
  });

  it('names every family helpdesk_… (besides the standard process ones), with help text; deployment-wide ones say so', async () => {
    const { status, families } = await metrics();
    expect(status).toBe(200);
    const names = families.map((f) => f.name);
    for (const name of [
      'helpdesk_tickets',
      'helpdesk_queue_wait_seconds',
      'helpdesk_sessions_live',
      'helpdesk_legs_live',
      'helpdesk_relay_bytes_total',
      'helpdesk_recordings',
      'helpdesk_sse_clients',
      'helpdesk_login_failures_total',
      'helpdesk_login_locks_total',
      'helpdesk_audit_lines_dropped_total',
      'helpdesk_db_pool_connections',
      'helpdesk_metrics_db_age_seconds',
      'nodejs_eventloop_lag_seconds',
      'process_cpu_user_seconds_total',
    ]) expect(names).toContain(name);
    expect(names.filter((n) => !/^(helpdesk_|process_|nodejs_)/.test(n))).toEqual([]);
    expect(families.find((f) => f.name === 'helpdesk_tickets')!.help).toMatch(/deployment-wide/);
    expect(valueOf(families, 'helpdesk_db_pool_connections', { state: 'used' })).toBeGreaterThanOrEqual(0);
  });

  it('follows a session: tickets by status, the queue wait at accept, one live session then none, bytes relayed each way growing', async () => {
    const before = await metrics();
    const waitsBefore = histogramOf(before.families, 'helpdesk_queue_wait_seconds')!.count;
    const requestedBefore = valueOf(before.families, 'helpdesk_tickets', { status: 'requested' })!;
    const t = await h.helpRequest();
    await expect.poll(async () => valueOf((await metrics()).families, 'helpdesk_tickets', { status: 'requested' }), { timeout: 5_000 }).toBe(requestedBefore + 1);

    await ana.post(`/api/v1/tickets/${t.id}/accept`).expect(200);
    await expect.poll(async () => histogramOf((await metrics()).families, 'helpdesk_queue_wait_seconds')!.count, { timeout: 5_000 }).toBe(waitsBefore + 1);
    await h.api.post(`/api/v1/help-requests/${t.id}/approve`).set(bearer(t.secret)).send({ viewOnly: false }).expect(200);

    const bytes0 = (await metrics()).families;
    const d0 = valueOf(bytes0, 'helpdesk_relay_bytes_total', { direction: 'desktop_to_viewer' })!;
    const v0 = valueOf(bytes0, 'helpdesk_relay_bytes_total', { direction: 'viewer_to_desktop' })!;
    expect(valueOf(bytes0, 'helpdesk_sessions_live')).toBe(0);

    const desktopUrl = (await h.api.post(`/api/v1/help-requests/${t.id}/desktop-token`).set(bearer(t.secret)).expect(201)).body.url as string;
    const viewerUrl = (await ana.post(`/api/v1/tickets/${t.id}/viewer-token`).expect(201)).body.url as string;
    const desktop = await openLeg(desktopUrl);
    const viewer = await openLeg(viewerUrl, h.server.url);
    const screen = randomBytes(100_000);
    desktop.ws.send(screen);
    viewer.ws.send(randomBytes(300));
    await expect.poll(() => Buffer.concat(viewer.inbox).length, { timeout: 5_000 }).toBe(screen.length);

    const live = (await metrics()).families;
    expect(valueOf(live, 'helpdesk_sessions_live')).toBe(1);
    expect(valueOf(live, 'helpdesk_legs_live')).toBe(2);
    expect(valueOf(live, 'helpdesk_relay_bytes_total', { direction: 'desktop_to_viewer' })! - d0).toBe(screen.length);
    await expect.poll(async () => valueOf((await metrics()).families, 'helpdesk_relay_bytes_total', { direction: 'viewer_to_desktop' })! - v0).toBe(300);
    await expect.poll(async () => valueOf((await metrics()).families, 'helpdesk_tickets', { status: 'in_session' }), { timeout: 5_000 }).toBeGreaterThanOrEqual(1);

    desktop.ws.send(randomBytes(5_000));
    await expect.poll(() => Buffer.concat(viewer.inbox).length, { timeout: 5_000 }).toBe(screen.length + 5_000);
    desktop.ws.close(1000);
    await viewer.closed;
    await expect.poll(async () => valueOf((await metrics()).families, 'helpdesk_sessions_live'), { timeout: 5_000 }).toBe(0);
    const after = (await metrics()).families;
    expect(valueOf(after, 'helpdesk_legs_live')).toBe(0);
    // The counter kept what the ended session relayed: it never goes back.
    expect(valueOf(after, 'helpdesk_relay_bytes_total', { direction: 'desktop_to_viewer' })! - d0).toBe(screen.length + 5_000);
    expect(valueOf(after, 'helpdesk_relay_bytes_total', { direction: 'viewer_to_desktop' })! - v0).toBe(300);
  });

  it('counts failed logins by reason and the lock they lead to, and live event streams', async () => {
    const before = valueOf((await metrics()).families, 'helpdesk_login_failures_total', { reason: 'wrong_password' }) ?? 0;
    const agent = await fetch(`${h.server.url}/auth/session`);
    const { csrfToken } = (await agent.json()) as { csrfToken: string };
    const cookie = agent.headers.get('set-cookie')!.split(';')[0]!;
    for (let i = 0; i < 2; i++) {
      const res = await fetch(`${h.server.url}/auth/login`, { method: 'POST', headers: { 'content-type': 'application/json', 'x-csrf-token': csrfToken, cookie }, body: JSON.stringify({ username: ana.username, password: 'not-the-password' }) });
      expect(res.status).toBe(401);
    }
    await expect.poll(async () => valueOf((await metrics()).families, 'helpdesk_login_failures_total', { reason: 'wrong_password' })).toBe(before + 2);
    // The fifth failure (LOGIN_MAX_FAILURES) locks the account: a failure and a lock.
    const locksBefore = valueOf((await metrics()).families, 'helpdesk_login_locks_total')!;
    for (let i = 0; i < 3; i++) {
      const res = await fetch(`${h.server.url}/auth/login`, { method: 'POST', headers: { 'content-type': 'application/json', 'x-csrf-token': csrfToken, cookie }, body: JSON.stringify({ username: ana.username, password: 'not-the-password' }) });
      expect(res.status).toBeGreaterThanOrEqual(400);
    }
    await expect.poll(async () => valueOf((await metrics()).families, 'helpdesk_login_locks_total')).toBe(locksBefore + 1);
    expect(valueOf((await metrics()).families, 'helpdesk_login_failures_total', { reason: 'wrong_password' })).toBe(before + 5);

    const streams = valueOf((await metrics()).families, 'helpdesk_sse_clients')!;
    const sse = await openSse(`${h.server.url}/api/v1/events`, { cookie: await cookieOf(ana) });
    await expect.poll(async () => valueOf((await metrics()).families, 'helpdesk_sse_clients'), { timeout: 5_000 }).toBe(streams + 1);
    sse.close();
    await expect.poll(async () => valueOf((await metrics()).families, 'helpdesk_sse_clients'), { timeout: 5_000 }).toBe(streams);
  });

  it('a storm of scrapes reads the database once per cache period', async () => {
    await new Promise((r) => setTimeout(r, 1_100)); // the cached counts are stale now
    // The tickets' count by status, as the database is asked it (event polling and housekeeping run too).
    let reads = 0;
    const count = (q: { sql: string }) => {
      if (/from [`"]tickets[`"] group by/i.test(q.sql)) reads += 1;
    };
    h.server.db.on('query', count);
    const started = Date.now();
    const answers = await Promise.all(Array.from({ length: 40 }, () => metrics()));
    const periods = Math.floor((Date.now() - started) / 1_000) + 1;
    expect(answers.every((a) => a.status === 200 && valueOf(a.families, 'helpdesk_tickets', { status: 'requested' }) !== undefined)).toBe(true);
    h.server.db.off('query', count);
    // One read per cache period that the storm lasted (40 scrapes on a busy machine may take more than one).
    expect(reads).toBeGreaterThanOrEqual(1);
    expect(reads).toBeLessThanOrEqual(periods);
  });
});

describe('/metrics and webhooks', () => {
  it('counts webhook deliveries by state, as the database holds them', async () => {
    const hw = await startHarness('sqlite', { METRICS_TOKEN: TOKEN, METRICS_DB_CACHE_MS: '1000', WEBHOOK_ALLOW_PRIVATE: 'on' });
    try {
      const adminW = await hw.login('admin', ADMIN_PASSWORD);
      // Nothing listens there: the deliveries wait and are retried.
      await adminW.post('/api/v1/webhooks', { url: 'http://127.0.0.1:9/hooks', events: ['ticket.created'] }).expect(201);
      await hw.helpRequest();
      await hw.helpRequest();
      const byState = async () => {
        const rows = (await hw.server.db('webhook_deliveries').select('state').count({ n: '*' }).groupBy('state')) as { state: string; n: number | string }[];
        return Object.fromEntries(rows.map((r) => [r.state, Number(r.n)])) as Record<string, number>;
      };
      await expect.poll(async () => Object.values(await byState()).reduce((a, b) => a + b, 0), { timeout: 5_000 }).toBe(2);
      await new Promise((r) => setTimeout(r, 1_100)); // the cached counts are stale now
      const families = (await metrics2(hw)).families;
      const shown = Object.fromEntries((families.find((f) => f.name === 'helpdesk_webhook_deliveries')?.metrics ?? []).map((m) => [m.labels!.state, Number(m.value)])) as Record<string, number>;
      expect(Object.values(shown).reduce((a, b) => a + b, 0)).toBe(2);
      expect(Object.keys(shown).every((state) => /^[a-z_]+$/.test(state))).toBe(true);
    } finally {
      await hw.close();
    }
  });
});

describe('/metrics without a token', () => {
  it('is not served on the main port; METRICS_BIND serves it on its own address (the token still asked when set)', async () => {
    const open = await startHarness('sqlite', { METRICS_BIND: '127.0.0.1:0' });
    try {
      expect((await fetch(`${open.server.url}/metrics`)).status).toBe(404);
      expect(open.server.metricsPort).toBeGreaterThan(0);
      const apart = await scrape(`http://127.0.0.1:${open.server.metricsPort}/metrics`);
      expect(apart.status).toBe(200);
      expect(valueOf(apart.families, 'helpdesk_sessions_live')).toBe(0);
      expect((await fetch(`http://127.0.0.1:${open.server.metricsPort}/`)).status).toBe(404);
    } finally {
      await open.close();
    }
    const none = await startHarness('sqlite', {});
    try {
      expect((await fetch(`${none.server.url}/metrics`)).status).toBe(404);
      expect(none.server.metricsPort).toBeNull();
    } finally {
      await none.close();
    }
  });
});

describe('/metrics on a repeater process', () => {
  it('refuses without its token; its own numbers follow a session relayed through it', async () => {
    const REPEATER_TOKEN = 'repeater-metrics-token-0123456789';
    const hp = await startHarness('sqlite', { METRICS_TOKEN: TOKEN }, { repeater: 'process', repeaterEnv: { METRICS_TOKEN: REPEATER_TOKEN } });
    try {
      const node = `${hp.repeaterProcess!.url}/metrics`;
      expect((await fetch(node)).status).toBe(401);
      expect((await fetch(node, { headers: { authorization: `Bearer ${TOKEN}` } })).status).toBe(401); // the server's token is not the node's
      const first = await scrape(node, REPEATER_TOKEN);
      expect(first.status).toBe(200);
      expect(valueOf(first.families, 'helpdesk_sessions_live')).toBe(0);
      expect(valueOf(first.families, 'nodejs_eventloop_lag_seconds')).toBeGreaterThanOrEqual(0);
      // The server's own /metrics has no repeater of its own to tell about; the database's counts it has.
      const server = await scrape(`${hp.server.url}/metrics`, TOKEN);
      expect(valueOf(server.families, 'helpdesk_sessions_live')).toBeUndefined();
      expect(valueOf(server.families, 'helpdesk_tickets', { status: 'requested' })).toBe(0);

      const adminP = await hp.login('admin', ADMIN_PASSWORD);
      const bea = await hp.freshTechnician(adminP, 'bea');
      const t = await hp.acceptedRequest(bea);
      await hp.api.post(`/api/v1/help-requests/${t.id}/approve`).set(bearer(t.secret)).send({ viewOnly: false }).expect(200);
      const desktopUrl = (await hp.api.post(`/api/v1/help-requests/${t.id}/desktop-token`).set(bearer(t.secret)).expect(201)).body.url as string;
      const viewerUrl = (await bea.post(`/api/v1/tickets/${t.id}/viewer-token`).expect(201)).body.url as string;
      const desktop = await openLeg(desktopUrl);
      const viewer = await openLeg(viewerUrl, hp.server.url);
      const screen = randomBytes(64_000);
      desktop.ws.send(screen);
      await expect.poll(() => Buffer.concat(viewer.inbox).length, { timeout: 5_000 }).toBe(screen.length);
      const live = (await scrape(node, REPEATER_TOKEN)).families;
      expect(valueOf(live, 'helpdesk_sessions_live')).toBe(1);
      expect(valueOf(live, 'helpdesk_relay_bytes_total', { direction: 'desktop_to_viewer' })).toBe(screen.length);
      viewer.ws.close(1000);
      await desktop.closed;
      await expect.poll(async () => valueOf((await scrape(node, REPEATER_TOKEN)).families, 'helpdesk_sessions_live'), { timeout: 5_000 }).toBe(0);
      expect(valueOf((await scrape(node, REPEATER_TOKEN)).families, 'helpdesk_relay_bytes_total', { direction: 'desktop_to_viewer' })).toBe(screen.length);
    } finally {
      await hp.close();
    }
  }, 60_000);
});

describe.runIf(engines.includes('mysql'))('/metrics while the database does not answer (MariaDB)', () => {
  it('answers with the last counts and their age, and a storm of scrapes waits on one read', async () => {
    const hm = await startHarness('mysql', { METRICS_TOKEN: TOKEN, METRICS_DB_CACHE_MS: '1000' });
    const db = hm.server.db;
    // One pooled connection holds the tickets' table: the counts cannot be read until it lets go.
    const held = (await db.client.acquireConnection()) as unknown;
    try {
      await hm.helpRequest();
      const fresh = (await metrics2(hm)).families;
      expect(valueOf(fresh, 'helpdesk_tickets', { status: 'requested' })).toBe(1);
      await db.raw('LOCK TABLES tickets WRITE').connection(held);
      await new Promise((r) => setTimeout(r, 1_100)); // the counts are stale now
      let reads = 0;
      const count = (q: { sql: string }) => {
        if (/from [`"]tickets[`"] group by/i.test(q.sql)) reads += 1;
      };
      db.on('query', count);
      const answers = await Promise.all(Array.from({ length: 20 }, () => metrics2(hm)));
      for (const a of answers) {
        expect(a.status).toBe(200);
        expect(valueOf(a.families, 'helpdesk_tickets', { status: 'requested' })).toBe(1);
        expect(valueOf(a.families, 'helpdesk_metrics_db_age_seconds')).toBeGreaterThanOrEqual(1);
      }
      expect(reads).toBe(1); // still waiting for the lock: nobody started another
      await db.raw('UNLOCK TABLES').connection(held);
      await expect.poll(async () => valueOf((await metrics2(hm)).families, 'helpdesk_metrics_db_age_seconds'), { timeout: 5_000 }).toBeLessThan(1);
      db.off('query', count);
    } finally {
      await db.raw('UNLOCK TABLES').connection(held).catch((err: unknown) => err);
      await db.client.releaseConnection(held);
      await hm.close();
    }
  }, 60_000);
});

function metrics2(harness: Harness) {
  return scrape(`${harness.server.url}/metrics`, TOKEN);
}
