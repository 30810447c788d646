// The desktop API (/api/v1/help-requests) as its clients see it: the view of
// one's own ticket, and the ticket's live stream (GET …/:id/events).
import type { TicketStatus } from './tickets.ts';
import type { ChatMessage, DesktopLegState, TicketFile } from './events.ts';

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
}

/** The desktop stream: each SSE event name and its data. */
export interface DesktopStreamEvents {
  /** The ticket now (first, then at each change). */
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
