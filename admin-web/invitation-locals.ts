// The invitations a technician has open when the queue or My tickets loads
// (issue 26): the page carries them as JSON (partials/invitations.ejs), and
// invitations.js draws them and keeps them live from the staff stream — so a
// reload loses no invitation, no hand-over waiting for the user, no Open viewer.
import type { RequestHandler } from 'express';
import type { ParticipantView } from '../protocol/participants.ts';
import { scriptJson } from './messages/index.ts';

type Staff = { id: number; role: 'admin' | 'technician' };

/** What the page needs of server/participants' service. */
export interface InvitationSource {
  /** The tickets the technician has an open participant row on (without it, the page brings none and the stream alone fills the list). */
  participatingIn?: (technicianId: number) => Promise<number[]>;
  list(ticketId: number, me: Staff): Promise<{ participants: ParticipantView[] }>;
}

const open = new Set(['invited', 'waiting_user', 'connected']);

export function invitationLocals(source: InvitationSource): RequestHandler {
  return async (req, res, next) => {
    const me = req.user;
    if (!me || req.method !== 'GET' || !source.participatingIn) return next();
    const ticketIds = await source.participatingIn(me.id);
    const rows = await Promise.all(
      ticketIds.map(async (ticketId) => {
        const { participants } = await source.list(ticketId, me);
        const mine = participants.find((p) => !p.holder && p.technicianId === me.id && open.has(p.state));
        // The same shape as a `participant` event, so the script treats both alike.
        return mine ? { ticketId, action: mine.state, participant: { ...mine, ticketId } } : null;
      }),
    );
    res.locals.invitations = scriptJson(rows.filter((r) => r !== null));
    next();
  };
}
