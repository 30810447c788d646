// Check-then-act and event ordering under concurrency (issue 15): each case
// interleaves two actions the way two requests can, and asserts the outcome a
// serial run would give.
import express from 'express';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { engines, type Engine } from '../test/databases.ts';
import { startHarness, openSse, type Harness } from '../test/server-harness.ts';
import { createTechnicianService } from './technicians/service.ts';
import { createPasswordHasher } from './technicians/password.ts';
import { systemClock } from './clock.ts';
import { EventBus } from './events/event-bus.ts';
import { eventRoutes } from './events/routes.ts';
import { installSse } from './events/sse.ts';
import type { TicketService } from './tickets/service.ts';
import type { TicketView } from '../protocol/events.ts';
import type { Technician } from './technicians/store.ts';
import type { AddressInfo } from 'node:net';

const ctx = { actor: { type: 'system' as const, name: 'race-test' }, remoteAddress: '127.0.0.1' };

describe.each(engines)('technicians: check and write in one transaction, on %s', (engineName) => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness(engineName as Engine);
  }, 60_000);
  afterAll(() => h?.close());

  const service = () => createTechnicianService({ db: h.server.db, clock: systemClock, hasher: createPasswordHasher(8 * 1024), login: { maxFailures: 5, lockoutMs: 60_000 } });
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

describe('the technicians\' live stream', () => {
  const ticket = (id: number): TicketView => ({
    id, status: 'requested', requesterName: 'Eva', username: 'eva', hostname: 'eva-pc', os: 'Debian', description: 'x', technician: null, viewOnly: false,
    sharedScreen: null, recorded: false, endReason: null, resolution: null, createdAt: 1, updatedAt: 1, acceptedAt: null, approvedAt: null, startedAt: null, endedAt: null, resolvedAt: null,
  });
  const admin = { id: 1, role: 'admin', twoFactor: { enabled: false, required: false } } as unknown as Technician;

  /** The stream's route on its own, over a ticket service whose snapshot read waits for `gate`. */
  async function streamApp(snapshotRead: () => Promise<TicketView[]>) {
    const bus = new EventBus();
    const tickets = { queue: snapshotRead, activeFor: () => Promise.resolve([]) } as unknown as TicketService;
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
