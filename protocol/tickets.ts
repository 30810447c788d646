// A ticket's statuses and the actions that move it: the words of every wire
// contract that carries a ticket (the technicians' API and stream, the desktop
// API). Which moves are legal is the server's (server/tickets/state-machine.ts).

export const ticketStatuses = ['requested', 'accepted', 'approved', 'in_session', 'ended', 'resolved', 'cancelled', 'expired'] as const;
export type TicketStatus = (typeof ticketStatuses)[number];

export const ticketActions = ['accept', 'release', 'decline', 'requeue', 'approve', 'start_session', 'end', 'resolve', 'cancel', 'expire'] as const;
export type TicketAction = (typeof ticketActions)[number];

/** Statuses in which the desktop and viewer may connect (and leg tokens be minted). */
export const connectableStatuses: readonly TicketStatus[] = ['approved', 'in_session'];
