// The terminal's question after a session (issue 29): how did it go, 1 to 5,
// then an optional comment; Enter (or the end of the input) skips. Asked in
// the user's language; the server's refusal, if any, is printed in words.
import { DesktopError } from './core/errors.ts';
import type { HelpSession } from './core/help-session.ts';
import { format } from './core/messages.ts';

export async function askSurvey(session: HelpSession, ask: (question: string) => Promise<string>, say: (line: string) => void): Promise<void> {
  let rating = 0;
  while (rating === 0) {
    const answer = (await ask(format('cli.prompt.rating'))).trim();
    if (answer === '') return session.survey.skip();
    const n = Number(answer);
    if (Number.isInteger(n) && n >= 1 && n <= 5) rating = n;
    else say(format('survey.choose'));
  }
  const comment = (await ask(format('cli.prompt.comment'))).trim();
  try {
    await session.survey.answer(rating, comment || null);
    say(format('survey.thanks'));
  } catch (err) {
    if (!(err instanceof DesktopError)) throw err;
    say(format('error.prefix', { message: err.message }));
  }
}
