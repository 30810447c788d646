// Live events: what the bus carries between servers, and the technicians'
// stream (GET /api/v1/events) built from it: event names and payloads.
import type { TicketAction, TicketStatus } from './tickets.ts';
import type { CloseCodeId } from './close-codes.ts';
import type { DesktopParticipantView, ParticipantEvent } from './participants.ts';
import type { TicketRouting } from './teams.ts';

export interface TicketView {
  id: number;
  status: TicketStatus;
  requesterName: string;
  username: string;
  hostname: string;
  os: string;
  description: string;
  technician: { id: number; displayName: string } | null;
  viewOnly: boolean;
  /** What the user shares: null for all screens, else one monitor in words ("RIGHT 640×480"). */
  sharedScreen: string | null;
  /** Its sessions are recorded (the policy when the request was made; the user is told before allowing). */
  recorded: boolean;
  endReason: string | null;
  resolution: string | null;
  createdAt: number;
  updatedAt: number;
  acceptedAt: number | null;
  approvedAt: number | null;
  startedAt: number | null;
  endedAt: number | null;
  resolvedAt: number | null;
  /** Its topic, team and wait target (issue 29); every view the server makes carries it. */
  routing?: TicketRouting;
}

/** One chat message on a ticket, as both sides see it (text is plain text: render it as text). */
export interface ChatMessage {
  id: number;
  from: 'user' | 'technician';
  authorName: string;
  text: string;
  at: number;
}

/** A file exchanged on a ticket, as both sides see it (its name is text: show it as text). */
export interface TicketFile {
  id: string;
  direction: 'to_user' | 'to_technician';
  senderName: string;
  name: string;
  size: number;
  sha256: string;
  /** offered → accepted | refused (to the user); available (to the technicians); purged after the retention period. */
  state: 'offered' | 'accepted' | 'refused' | 'available' | 'purged';
  at: number;
}

export type DesktopLegState = 'waiting' | 'paired' | 'gone';

export interface BusEvents {
  /** `previousTechnicianId`: who held the ticket before the move (a declined or released technician learns it was theirs). `handed_over`: the holder changed, the status did not (a hand-over the user allowed, a promotion when the holder dropped). */
  /** `moved`: a technician sent the request to another team's queue (`previousTeamId`: the team before); `waiting_too_long`: it passed its topic's target wait (once; issue 29). */
  'ticket.changed': { ticket: TicketView; action: TicketAction | 'created' | 'handed_over' | TicketRoutingAction; previousStatus: TicketStatus | null; previousTechnicianId: number | null; /** `moved`: the team whose queue held it before (issue 29). */ previousTeamId?: number | null };
  'ticket.desktop': { ticketId: number; technicianId: number | null; state: DesktopLegState; reason: string | null };
  /** A chat message on a ticket; `technicianId` is the ticket's holder then (null while queued). */
  'ticket.message': { ticketId: number; technicianId: number | null; queued: boolean; message: ChatMessage; /** A queued request's team (issue 29; null: everyone's queue, absent: written before teams). */ teamId?: number | null };
  /** A file was sent, accepted, refused or purged on a ticket. */
  'ticket.file': { ticketId: number; technicianId: number | null; file: TicketFile };
  'session.ended': { ticketId: number; technicianId: number | null; reason: string; endedBy: 'desktop' | 'viewer' | null };
  /**
   * A ticket's participants changed (issue 26): for the staff stream (`participant`,
   * to `technicianIds` and administrators), and, with `desktop`, the user's list now
   * (the desktop stream sends its `ticket` again).
   */
  'ticket.participant': ParticipantEvent & { desktop: { participants: DesktopParticipantView[]; mainChannel: boolean } };
  /** One channel of a ticket ("42" or "42.p7") must close its legs with `reason` (the user stopped someone, a hand-over): every repeater. */
  'session.channel_end': { ticketId: number; channel: string; reason: CloseCodeId };
  /** An account lost its sessions: every live stream of it closes (but the web session `exceptSessionId`). */
  'technician.revoked': { technicianId: number; reason: RevocationReason; exceptSessionId: string | null };
  /** An API token was revoked (issue 27): the live streams opened with it close, on every server. */
  'api-token.revoked': { technicianId: number; tokenId: number };
}

/** Moves of a queued request that are not status changes (issue 29). */
export type TicketRoutingAction = 'moved' | 'waiting_too_long';

export type RevocationReason = 'disabled' | 'role_changed' | 'password_reset' | 'password_changed' | 'two_factor_reset';

export type BusEventName = keyof BusEvents;

/** The technicians' stream (GET /api/v1/events): each SSE event name and its data. */
export interface StaffStreamEvents {
  /** First, once: the queue and the tickets the technician holds. */
  snapshot: { queue: TicketView[]; mine: TicketView[] };
  ticket: BusEvents['ticket.changed'];
  desktop: BusEvents['ticket.desktop'];
  session: BusEvents['session.ended'];
  message: BusEvents['ticket.message'];
  file: BusEvents['ticket.file'];
  /** Someone was invited, joined, left, was stopped, took over… on a ticket that concerns this technician (administrators: every ticket). */
  participant: ParticipantEvent;
  /**
   * Sent instead of a replay when a stream reconnects with a Last-Event-ID it
   * cannot resume from (too old, too far behind, unknown); the snapshot follows:
   * whatever the page shows from before must be reloaded.
   */
  reset: { reason: StreamResetReason };
}

export type StreamResetReason = 'EVENTS_TRIMMED' | 'TOO_FAR_BEHIND' | 'UNKNOWN_EVENT_ID';

export type StaffStreamEvent = keyof StaffStreamEvents;
