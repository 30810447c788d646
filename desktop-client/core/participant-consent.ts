// The user's word on the other people in their session (issue 26): allow or
// refuse someone who waits for them (an invite, a hand-over, a supervisor, a
// watcher asking for control), stop one person, or stop everyone besides the
// holder. The server answers each with the ticket's new list on the stream,
// which opens or closes that person's desktop leg (participant-legs.ts).
import type { DesktopParticipantView } from '../../protocol/participants.ts';
import type { DesktopApi } from './api-client.ts';
import { DesktopError } from './errors.ts';

/** Who asks the user something now: waiting for consent, or a watcher asking for control. */
export function asking(p: DesktopParticipantView): boolean {
  return p.state === 'waiting_user' || (p.state === 'connected' && p.controlRequested);
}

export class ParticipantConsent {
  private readonly api: DesktopApi;
  private readonly list: () => readonly DesktopParticipantView[];

  constructor(api: DesktopApi, list: () => readonly DesktopParticipantView[]) {
    this.api = api;
    this.list = list;
  }

  /** Allows a participant waiting for the user, or grants a watcher's request for control. */
  allow(technicianId: number): Promise<unknown> {
    return this.api.approveParticipant(technicianId);
  }

  /** Refuses: nothing else changes. */
  refuse(technicianId: number): Promise<unknown> {
    return this.api.declineParticipant(technicianId);
  }

  /** Stops one person: their leg closes, everyone else goes on. */
  stop(technicianId: number): Promise<unknown> {
    return this.api.stopParticipant(technicianId);
  }

  /** Stops every participant; the holder's session goes on (the session's stop() ends it all). */
  stopEveryone(): Promise<unknown> {
    return this.api.stopAllParticipants();
  }

  /**
   * The participant a user names ("allow Luis"): the whole display name, or
   * its first word, case-insensitive, among those `where` admits (the most
   * recent first). Refused in words when nobody or several match.
   */
  find(name: string, where: (p: DesktopParticipantView) => boolean): DesktopParticipantView {
    const wanted = name.trim().toLocaleLowerCase();
    const candidates = [...this.list()].reverse().filter(where);
    const whole = candidates.filter((p) => p.displayName.toLocaleLowerCase() === wanted);
    const byFirst = candidates.filter((p) => p.displayName.toLocaleLowerCase().split(/\s+/)[0] === wanted);
    const found = whole.length ? whole : byFirst;
    const people = new Set(found.map((p) => p.technicianId));
    if (people.size === 1) return found[0]!;
    throw new DesktopError('SERVER_REFUSED', people.size === 0 ? `nobody named ${name.trim()}` : `several people are named ${name.trim()}: use the whole name`, { code: people.size === 0 ? 'NO_SUCH_PARTICIPANT' : 'AMBIGUOUS_PARTICIPANT' });
  }
}
