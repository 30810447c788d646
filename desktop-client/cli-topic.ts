// What the request is about (issue 29), in the terminal: `--topic` names a
// topic by its number or its name (in any of the server's words for it, the
// user's language first), else the user is asked to pick one from a numbered
// list in their language (Enter: none). No topics on the server: nothing asked.
import type { TopicChoice } from '../protocol/teams.ts';
import { format } from './core/messages.ts';
import { DesktopApi } from './core/api-client.ts';
import { DesktopError } from './core/errors.ts';
import type { Transport } from './core/transport.ts';

/** The topic's id for `--topic`, or null when nothing matches (the caller says so). */
export function topicNamed(topics: readonly TopicChoice[], given: string): number | null {
  const wanted = given.trim().toLowerCase();
  if (/^\d+$/.test(wanted)) return topics.some((t) => t.id === Number(wanted)) ? Number(wanted) : null;
  return topics.find((t) => t.name.toLowerCase() === wanted)?.id ?? null;
}

const choicesOf = (topics: readonly TopicChoice[]) => topics.map((t, i) => `[${i + 1}] ${t.name}`).join(', ');

/** Asks until the answer is a number on the list or empty (none). */
export async function askTopic(topics: readonly TopicChoice[], ask: (question: string) => Promise<string>, inputEnded: () => boolean): Promise<number | null> {
  if (topics.length === 0) return null;
  for (;;) {
    const answer = (await ask(format('cli.prompt.topic', { choices: choicesOf(topics) }))).trim();
    if (answer === '' || inputEnded()) return null;
    const picked = topics[Number(answer) - 1];
    if (/^\d+$/.test(answer) && picked) return picked.id;
    const named = topicNamed(topics, answer);
    if (named !== null) return named;
  }
}

/** The words for an unknown `--topic`. */
export const noSuchTopic = (topics: readonly TopicChoice[], given: string): string => format('cli.noSuchTopic', { topic: given, choices: choicesOf(topics) });

/**
 * The topic of this request: `--topic` (undefined when it names none: the
 * caller says so and stops), none with --yes, else asked. A server that
 * cannot list its topics (an older one) gets a request without one.
 */
export async function chooseTopic(
  server: { transport: Transport; serverUrl: string; clientKey: string | null },
  options: { given: string | undefined; yes: boolean },
  ask: (question: string) => Promise<string>,
  inputEnded: () => boolean,
  say: (line: string) => void,
): Promise<number | null | undefined> {
  let topics: TopicChoice[] = [];
  try {
    topics = await new DesktopApi(server.transport, server.serverUrl, server.clientKey).topics();
  } catch (err) {
    if (!(err instanceof DesktopError)) throw err;
    if (options.given === undefined) return null;
  }
  if (options.given !== undefined) {
    const id = topicNamed(topics, options.given);
    if (id === null) say(noSuchTopic(topics, options.given));
    return id ?? undefined;
  }
  return options.yes ? null : askTopic(topics, ask, inputEnded);
}
