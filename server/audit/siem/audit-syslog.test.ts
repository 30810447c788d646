// Audit to a SIEM against a real rsyslog on loopback (test/rsyslog.ts): every
// audit row the server commits arrives as one RFC 5424 message whose MSG is
// the line's JSON with every field (who, how they signed in, address, ticket
// with its user and computer, technician, result), over TCP and over UDP, and
// in AUDIT_LOG_FILE too. With rsyslog stopped, logins and tickets go on, the
// database has every row, and what overflows the queue is counted; started
// again, later lines arrive.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtempSync, readFileSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { ADMIN_PASSWORD, startHarness, type Harness } from '../../../test/server-harness.ts';
import { engines } from '../../../test/databases.ts';
import { startRsyslog, type Rsyslog } from '../../../test/rsyslog.ts';
import { scrape, valueOf } from '../../../test/prometheus.ts';
import { startTwoServers } from '../../../test/two-servers.ts';
import { loginAt } from '../../../test/http-clients.ts';

let syslog: Rsyslog;

beforeAll(async () => {
  syslog = await startRsyslog();
});

afterAll(async () => {
  await syslog?.stop();
});

interface AuditRow {
  id: number;
  action: string;
  actor_name: string;
  actor_type: string;
  ticket_id: number | null;
  technician_id: number | null;
  remote_address: string;
  detail: string | null;
}

const rowsOf = async (h: Harness) => ((await h.server.db('audit_events').orderBy('id')) as AuditRow[]).map((r) => ({ ...r, id: Number(r.id) }));
/** This server's lines among all rsyslog received (several servers write to it in this file). */
const linesOf = (h: Harness) => syslog.lines().filter((l) => l.json.server === `${hostname()}:${new URL(h.server.url).port}`);

const bearer = (secret: string) => ({ authorization: `Bearer ${secret}` });

describe.each(engines)('audit lines to syslog over TCP and to a file (%s)', (engine) => {
  let h: Harness;
  const file = join(mkdtempSync(join(tmpdir(), 'hd-audit-file-')), 'audit.jsonl');

  beforeAll(async () => {
    h = await startHarness(engine, { AUDIT_SYSLOG_URL: `tcp://127.0.0.1:${syslog.port}`, AUDIT_LOG_FILE: file });
  });

  afterAll(async () => {
    await h?.close();
  });

  it('sends every committed row once, with every field, in RFC 5424 with the action as MSGID', async () => {
    const admin = await h.login('admin', ADMIN_PASSWORD);
    const ana = await h.freshTechnician(admin, 'ana');
    const refused = await h.api.get('/auth/session');
    await h.api.post('/auth/login').set('cookie', refused.headers['set-cookie']!).set('x-csrf-token', refused.body.csrfToken).send({ username: ana.username, password: 'wrong-password-123' }).expect(401);
    const t = await h.helpRequest({ requesterName: 'Carla Díaz', username: 'carla', hostname: 'ws-carla-07' });
    await ana.post(`/api/v1/tickets/${t.id}/accept`).expect(200);
    const token = (await ana.post('/api/v1/tokens', { name: 'ticketing bridge', scopes: ['tickets:write'] }).expect(201)).body as { id: number; token: string };
    await h.api.post(`/api/v1/tickets/${t.id}/release`).set(bearer(token.token)).send({}).expect(200);

    const rows = await rowsOf(h);
    await expect.poll(() => linesOf(h).length, { timeout: 10_000 }).toBe(rows.length);
    const lines = linesOf(h);
    // Each row once, in commit order.
    expect(lines.map((l) => l.json.id)).toEqual(rows.map((r) => r.id));
    for (const [i, row] of rows.entries()) {
      const { json, app, msgId, pri } = lines[i]!;
      expect(app).toBe('helpdesk');
      expect(msgId).toBe(row.action);
      expect(pri).toBe(13 * 8 + (json.result === 'failure' ? 4 : 5));
      expect(json).toMatchObject({ type: 'audit', action: row.action, address: row.remote_address, actor: { type: row.actor_type, name: row.actor_name } });
      expect(json.detail).toEqual(row.detail ? JSON.parse(row.detail) : null);
      expect(json.ticket?.id ?? null).toBe(row.ticket_id === null ? null : Number(row.ticket_id));
      expect(json.technician?.id ?? null).toBe(row.technician_id === null ? null : Number(row.technician_id));
      expect(new Date(json.time).getTime()).toBeGreaterThan(0);
    }
    const one = (action: string) => lines.find((l) => l.json.action === action)!.json;
    expect(one('login.succeeded')).toMatchObject({ result: 'success', actor: { type: 'technician', name: 'admin', role: 'admin', signIn: 'local' }, address: expect.stringMatching(/127\.0\.0\.1/) });
    expect(one('login.failed')).toMatchObject({ result: 'failure', reason: 'wrong_password', actor: { name: ana.username }, technician: { id: ana.id, username: ana.username } });
    expect(one('ticket.created')).toMatchObject({ actor: { type: 'requester', name: 'Carla Díaz' }, ticket: { id: t.id, user: 'Carla Díaz', osUser: 'carla', computer: 'ws-carla-07', os: 'Debian 12' } });
    expect(one('ticket.accept')).toMatchObject({ result: 'success', actor: { type: 'technician', id: ana.id, name: ana.username, role: 'technician', signIn: 'local', token: null }, ticket: { id: t.id, computer: 'ws-carla-07' }, technician: { id: ana.id, username: ana.username } });
    expect(one('ticket.release')).toMatchObject({ actor: { id: ana.id, signIn: 'api_token', token: { id: token.id, name: 'ticketing bridge' } }, ticket: { user: 'Carla Díaz', computer: 'ws-carla-07' } });

    // The file has the same lines, one JSON object each.
    await expect.poll(() => readFileSync(file, 'utf8').split('\n').filter(Boolean).length).toBe(rows.length);
    const inFile = readFileSync(file, 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l) as { id: number });
    expect(inFile).toEqual(lines.map((l) => l.json));
  });
});

describe('audit lines to syslog over UDP', () => {
  it('arrive one datagram each', async () => {
    const h = await startHarness('sqlite', { AUDIT_SYSLOG_URL: `udp://127.0.0.1:${syslog.port}` });
    try {
      const t = await h.helpRequest({ hostname: 'udp-pc-1' });
      await expect.poll(() => linesOf(h).find((l) => l.json.action === 'ticket.created')?.json.ticket, { timeout: 10_000 }).toMatchObject({ id: t.id, computer: 'udp-pc-1' });
    } finally {
      await h.close();
    }
  });
});

describe('a syslog that is down', () => {
  it('holds nobody up and loses no database row; what overflows is counted; once it is back, later lines arrive', async () => {
    const TOKEN = 'metrics-token-for-tests-0123456789';
    const h = await startHarness('sqlite', { AUDIT_SYSLOG_URL: `tcp://127.0.0.1:${syslog.port}`, AUDIT_QUEUE_MAX: '10', METRICS_TOKEN: TOKEN });
    try {
      const admin = await h.login('admin', ADMIN_PASSWORD);
      await expect.poll(() => linesOf(h).length, { timeout: 10_000 }).toBe((await rowsOf(h)).length);
      await syslog.stop();

      // Logins and help requests go on while nobody listens: more audit rows than the queue holds.
      const ana = await h.freshTechnician(admin, 'ana');
      const whileDown: number[] = [];
      for (let i = 0; i < 8; i++) {
        const t = await h.helpRequest({ hostname: `down-${i}` });
        whileDown.push(t.id);
        if (i % 2 === 0) await ana.post(`/api/v1/tickets/${t.id}/accept`).expect(200);
        if (i % 2 === 0) await ana.post(`/api/v1/tickets/${t.id}/release`).expect(200);
      }
      await h.login(ana.username, ana.password);
      const rows = await rowsOf(h);
      for (const id of whileDown) expect(rows.filter((r) => r.ticket_id !== null && Number(r.ticket_id) === id && r.action === 'ticket.created')).toHaveLength(1);
      const metrics = async () => (await scrape(`${h.server.url}/metrics`, TOKEN)).families;
      await expect.poll(async () => valueOf(await metrics(), 'helpdesk_audit_lines_dropped_total', { sink: 'syslog' }), { timeout: 10_000 }).toBeGreaterThan(0);
      expect(valueOf(await metrics(), 'helpdesk_audit_queue_lines', { sink: 'syslog' })).toBeLessThanOrEqual(10);

      await syslog.start();
      // The connection is made again (backoff) and the lines that waited in the queue go first…
      const queuedBefore = linesOf(h).length;
      await expect.poll(async () => valueOf(await metrics(), 'helpdesk_audit_queue_lines', { sink: 'syslog' }), { timeout: 40_000, interval: 250 }).toBe(0);
      await expect.poll(() => linesOf(h).length, { timeout: 5_000 }).toBeGreaterThan(queuedBefore);
      // …and later lines arrive again.
      const after = await h.helpRequest({ hostname: 'after-restart' });
      await h.login(ana.username, ana.password);
      const lastBefore = (await rowsOf(h)).at(-2)!.id;
      await expect.poll(() => linesOf(h).filter((l) => l.json.ticket?.computer === 'after-restart' || (l.json.action === 'login.succeeded' && l.json.id > lastBefore)).length, { timeout: 10_000 }).toBe(2);
      const created = linesOf(h).find((l) => l.json.ticket?.computer === 'after-restart')!.json;
      expect(created).toMatchObject({ action: 'ticket.created', ticket: { id: after.id } });
      // The database has every row, the SIEM what was not dropped: sent and dropped add up to the rows.
      const final = await metrics();
      expect((valueOf(final, 'helpdesk_audit_lines_sent_total', { sink: 'syslog' }) ?? 0) + (valueOf(final, 'helpdesk_audit_lines_dropped_total', { sink: 'syslog' }) ?? 0)).toBe((await rowsOf(h)).length);
      // Nothing twice.
      const ids = linesOf(h).map((l) => l.json.id as number);
      expect(new Set(ids).size).toBe(ids.length);
    } finally {
      await h.close();
    }
  }, 90_000);
});

describe('two servers on one database', () => {
  it('each sends the rows it wrote: every row once, named by the server that wrote it', async () => {
    const engine = engines.includes('mysql') ? 'mysql' : 'sqlite';
    const two = await startTwoServers(engine, { AUDIT_SYSLOG_URL: `tcp://127.0.0.1:${syslog.port}` });
    try {
      const [first, second] = two.servers;
      const nameOf = (url: string) => `${hostname()}:${new URL(url).port}`;
      await loginAt(second.url, 'ana', 'ana-password-123');
      const tickets = [await two.approved(), await two.approved()];
      const rows = ((await first.db('audit_events').orderBy('id')) as AuditRow[]).map((r) => Number(r.id));
      const ours = () => syslog.lines().filter((l) => l.json.server === nameOf(first.url) || l.json.server === nameOf(second.url));
      await expect.poll(() => ours().length, { timeout: 10_000 }).toBe(rows.length);
      expect(ours().map((l) => l.json.id as number).sort((a, b) => a - b)).toEqual(rows);
      // The user's approvals went to the second server, the accepts to the first: each line says where.
      for (const t of tickets) {
        expect(ours().find((l) => l.json.action === 'ticket.approve' && l.json.ticket.id === t.id)!.json.server).toBe(nameOf(second.url));
        expect(ours().find((l) => l.json.action === 'ticket.accept' && l.json.ticket.id === t.id)!.json.server).toBe(nameOf(first.url));
      }
      expect(ours().filter((l) => l.json.action === 'login.succeeded' && l.json.server === nameOf(second.url))).toHaveLength(1);
    } finally {
      await two.close();
    }
  }, 60_000);
});
