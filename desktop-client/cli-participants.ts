// The terminal client's part of issue 26: it prints, in the user's language,
// who asks to join (by name and mode) and what changed for each person, and
// reads "allow NAME", "refuse NAME", "stop NAME", "stop all" and "who".
// ("stop" alone still ends the whole session; "refuse N" with a number is a file.)
import type { DesktopParticipantView } from '../protocol/participants.ts';
import { DesktopError } from './core/errors.ts';
import type { FlowSnapshot } from './core/flow.ts';
import type { HelpSession } from './core/help-session.ts';
import { format } from './core/messages.ts';
import { asking } from './core/participant-consent.ts';
import { holderLine, participantNews, participantQuestion, personItem } from './core/participant-words.ts';

export interface ParticipantCommands {
  /** Handles one typed line; false when it is not a participant command. */
  command(text: string): boolean;
  /** Prints what changed for each person since the last snapshot. */
  onState(s: FlowSnapshot): void;
}

export function participantCommands(session: HelpSession, print: (line: string) => void, problem: (err: unknown) => void): ParticipantCommands {
  let known = new Map<number, DesktopParticipantView>();
  /** Who is being asked now, and about what: a question is printed once, again only after it was answered. */
  const asked = new Map<number, string>();
  let hinted = false;

  const lookup = (name: string, where: (p: DesktopParticipantView) => boolean): DesktopParticipantView | null => {
    try {
      return session.consent.find(name, where);
    } catch (err) {
      if (!(err instanceof DesktopError)) throw err;
      print(format('error.prefix', { message: format('cli.participants.noSuch', { name: name.trim() }) }));
      return null;
    }
  };

  const who = (): void => {
    const s = session.snapshot;
    const lines = [holderLine(s), ...s.participants.map((p) => personItem(p).line)].filter((l): l is string => l !== null);
    print(lines.length ? lines.join('\n') : format('participants.none'));
  };

  return {
    command(text) {
      if (/^who$/i.test(text)) {
        who();
        return true;
      }
      if (/^stop\s+all$/i.test(text)) {
        session.consent.stopEveryone().then(() => print(format('cli.participants.stoppedAll')), problem);
        return true;
      }
      const decided = /^(allow|refuse|stop)\s+(.+)$/i.exec(text);
      if (!decided) return false;
      const verb = decided[1]!.toLowerCase();
      const p = lookup(decided[2]!, verb === 'stop' ? (q) => q.state === 'connected' : asking);
      if (!p) return true;
      const call = verb === 'allow' ? session.consent.allow(p.technicianId) : verb === 'refuse' ? session.consent.refuse(p.technicianId) : session.consent.stop(p.technicianId);
      call.catch(problem);
      return true;
    },

    onState(s) {
      const now = new Map(s.participants.map((p) => [p.technicianId, p]));
      for (const p of s.participants) {
        const news = participantNews(known.get(p.technicianId), p);
        if (news) print(news);
        const question = participantQuestion(p);
        const key = `${p.technicianId}:${p.state}:${p.mode}:${p.controlRequested}`;
        if (!question) asked.delete(p.technicianId);
        else if (asked.get(p.technicianId) !== key) {
          asked.set(p.technicianId, key);
          print(question);
          print(format('cli.participants.prompt', { first: p.displayName.split(/\s+/)[0] ?? p.displayName }));
        }
      }
      if (!hinted && s.participants.length > 0) {
        hinted = true;
        print(format('cli.participants.hint'));
      }
      known = now;
    },
  };
}
