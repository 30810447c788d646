// Supervising (issue 26): the administrators' Live sessions page, /sessions —
// every session running now, its technician, user, computer, start and
// participants — and Watch (a form, so it works without JavaScript; live.js
// keeps the table current). Watching asks the user, or tells them, as
// SUPERVISOR_WATCH says; once allowed, the row offers this administrator's viewer.
import { Router } from 'express';
import { technicianContext } from '../server/auth/guards.ts';
import { validate } from '../server/http/validate.ts';
import { ticketParams } from '../server/tickets/schema.ts';
import type { ActorContext } from '../server/audit/actor.ts';
import type { TicketView } from '../protocol/events.ts';
import type { ParticipantView } from '../protocol/participants.ts';
import { formAction, requirePageAdmin } from './page-helpers.ts';

const byId = validate({ params: ticketParams });

type Staff = { id: number; role: 'admin' | 'technician' };
/** What the page needs of server/participants' service. */
export interface SessionPagesParticipants {
  live(me: Staff): Promise<{ sessions: { ticket: TicketView; participants: ParticipantView[] }[] }>;
  watch(ticketId: number, me: Staff, context: ActorContext): Promise<ParticipantView>;
}

export function sessionPages({ participants }: { participants: SessionPagesParticipants }): Router {
  const router = Router();
  router.use(['/sessions'], requirePageAdmin);

  router.get('/sessions', async (req, res) => {
    const { sessions } = await participants.live(req.user!);
    const me = req.user!.id;
    const rows = sessions.map(({ ticket, participants: people }) => {
      const mine = people.find((p) => !p.holder && p.technicianId === me && (p.state === 'invited' || p.state === 'waiting_user' || p.state === 'connected')) ?? null;
      const others = people.filter((p) => !p.holder && (p.state === 'invited' || p.state === 'waiting_user' || p.state === 'connected'));
      return { ticket, mine, others, holder: ticket.technician?.id === me };
    });
    res.render('sessions', { title: res.locals.t('sessions.title'), rows });
  });

  router.post('/tickets/:id/watch', requirePageAdmin, formAction(async (req, _res, t, { params }) => {
    await participants.watch(params.id, req.user!, technicianContext(req));
    return { redirect: '/sessions', ok: t('sessions.asked', { id: params.id }) };
  }, () => '/sessions', byId));

  return router;
}
