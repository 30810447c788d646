// The technicians' participants API (issue 26; session-authenticated,
// CSRF-protected like the rest of /api/v1): invitations and their answers,
// the list, the hand-over, leaving, asking for control, and the
// administrators' supervision. Routes validate and call the service.
import { Router } from 'express';
import { requireTechnician, technicianContext, technicianOf } from '../auth/guards.ts';
import { validate } from '../http/validate.ts';
import type { ParticipantService } from './service.ts';
import { invitationParams, inviteSchema, ticketParams, transferSchema } from './schema.ts';

const byTicket = validate({ params: ticketParams });
const byInvitation = validate({ params: invitationParams });
const invite = validate({ params: ticketParams, body: inviteSchema });
const transfer = validate({ params: ticketParams, body: transferSchema });

/** Mounted at /api/v1. */
export function participantRoutes({ participants }: { participants: ParticipantService }): Router {
  const router = Router();
  const me = (req: import('express').Request) => technicianOf(req);

  router.post('/tickets/:id/invitations', requireTechnician, invite, async (req, res) => {
    const { params, body } = invite.input(req);
    const participant = await participants.invite(params.id, me(req), body, technicianContext(req));
    res.status(201).json({ ...participant, participant });
  });

  router.get('/tickets/:id/participants', requireTechnician, byTicket, async (req, res) => {
    res.json(await participants.list(byTicket.input(req).params.id, me(req)));
  });

  router.post('/tickets/:id/transfer', requireTechnician, transfer, async (req, res) => {
    const { params, body } = transfer.input(req);
    res.json(await participants.transfer(params.id, me(req), body, technicianContext(req)));
  });

  router.post('/tickets/:id/leave', requireTechnician, byTicket, async (req, res) => {
    res.json({ participant: await participants.leave(byTicket.input(req).params.id, me(req), technicianContext(req)) });
  });

  router.post('/tickets/:id/participants/me/request-control', requireTechnician, byTicket, async (req, res) => {
    res.json({ participant: await participants.requestControl(byTicket.input(req).params.id, me(req), technicianContext(req)) });
  });

  router.post('/tickets/:id/watch', requireTechnician, byTicket, async (req, res) => {
    res.status(201).json({ participant: await participants.watch(byTicket.input(req).params.id, me(req), technicianContext(req)) });
  });

  router.get('/sessions/live', requireTechnician, async (req, res) => {
    res.json(await participants.live(me(req)));
  });

  router.post('/invitations/:id/accept', requireTechnician, byInvitation, async (req, res) => {
    res.json({ participant: await participants.accept(byInvitation.input(req).params.id, me(req), technicianContext(req)) });
  });

  router.post('/invitations/:id/decline', requireTechnician, byInvitation, async (req, res) => {
    res.json({ participant: await participants.decline(byInvitation.input(req).params.id, me(req), technicianContext(req)) });
  });

  const cancel = async (req: import('express').Request, res: import('express').Response) => {
    res.json({ participant: await participants.cancel(byInvitation.input(req).params.id, me(req), technicianContext(req)) });
  };
  router.post('/invitations/:id/cancel', requireTechnician, byInvitation, cancel);
  router.delete('/invitations/:id', requireTechnician, byInvitation, cancel);

  return router;
}
