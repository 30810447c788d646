// The technicians' live stream: queue and ticket changes, desktop readiness
// and session ends. A technician receives their teams' queues and everyone's
// (issue 29: another team's requests are not sent) and what concerns the
// tickets they hold; an administrator receives everything. A reconnecting
// client resumes after its Last-Event-ID (server/events/resume.ts).
import { Router } from 'express';
import { requireTechnician, technicianOf } from '../auth/guards.ts';
import type { EventBus } from './event-bus.ts';
import { openSse } from './sse.ts';
import { joinStream, lastEventIdOf } from './resume.ts';
import type { TicketService } from '../tickets/service.ts';
import type { StaffStreamEvents } from '../../protocol/events.ts';

export interface EventRoutesDeps {
  bus: EventBus;
  tickets: TicketService;
  /** Whether the account is still active and the web session still exists, or the API token still holds tickets:read (checked every recheckMs). */
  stillAllowed: (technicianId: number, credential: { sessionId: string } | { apiTokenId: number }) => Promise<boolean>;
  recheckMs?: number;
  /** The tickets a technician takes part in (an open participant row, issue 26): their chat, files and sessions come to the stream too. */
  participatingIn?: (technicianId: number) => Promise<number[]>;
}

export function eventRoutes({ bus, tickets, stillAllowed, recheckMs = 30_000, participatingIn }: EventRoutesDeps): Router {
  const router = Router();
  router.get('/', requireTechnician, async (req, res) => {
    const me = technicianOf(req);
    const sessionId = req.sessionID;
    // A stream opened with an API token lives while the token does (server/api-tokens/).
    const credential = req.apiToken ? { apiTokenId: req.apiToken.id } : { sessionId };
    const channel = openSse<StaffStreamEvents>(req, res);
    // An account that is disabled, demoted or reset loses its streams at once
    // (this server), or at the next check (a change made elsewhere: the CLI, another server).
    channel.onClose(
      bus.subscribe('technician.revoked', (e) => {
        if (e.technicianId === me.id && e.exceptSessionId !== sessionId) channel.end();
      }),
    );
    // A stream opened with an API token closes as soon as the token is revoked, on any server.
    if ('apiTokenId' in credential) channel.onClose(bus.subscribe('api-token.revoked', (e) => e.tokenId === credential.apiTokenId && channel.end()));
    // The teams whose queues this stream carries (issue 29; null: an administrator, every queue), read again at each check.
    let myTeams = await tickets.streamTeams(me);
    const recheck = setInterval(() => {
      stillAllowed(me.id, credential).then(
        (ok) => ok || channel.end(),
        () => undefined, // the database is away: keep the stream, check again next time
      );
      tickets.streamTeams(me).then(
        (teams) => (myTeams = teams),
        () => undefined, // the database is away: keep the teams read last
      );
    }, recheckMs);
    recheck.unref();
    channel.onClose(() => clearInterval(recheck));
    // Tickets this technician takes part in without holding them, kept in step by the participant events.
    const joined = new Set(await (participatingIn?.(me.id) ?? Promise.resolve([])));
    const concernsMe = (technicianId: number | null, ticketId?: number): boolean => me.role === 'admin' || technicianId === me.id || (ticketId !== undefined && joined.has(ticketId));
    // Another team's requests are not sent at all, nor their chat (issue 29): each event carries its request's
    // team (a ticket's view its routing, a message its teamId); a request with no team is everyone's.
    const inMyQueues = (teamId: number | null): boolean => myTeams === null || teamId === null || myTeams.has(teamId);
    // Subscribe first, then replay or read the snapshot: what happens meanwhile
    // follows it (a change may arrive twice after a snapshot, never not at all).
    // A client that leaves meanwhile takes its subscriptions with it.
    await joinStream({
      bus,
      log: bus.log,
      channel,
      lastEventId: lastEventIdOf(req),
      on: {
        'ticket.changed': (e, id) => {
          const wasOrIsQueued = e.ticket.status === 'requested' || e.previousStatus === 'requested' || e.previousStatus === null;
          // A request moved between teams leaves the old team's queue and enters the new one's: both hear of it.
          const team = e.ticket.routing?.team?.id ?? null;
          const mine = inMyQueues(team) || (e.previousTeamId !== undefined && inMyQueues(e.previousTeamId));
          // The technician who held it before hears of it too (a hand-over, a promotion).
          if ((wasOrIsQueued && mine) || concernsMe(e.ticket.technician?.id ?? null) || (e.previousTechnicianId !== null && e.previousTechnicianId === me.id)) channel.send('ticket', e, id);
        },
        // Participants (issue 26): to the technicians concerned — holder, participants, invitee — and administrators.
        'ticket.participant': ({ desktop: _user, ...e }, id) => {
          if (e.participant.technicianId === me.id) {
            if (['invited', 'waiting_user', 'connected'].includes(e.participant.state)) joined.add(e.ticketId);
            else joined.delete(e.ticketId);
          }
          if (me.role === 'admin' || e.technicianIds.includes(me.id)) channel.send('participant', e, id);
        },
        'ticket.desktop': (e, id) => concernsMe(e.technicianId, e.ticketId) && channel.send('desktop', e, id),
        'session.ended': (e, id) => concernsMe(e.technicianId, e.ticketId) && channel.send('session', e, id),
        // Decided by the message's own team (the teams read again at each check): a stream whose technician left the team
        // stops hearing its queue's chat. One logged before teams carries none: only to whom it concerns (fail closed).
        'ticket.message': (e, id) => ((e.queued && e.teamId !== undefined && inMyQueues(e.teamId)) || concernsMe(e.technicianId, e.ticketId)) && channel.send('message', e, id),
        'ticket.file': (e, id) => concernsMe(e.technicianId, e.ticketId) && channel.send('file', e, id),
      },
      reset: (reason) => channel.send('reset', { reason }, null),
      snapshot: async (id) => {
        const [queue, mine] = await Promise.all([tickets.queue(me, me.role === 'admin' ? 'all' : 'mine'), tickets.activeFor(me.id)]);
        channel.send('snapshot', { queue, mine }, id);
      },
    });
  });
  return router;
}
