// The technicians' live stream: queue and ticket changes, desktop readiness
// and session ends. A technician receives the queue and what concerns the
// tickets they hold; an administrator receives everything.
import { Router } from 'express';
import { requireTechnician, technicianOf } from '../auth/guards.ts';
import type { EventBus } from './event-bus.ts';
import { openSse } from './sse.ts';
import type { TicketService } from '../tickets/service.ts';

export function eventRoutes({ bus, tickets }: { bus: EventBus; tickets: TicketService }): Router {
  const router = Router();
  router.get('/', requireTechnician, async (req, res) => {
    const me = technicianOf(req);
    const channel = openSse(req, res);
    const concernsMe = (technicianId: number | null): boolean => me.role === 'admin' || technicianId === me.id;
    channel.send('snapshot', { queue: await tickets.queue(), mine: await tickets.activeFor(me.id) });
    channel.onClose(
      bus.subscribe('ticket.changed', (e) => {
        const wasOrIsQueued = e.ticket.status === 'requested' || e.previousStatus === 'requested' || e.previousStatus === null;
        if (wasOrIsQueued || concernsMe(e.ticket.technician?.id ?? null)) channel.send('ticket', e);
      }),
    );
    channel.onClose(bus.subscribe('ticket.desktop', (e) => concernsMe(e.technicianId) && channel.send('desktop', e)));
    channel.onClose(bus.subscribe('session.ended', (e) => concernsMe(e.technicianId) && channel.send('session', e)));
  });
  return router;
}
