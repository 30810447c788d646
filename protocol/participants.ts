// Several technicians on one session (issue 26): who takes part in a ticket's
// session besides its holder, how each got there, and how their own pair of
// legs at the repeater is named. Types and constants only.
//
// Channels. The repeater pairs legs by a string key the authorizer returns
// (`Authorization.ticketId`). A ticket's main channel keeps the key `"42"`:
// it belongs to the ticket's holder as long as the holder has no participant
// row. Every participant row has its own channel `"42.p7"` (ticket 42,
// participant 7): its own x11vnc (with -viewonly for a watcher) or its own
// connection to the local VNC server, its own viewer, its own recording. A
// participant promoted to holder (the holder dropped, or a hand-over) keeps
// its channel; the main channel is then closed and not re-armed.

export type ParticipantMode = 'control' | 'view';

/** How a participant came in: invited by the holder, handed the ticket (transfer), or an administrator watching (supervise). */
export type ParticipantKind = 'invite' | 'transfer' | 'supervise';

/**
 * invited → (the invited technician accepts) waiting_user → (the user allows) connected → left
 * invited → declined (the technician said no) · waiting_user → refused (the user said no)
 * connected → stopped (the user stopped this person) · any open state → cancelled (the inviter withdrew, the ticket closed)
 * A transfer and a supervise start at waiting_user (or connected for supervise with SUPERVISOR_WATCH=notify).
 */
export type ParticipantState = 'invited' | 'waiting_user' | 'connected' | 'left' | 'refused' | 'declined' | 'stopped' | 'cancelled';

export const participantStates: readonly ParticipantState[] = ['invited', 'waiting_user', 'connected', 'left', 'refused', 'declined', 'stopped', 'cancelled'];
/** States in which a participant counts against MAX_PARTICIPANTS and cannot be invited again. */
export const openParticipantStates: readonly ParticipantState[] = ['invited', 'waiting_user', 'connected'];

/** One participant as the staff API shows it (`GET /api/v1/tickets/:id/participants`). The holder is listed first, with `holder: true` and `id: null` unless it came in as a participant. */
export interface ParticipantView {
  /** The participant row (also the invitation's id); null for a holder who has none. */
  id: number | null;
  technicianId: number;
  displayName: string;
  mode: ParticipantMode;
  state: ParticipantState;
  kind: ParticipantKind | 'holder';
  holder: boolean;
  invitedBy: { id: number; displayName: string } | null;
  /** The hand-over's note (transfer), else null. */
  note: string | null;
  /** The user asked to hand control to this watcher (a watcher's request), waiting for the user. */
  controlRequested: boolean;
  createdAt: number;
  /** When the user allowed (or, for notify-watchers, when they joined); null before. */
  connectedAt: number | null;
  endedAt: number | null;
}

/** The same participant as the desktop client sees it (`HelpRequestView.participants`). */
export interface DesktopParticipantView {
  technicianId: number;
  displayName: string;
  mode: ParticipantMode;
  state: ParticipantState;
  kind: ParticipantKind;
  /** Who invited or handed over ("Ana invites Luis to watch your screen"); null for a supervisor. */
  invitedBy: string | null;
  /** The repeater key of this participant's channel ("42.p7"): the client opens one desktop leg per connected participant. */
  channel: string;
  /** The watcher asks the user for control. */
  controlRequested: boolean;
}

/** Splits a channel key: `"42"` → ticket 42, main channel; `"42.p7"` → participant 7. Null for anything else. */
export function parseChannel(key: string): { ticketId: number; participantId: number | null } | null {
  const m = /^([1-9][0-9]{0,15})(?:\.p([1-9][0-9]{0,15}))?$/.exec(key);
  if (!m) return null;
  return { ticketId: Number(m[1]), participantId: m[2] === undefined ? null : Number(m[2]) };
}

export function channelKey(ticketId: number, participantId: number | null): string {
  return participantId === null ? String(ticketId) : `${ticketId}.p${participantId}`;
}

/** Bus / stream event about a ticket's participants (staff stream `participant`, desktop stream `participants`). */
export interface ParticipantEvent {
  ticketId: number;
  /** What happened, for the words every side shows ("Luis joined", "the user stopped Luis"). */
  action: 'invited' | 'accepted' | 'declined' | 'allowed' | 'refused' | 'joined' | 'left' | 'stopped' | 'cancelled' | 'transferred' | 'promoted' | 'control_requested' | 'control_granted';
  participant: ParticipantView;
  /** Technicians who must hear of it: the holder, every participant, the invitee. */
  technicianIds: number[];
}
