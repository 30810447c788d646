// The technicians' live stream decides by the team each event carries
// (issue 29): a technician hears their teams' queued requests and everyone's,
// never another team's nor their chat, and stops hearing a team's once they
// leave it (the teams are read again at each check). No list of other teams'
// requests is read when the stream opens: the ticket service here has none.
// (Over the real server and both engines: server/teams/routing.test.ts.)
import express from 'express';
import type { AddressInfo } from 'node:net';
import { describe, expect, it } from 'vitest';
import { openSse, type SseStream } from '../../test/server-harness.ts';
import type { BusEvents, TicketView } from '../../protocol/events.ts';
import type { TicketService } from '../tickets/service.ts';
import type { Technician } from '../technicians/store.ts';
import { EventBus } from './event-bus.ts';
import { eventRoutes } from './routes.ts';
import { installSse } from './sse.ts';

const PRINTERS = 1;
const MAIL = 2;
const luis = { id: 5, role: 'technician', twoFactor: { enabled: false, required: false } } as unknown as Technician;

const request = (id: number, teamId: number | null): TicketView => ({
  id, status: 'requested', requesterName: 'Eva', username: 'eva', hostname: 'eva-pc', os: 'Debian', description: 'x', technician: null, viewOnly: false,
  sharedScreen: null, recorded: false, endReason: null, resolution: null, createdAt: 1, updatedAt: 1, acceptedAt: null, approvedAt: null, startedAt: null, endedAt: null, resolvedAt: null,
  routing: { topic: null, team: teamId === null ? null : { id: teamId, name: `team ${teamId}` }, waitTargetMs: null, waitDueAt: null, waitingTooLongAt: null },
});
const created = (ticket: TicketView): BusEvents['ticket.changed'] => ({ ticket, action: 'created', previousStatus: null, previousTechnicianId: null });
const said = (ticketId: number, teamId: number | null | undefined, text: string): BusEvents['ticket.message'] => ({
  ticketId, technicianId: null, queued: true, message: { id: ticketId * 100 + text.length, from: 'user', authorName: 'Eva', text, at: 1 }, ...(teamId === undefined ? {} : { teamId }),
});

/** Luis's stream over a ticket service that knows only his teams (changed by `teams.current`), rechecked every `recheckMs`. */
async function luisStream(teams: { current: Set<number> }, recheckMs: number) {
  const bus = new EventBus();
  const tickets = { queue: () => Promise.resolve([]), activeFor: () => Promise.resolve([]), streamTeams: () => Promise.resolve(new Set(teams.current)) } as unknown as TicketService;
  const app = express();
  installSse(app, { perAddress: 10, perKey: 10 });
  app.use((req, _res, next) => {
    req.user = luis;
    next();
  });
  app.use('/events', eventRoutes({ bus, tickets, stillAllowed: () => Promise.resolve(true), recheckMs }));
  const server = app.listen(0, '127.0.0.1');
  await new Promise((r) => server.once('listening', r));
  const stream = await openSse(`http://127.0.0.1:${(server.address() as AddressInfo).port}/events`, {});
  await stream.next((e) => e === 'snapshot');
  return {
    bus,
    stream,
    close: () => {
      stream.close();
      server.closeAllConnections();
      return new Promise((r) => server.close(r));
    },
  };
}

const text = (stream: SseStream, words: string) => stream.next((e, d: { message?: { text: string } }) => e === 'message' && d.message?.text === words, 2_000);
const anyMessage = (words: string[]) => (e: string, d: { message?: { text: string } }) => e === 'message' && words.includes(d.message?.text ?? '');

describe('the technicians\' live stream and teams', () => {
  it('carries a technician\'s teams\' requests and everyone\'s, never another team\'s nor their chat, and nothing of a team once they leave it', async () => {
    const teams = { current: new Set([MAIL]) };
    const { bus, stream, close } = await luisStream(teams, 50);
    try {
      bus.publish('ticket.changed', created(request(10, PRINTERS)));
      bus.publish('ticket.changed', created(request(11, MAIL)));
      bus.publish('ticket.changed', created(request(12, null)));
      bus.publish('ticket.message', said(10, PRINTERS, 'printer words'));
      // Written before teams existed (a replay of an old log row): no team to decide by, so only to whom it concerns.
      bus.publish('ticket.message', said(10, undefined, 'old words'));
      bus.publish('ticket.message', said(11, MAIL, 'mail words'));
      bus.publish('ticket.message', said(12, null, 'everyone words'));
      await text(stream, 'mail words');
      await text(stream, 'everyone words');
      expect((await stream.next((e) => e === 'ticket')).data.ticket.id).toBe(11);
      expect((await stream.next((e) => e === 'ticket')).data.ticket.id).toBe(12);
      await expect(stream.next((e) => e === 'ticket', 0)).rejects.toThrow(/no matching event/);
      await expect(stream.next(anyMessage(['printer words', 'old words']), 0)).rejects.toThrow(/no matching event/);

      // Luis leaves Mail: after the next check, Mail's chat is not his any more; everyone's still is.
      teams.current = new Set();
      await new Promise((r) => setTimeout(r, 200));
      bus.publish('ticket.message', said(11, MAIL, 'mail after leaving'));
      bus.publish('ticket.message', said(12, null, 'everyone after leaving'));
      await text(stream, 'everyone after leaving');
      await expect(stream.next(anyMessage(['mail after leaving']), 0)).rejects.toThrow(/no matching event/);
    } finally {
      await close();
    }
  });
});
