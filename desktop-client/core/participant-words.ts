// The words for the other people in a session (issue 26), from the user's
// catalogue: the question each one asks the user, the line each connected
// person has in the list, and what the window names without asking (a
// supervisor who watches with SUPERVISOR_WATCH=notify).
import type { DesktopParticipantView } from '../../protocol/participants.ts';
import type { FlowSnapshot } from './flow.ts';
import { format } from './messages.ts';
import { asking } from './participant-consent.ts';

/** One person as the window and the terminal show them. */
export interface PersonItem {
  technicianId: number;
  name: string;
  /** What the user is asked about this person, or null. */
  question: string | null;
  /** Their line in the list of those connected ("Luis: watching"), or null when not connected. */
  line: string | null;
  /** Said without asking (a supervisor watching): "Luis is watching.", or null. */
  notice: string | null;
}

export function modeText(mode: DesktopParticipantView['mode']): string {
  return format(mode === 'view' ? 'participants.mode.view' : 'participants.mode.control');
}

/** The question a participant asks the user, by name and mode; null when they ask nothing. */
export function participantQuestion(p: DesktopParticipantView): string | null {
  if (!asking(p)) return null;
  const params = { name: p.displayName, inviter: p.invitedBy ?? '' };
  if (p.state === 'connected') return format('participants.ask.controlRequested', params);
  if (p.kind === 'transfer') return format('participants.ask.transfer', params);
  if (p.kind === 'supervise') return format('participants.ask.supervise', params);
  return format(p.mode === 'view' ? 'participants.ask.invite.view' : 'participants.ask.invite.control', params);
}

export function personItem(p: DesktopParticipantView): PersonItem {
  const connected = p.state === 'connected';
  return {
    technicianId: p.technicianId,
    name: p.displayName,
    question: participantQuestion(p),
    line: connected ? format('participants.line', { name: p.displayName, mode: modeText(p.mode) }) : null,
    notice: connected && p.kind === 'supervise' ? format('participants.watching', { name: p.displayName }) : null,
  };
}

/** Everyone the user may be asked about or may stop, in the order they came. */
export function peopleOf(s: FlowSnapshot): PersonItem[] {
  return s.participants.filter((p) => p.state === 'connected' || asking(p)).map(personItem);
}

/** The holder's own line while their main channel carries the session ("Ana: in control"), else null. */
export function holderLine(s: FlowSnapshot): string | null {
  if (!s.mainChannel || s.technicianName === null || (s.state !== 'in_session' && s.state !== 'waiting_for_viewer' && s.state !== 'connecting')) return null;
  return format('participants.line', { name: s.technicianName, mode: modeText(s.viewOnly ? 'view' : 'control') });
}

/** What changed for one person between two lists, in words for the terminal ("Luis joined (watching)."), or null. */
export function participantNews(before: DesktopParticipantView | undefined, now: DesktopParticipantView): string | null {
  if (before?.state === now.state && before.mode === now.mode) return null;
  const name = now.displayName;
  if (now.state === 'connected') {
    if (now.kind === 'supervise') return format('participants.watching', { name });
    return format(before?.state === 'connected' ? 'participants.modeChanged' : 'participants.joined', { name, mode: modeText(now.mode) });
  }
  if (before?.state !== 'connected' && before?.state !== 'waiting_user') return null;
  if (now.state === 'left' || now.state === 'stopped' || now.state === 'refused') return format(`participants.gone.${now.state}`, { name });
  if (now.state === 'cancelled' || now.state === 'declined') return format('participants.gone.cancelled', { name });
  return null;
}
