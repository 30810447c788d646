// Check-then-act and event ordering under concurrency (issue 15): each case
// interleaves two actions the way two requests can, and asserts the outcome a
// serial run would give.
import express from 'express';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { generate } from 'otplib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { engines, type Engine } from '../test/databases.ts';
import { ADMIN_PASSWORD, TEST_SECRETS_KEY, cookieOf, startHarness, openSse, type Harness, type Tech } from '../test/server-harness.ts';
import { parseKeyRing } from '../lib/sealed.ts';
import { createTechnicianService } from './technicians/service.ts';
import { createPasswordHasher } from './technicians/password.ts';
import { systemClock } from './clock.ts';
import { EventBus } from './events/event-bus.ts';
import { createFileService } from './files/service.ts';
import { eventRoutes } from './events/routes.ts';
import { installSse } from './events/sse.ts';
import type { TicketService } from './tickets/service.ts';
import type { TicketView } from '../protocol/events.ts';
import type { Technician } from './technicians/store.ts';
import type { AddressInfo } from 'node:net';

const ctx = { actor: { type: 'system' as const, name: 'race-test' }, remoteAddress: '127.0.0.1' };
const technicianService = (h: Harness) =>
  createTechnicianService({ db: h.server.db, clock: systemClock, hasher: createPasswordHasher(8 * 1024), login: { maxFailures: 5, lockoutMs: 60_000, accountMaxFailures: 20, accountMaxDelayMs: 300_000 }, secrets: parseKeyRing(TEST_SECRETS_KEY, 'test') });

describe.each(engines)('technicians: check and write in one transaction, on %s', (engineName) => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness(engineName as Engine);
  }, 60_000);
  afterAll(() => h?.close());

  const service = () => technicianService(h);
  const activeAdmins = async () => (await h.server.db('technicians').where({ role: 'admin', active: true }).select('id')).length;

  it('two administrators demoting each other at once leave one administrator, and the other is told LAST_ADMIN', async () => {
    const technicians = service();
    const first = (await technicians.list()).find((t) => t.role === 'admin')!;
    const second = await technicians.create({ username: 'second-admin', displayName: 'Second', email: '', role: 'admin', password: 'second-admin-pw-1' }, ctx);
    expect(await activeAdmins()).toBe(2);
    const outcomes = await Promise.allSettled([technicians.update(first.id, { role: 'technician' }, ctx), technicians.update(second.id, { role: 'technician' }, ctx)]);
    expect(outcomes.map((o) => o.status).sort()).toEqual(['fulfilled', 'rejected']);
    const refused = outcomes.find((o) => o.status === 'rejected');
    expect((refused as PromiseRejectedResult).reason).toMatchObject({ code: 'LAST_ADMIN' });
    expect(await activeAdmins()).toBe(1);
  });

  it('two creations of one username at once: one account, and the other is told USERNAME_TAKEN (not a server error)', async () => {
    const technicians = service();
    const make = () => technicians.create({ username: 'same-name', displayName: 'Same', email: '', role: 'technician', password: 'same-name-pw-12' }, ctx);
    const outcomes = await Promise.allSettled([make(), make()]);
    expect(outcomes.map((o) => o.status).sort()).toEqual(['fulfilled', 'rejected']);
    expect((outcomes.find((o) => o.status === 'rejected') as PromiseRejectedResult).reason).toMatchObject({ code: 'USERNAME_TAKEN', status: 409 });
    expect(await h.server.db('technicians').where({ username: 'same-name' }).count({ n: '*' })).toEqual([{ n: 1 }]);
  });
});

describe.each(engines)('one winner among concurrent answers, on %s', (engineName) => {
  let h: Harness;
  let admin: Tech;
  const filesDir = mkdtempSync(join(tmpdir(), 'hd-race-files-'));
  const service = () => technicianService(h);
  beforeAll(async () => {
    h = await startHarness(engineName, { MAX_ACTIVE_TICKETS_PER_TECH: '10', FILES_DIR: filesDir });
    admin = await h.login('admin', ADMIN_PASSWORD);
  }, 60_000);
  afterAll(() => h?.close());

  // The services over the harness's database and files, called at once the way two requests on two servers can.
  it('two logins with one TOTP code at once: exactly one gets in (the time step is taken by one conditional update)', async () => {
    const zoe = await h.freshTechnician(admin, 'zoe');
    const { secret } = (await zoe.post('/api/v1/me/2fa/setup').expect(200)).body as { secret: string };
    const epoch = Math.floor(Date.now() / 1000);
    await zoe.post('/api/v1/me/2fa/enable', { code: await generate({ secret, epoch }) }).expect(200);
    const code = await generate({ secret, epoch: epoch + 30 });
    const outcomes = await Promise.allSettled([service().verifySecondFactor(zoe.id, code, { address: '192.0.2.1', device: null }), service().verifySecondFactor(zoe.id, code, { address: '192.0.2.2', device: null })]);
    expect(outcomes.map((o) => o.status).sort()).toEqual(['fulfilled', 'rejected']);
    // The loser is told the code was just used (wait for the next one), not that it is wrong.
    expect((outcomes.find((o) => o.status === 'rejected') as PromiseRejectedResult).reason).toMatchObject({ code: 'TOTP_CODE_USED' });
  });

  it('accepting and refusing one file at once: exactly one wins, and an accepted file stays downloadable', async () => {
    const ana = await h.freshTechnician(admin, 'ana');
    const bytes = Buffer.from('the installer, byte for byte');
    const files = () => createFileService({ db: h.server.db, clock: systemClock, bus: new EventBus(), dir: filesDir, maxBytes: 1024 * 1024, retentionDays: 30 });
    const requester = { actor: { type: 'requester' as const, name: 'Bob User' }, remoteAddress: '192.0.2.9' };
    const winners: string[] = [];
    for (let round = 0; round < 4; round++) {
      const t = await h.helpRequest();
      await ana.post(`/api/v1/tickets/${t.id}/accept`).expect(200);
      const offered = await fetch(`${h.server.url}/api/v1/tickets/${t.id}/files?name=setup.sh`, {
        method: 'POST',
        headers: { cookie: await cookieOf(ana), 'x-csrf-token': ana.csrf, 'content-type': 'application/octet-stream' },
        body: new Uint8Array(bytes),
      });
      const { file } = (await offered.json()) as { file: { id: string } };
      const ticket = await h.server.tickets.get(t.id);
      // Accept first in even rounds, refuse first in odd ones.
      const answers = round % 2 === 0 ? [true, false] : [false, true];
      const outcomes = await Promise.allSettled(answers.map((accept) => files().decide(ticket, file.id, accept, requester)));
      expect(outcomes.map((o) => o.status).sort()).toEqual(['fulfilled', 'rejected']);
      expect((outcomes.find((o) => o.status === 'rejected') as PromiseRejectedResult).reason).toMatchObject({ code: 'FILE_NOT_OFFERED' });
      const won = (outcomes.find((o) => o.status === 'fulfilled') as PromiseFulfilledResult<{ state: string }>).value.state;
      winners.push(won);
      const download = await h.api.get(`/api/v1/help-requests/${t.id}/files/${file.id}`).set({ Authorization: `Bearer ${t.secret}` }).buffer(true).parse((res, done) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => done(null, Buffer.concat(chunks)));
      });
      if (won === 'accepted') {
        expect(download.status).toBe(200);
        expect(Buffer.compare(download.body as Buffer, bytes)).toBe(0);
      } else {
        expect(download.status).toBe(409);
      }
      const actions = (await ana.get(`/api/v1/tickets/${t.id}`).expect(200)).body.timeline.map((e: { action: string }) => e.action);
      expect(actions.filter((a: string) => a === 'file.accepted' || a === 'file.refused')).toEqual([won === 'accepted' ? 'file.accepted' : 'file.refused']);
      await ana.post(`/api/v1/tickets/${t.id}/release`).expect(200);
    }
    expect(winners).toContain('accepted');
  });
});

describe('the technicians\' live stream', () => {
  const ticket = (id: number): TicketView => ({
    id, status: 'requested', requesterName: 'Eva', username: 'eva', hostname: 'eva-pc', os: 'Debian', description: 'x', technician: null, viewOnly: false,
    sharedScreen: null, recorded: false, endReason: null, resolution: null, createdAt: 1, updatedAt: 1, acceptedAt: null, approvedAt: null, startedAt: null, endedAt: null, resolvedAt: null,
  });
  const admin = { id: 1, role: 'admin', twoFactor: { enabled: false, required: false } } as unknown as Technician;

  /** The stream's route on its own, over a ticket service whose snapshot read waits for `gate`. */
  async function streamApp(snapshotRead: () => Promise<TicketView[]>) {
    const bus = new EventBus();
    // An administrator's stream: every team's queue (issue 29), no other team's requests to leave out.
    const tickets = { queue: snapshotRead, activeFor: () => Promise.resolve([]), streamTeams: () => Promise.resolve(null) } as unknown as TicketService;
    const app = express();
    installSse(app, { perAddress: 10, perKey: 10 });
    app.use((req, _res, next) => {
      req.user = admin;
      next();
    });
    app.use('/events', eventRoutes({ bus, tickets, stillAllowed: () => Promise.resolve(true) }));
    const server = app.listen(0, '127.0.0.1');
    await new Promise((r) => server.once('listening', r));
    return {
      bus,
      url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/events`,
      close: () => {
        server.closeAllConnections();
        return new Promise((r) => server.close(r));
      },
    };
  }

  it('a change made while the snapshot is read reaches the stream after the snapshot', async () => {
    let publish: () => void = () => undefined;
    const app = await streamApp(async () => {
      publish(); // someone accepts a ticket while the queue is being read
      await new Promise((r) => setTimeout(r, 20));
      return [ticket(1)];
    });
    publish = () => app.bus.publish('ticket.changed', { ticket: { ...ticket(2), status: 'accepted' }, action: 'accept', previousStatus: 'requested', previousTechnicianId: null });
    const stream = await openSse(app.url, {});
    try {
      const snapshot = await stream.next((e) => e === 'snapshot');
      expect(snapshot.data.queue.map((t: TicketView) => t.id)).toEqual([1]);
      const change = await stream.next((e) => e === 'ticket', 2_000);
      expect(change.data).toMatchObject({ action: 'accept', ticket: { id: 2 } });
    } finally {
      stream.close();
      await app.close();
    }
  });

  it('a client that leaves while the snapshot is read leaves no subscription behind', async () => {
    let release: () => void = () => undefined;
    let reading: () => void = () => undefined;
    const started = new Promise<void>((r) => (reading = r));
    const app = await streamApp(async () => {
      reading();
      await new Promise<void>((r) => (release = r));
      return [];
    });
    const controller = new AbortController();
    const res = fetch(app.url, { signal: controller.signal }).catch((_aborted: unknown) => null);
    await started;
    controller.abort();
    await res;
    await new Promise((r) => setTimeout(r, 50));
    release();
    await new Promise((r) => setTimeout(r, 50));
    for (const name of ['ticket.changed', 'ticket.desktop', 'session.ended', 'ticket.message', 'ticket.file', 'technician.revoked'] as const) {
      expect(app.bus.subscriberCount(name), name).toBe(0);
    }
    await app.close();
  });
});
