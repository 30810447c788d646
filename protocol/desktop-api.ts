// The desktop API (/api/v1/help-requests) as its clients see it: the view of
// one's own ticket, and the ticket's live stream (GET …/:id/events).
import type { TicketStatus } from './tickets.ts';
import type { ChatMessage, DesktopLegState, TicketFile } from './events.ts';
import type { DesktopParticipantView } from './participants.ts';

export const desktopApiPath = '/api/v1/help-requests';

/** The desktop client's view of its own ticket: no other requester data, no technician id. */
export interface HelpRequestView {
  id: number;
  status: TicketStatus;
  technician: { displayName: string } | null;
  viewOnly: boolean;
  /** Sessions are recorded: the client must say so before the user allows (and send recordingNoticeShown). */
  recorded: boolean;
  endReason: string | null;
  createdAt: number;
  updatedAt: number;
  /** Everyone besides the holder's main channel, in the order they came (issue 26): open ones (invited, waiting_user, connected) and the last state of the others. */
  participants: DesktopParticipantView[];
  /**
   * Whether the main channel (key `"<id>"`) is the holder's: false once the
   * holder is a participant with a channel of their own (promoted, handed
   * over) — the client then closes the main channel's leg and does not re-arm it.
   */
  mainChannel: boolean;
}

/** The desktop stream: each SSE event name and its data. */
export interface DesktopStreamEvents {
  /** The ticket now (first, then at each change, a participant's included). */
  ticket: HelpRequestView;
  /** Where this ticket's desktop leg is at the repeater (first, then at each change). */
  connection: { state: DesktopLegState; reason: string | null };
  /** A remote session ended: `reason` is a close code identifier. */
  session: { reason: string; endedBy: 'desktop' | 'viewer' | null };
  message: ChatMessage;
  file: TicketFile;
}

export type DesktopStreamEvent = keyof DesktopStreamEvents;
export const desktopStreamEvents: readonly DesktopStreamEvent[] = ['ticket', 'connection', 'session', 'message', 'file'];

export type { ChatMessage, TicketFile, DesktopLegState };
