// The technicians' live stream: queue and ticket changes, desktop readiness
// and session ends. A technician receives the queue and what concerns the
// tickets they hold; an administrator receives everything.
import { Router } from 'express';
import { requireTechnician, technicianOf } from '../auth/guards.ts';
import type { EventBus } from './event-bus.ts';
import { openSse } from './sse.ts';
import type { TicketService } from '../tickets/service.ts';
import type { StaffStreamEvent, StaffStreamEvents } from '../../protocol/events.ts';

export interface EventRoutesDeps {
  bus: EventBus;
  tickets: TicketService;
  /** Whether the account is still active and the web session still exists (checked every recheckMs). */
  stillAllowed: (technicianId: number, sessionId: string) => Promise<boolean>;
  recheckMs?: number;
}

export function eventRoutes({ bus, tickets, stillAllowed, recheckMs = 30_000 }: EventRoutesDeps): Router {
  const router = Router();
  router.get('/', requireTechnician, async (req, res) => {
    const me = technicianOf(req);
    const sessionId = req.sessionID;
    const channel = openSse<StaffStreamEvents>(req, res);
    // An account that is disabled, demoted or reset loses its streams at once
    // (this server), or at the next check (a change made elsewhere: the CLI, another server).
    channel.onClose(
      bus.subscribe('technician.revoked', (e) => {
        if (e.technicianId === me.id && e.exceptSessionId !== sessionId) channel.end();
      }),
    );
    const recheck = setInterval(() => {
      stillAllowed(me.id, sessionId).then(
        (ok) => ok || channel.end(),
        () => undefined, // the database is away: keep the stream, check again next time
      );
    }, recheckMs);
    recheck.unref();
    channel.onClose(() => clearInterval(recheck));
    const concernsMe = (technicianId: number | null): boolean => me.role === 'admin' || technicianId === me.id;
    // Subscribe first, then read the snapshot: what happens during the read is
    // held and sent after it (a change may arrive twice, never not at all).
    // A client that leaves during the read takes its subscriptions with it.
    let held: (() => void)[] | null = [];
    const send = <K extends StaffStreamEvent>(event: K, data: StaffStreamEvents[K]): void => {
      if (held) held.push(() => channel.send(event, data));
      else channel.send(event, data);
    };
    channel.onClose(
      bus.subscribe('ticket.changed', (e) => {
        const wasOrIsQueued = e.ticket.status === 'requested' || e.previousStatus === 'requested' || e.previousStatus === null;
        if (wasOrIsQueued || concernsMe(e.ticket.technician?.id ?? null)) send('ticket', e);
      }),
    );
    channel.onClose(bus.subscribe('ticket.desktop', (e) => concernsMe(e.technicianId) && send('desktop', e)));
    channel.onClose(bus.subscribe('session.ended', (e) => concernsMe(e.technicianId) && send('session', e)));
    channel.onClose(bus.subscribe('ticket.message', (e) => (e.queued || concernsMe(e.technicianId)) && send('message', e)));
    channel.onClose(bus.subscribe('ticket.file', (e) => concernsMe(e.technicianId) && send('file', e)));
    const [queue, mine] = await Promise.all([tickets.queue(), tickets.activeFor(me.id)]);
    channel.send('snapshot', { queue, mine });
    const pending = held;
    held = null;
    for (const deliver of pending) deliver();
  });
  return router;
}
