// The user's consent for each participant (issue 26), on the desktop API:
// mounted by server/tickets/desktop-routes.ts under /:id/participants once the
// request's client secret is checked (req.helpRequest).
import { Router, type Request } from 'express';
import type { ActorContext } from '../audit/actor.ts';
import { AppError } from '../errors.ts';
import { legUrl, type LegUrlPolicy } from '../http/base-url.ts';
import { neverCached } from '../http/never-cached.ts';
import { validate } from '../http/validate.ts';
import type { TicketView } from '../../protocol/events.ts';
import type { ParticipantConsent } from './consent.ts';
import { consentParams } from './schema.ts';

const byTechnician = validate({ params: consentParams });

export function participantDesktopRoutes({ consent, legUrls }: { consent: ParticipantConsent; legUrls: LegUrlPolicy }): Router {
  const router = Router({ mergeParams: true });
  const ticketOf = (req: Request): TicketView => {
    if (!req.helpRequest) throw new AppError('CLIENT_SECRET_INVALID', 'No help request authenticated');
    return req.helpRequest;
  };
  const requesterOf = (req: Request): ActorContext => ({ actor: { type: 'requester', name: ticketOf(req).requesterName }, remoteAddress: req.ip ?? '' });
  const technicianIdOf = (req: Request) => byTechnician.input(req).params.technicianId;

  router.post('/stop-all', async (req, res) => {
    res.json({ participants: await consent.stopAll(ticketOf(req).id, requesterOf(req)) });
  });

  router.post('/:technicianId/approve', byTechnician, async (req, res) => {
    res.json({ participant: await consent.approve(ticketOf(req).id, technicianIdOf(req), requesterOf(req)) });
  });

  router.post('/:technicianId/decline', byTechnician, async (req, res) => {
    res.json({ participant: await consent.decline(ticketOf(req).id, technicianIdOf(req), requesterOf(req)) });
  });

  router.post('/:technicianId/stop', byTechnician, async (req, res) => {
    res.json({ participant: await consent.stop(ticketOf(req).id, technicianIdOf(req), requesterOf(req)) });
  });

  router.post('/:technicianId/desktop-token', byTechnician, neverCached, async (req, res) => {
    const ticket = ticketOf(req);
    const { minted, channel } = await consent.desktopToken(ticket, technicianIdOf(req));
    res.status(201).json({ url: await legUrl(req, legUrls, ticket.id, 'desktop', minted.token), expiresAt: minted.expiresAt, channel });
  });

  return router;
}
