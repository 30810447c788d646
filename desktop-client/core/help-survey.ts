// How the session went (issue 29): once a session took place on this request
// and ended, the user is asked for 1–5 and an optional comment; they may
// skip. The answer goes to the server once (POST …/survey); the server refuses
// a second one and one before the session ended, in the user's language.
import type { DesktopApi } from './api-client.ts';
import { DesktopError } from './errors.ts';
import type { FlowSnapshot } from './flow.ts';

/** The longest comment the server takes (server/surveys/schema.ts). */
export const SURVEY_COMMENT_MAX = 1000;

export class HelpSurvey {
  #sessionRan = false;
  readonly #api: DesktopApi;
  readonly #state: () => FlowSnapshot['survey'];
  readonly #set: (survey: FlowSnapshot['survey']) => void;

  constructor(api: DesktopApi, state: () => FlowSnapshot['survey'], set: (survey: FlowSnapshot['survey']) => void) {
    this.#api = api;
    this.#state = state;
    this.#set = set;
  }

  /** The screen was shared at some point of this request. */
  sessionRan(): void {
    this.#sessionRan = true;
  }

  /** What the end asks: the question when a session took place, nothing otherwise. */
  askAfter(): FlowSnapshot['survey'] {
    return this.#sessionRan ? 'ask' : null;
  }

  /** Sends the answer (1–5, and a comment or null); the question is answered then. */
  async answer(rating: number, comment: string | null): Promise<void> {
    if (this.#state() !== 'ask') throw new DesktopError('SERVER_REFUSED', 'There is no question to answer now');
    if (!Number.isInteger(rating) || rating < 1 || rating > 5) throw new DesktopError('SERVER_REFUSED', 'Choose from 1 to 5');
    const text = comment?.trim().slice(0, SURVEY_COMMENT_MAX) || null;
    await this.#api.survey(rating, text);
    this.#set('sent');
  }

  /** The user would rather not say. */
  skip(): void {
    if (this.#state() === 'ask') this.#set('skipped');
  }
}
