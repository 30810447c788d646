// The ticket lifecycle. This table is the only place that says which moves are
// legal; TicketService.transition() is the only code that moves a ticket.
//
//   requested → accepted → approved → in_session → ended → resolved
//   cancelled: the user withdrew; expired: nobody accepted in time;
//   decline (the user refused that technician) and release (the technician
//   let go) send an accepted ticket back to requested; requeue sends a held
//   ticket back when its technician's account is disabled.

import type { TicketAction, TicketStatus } from '../../protocol/tickets.ts';

export { connectableStatuses, ticketActions, ticketStatuses, type TicketAction, type TicketStatus } from '../../protocol/tickets.ts';

export const ticketMoves: Readonly<Record<TicketAction, { from: readonly TicketStatus[]; to: TicketStatus }>> = {
  accept: { from: ['requested'], to: 'accepted' },
  release: { from: ['accepted', 'approved'], to: 'requested' },
  decline: { from: ['accepted'], to: 'requested' },
  // The holder lost access (account disabled): whatever stage, back to the queue.
  requeue: { from: ['accepted', 'approved', 'in_session'], to: 'requested' },
  approve: { from: ['accepted'], to: 'approved' },
  start_session: { from: ['approved'], to: 'in_session' },
  end: { from: ['approved', 'in_session'], to: 'ended' },
  resolve: { from: ['ended'], to: 'resolved' },
  cancel: { from: ['requested', 'accepted'], to: 'cancelled' },
  expire: { from: ['requested'], to: 'expired' },
};

/** Statuses in which a technician holds the ticket (they count against MAX_ACTIVE_TICKETS_PER_TECH). */
export const activeStatuses: readonly TicketStatus[] = ['accepted', 'approved', 'in_session'];

/** A technician has accepted and the ticket is not closed: the user may send files (none to a queued request, which anyone can make). */
export const userFileStatuses: readonly TicketStatus[] = ['accepted', 'approved', 'in_session', 'ended'];

/** Closed for good: the conversation and files are kept, nothing new is added. */
export const closedStatuses: readonly TicketStatus[] = ['resolved', 'cancelled', 'expired'];

export function nextStatus(from: TicketStatus, action: TicketAction): TicketStatus | null {
  const move = ticketMoves[action];
  return move.from.includes(from) ? move.to : null;
}
