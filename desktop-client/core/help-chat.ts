// The conversation of one help request: each message once, in order of id,
// whether it arrived on the ticket's stream, in a catch-up read, or was sent here.
import type { ChatMessage } from '../../protocol/events.ts';
import type { DesktopApi } from './api-client.ts';

export class HelpChat {
  readonly #messages = new Map<number, ChatMessage>();
  private readonly api: DesktopApi;
  private readonly emit: (message: ChatMessage) => void;

  constructor(api: DesktopApi, emit: (message: ChatMessage) => void) {
    this.api = api;
    this.emit = emit;
  }

  get messages(): ChatMessage[] {
    return [...this.#messages.values()];
  }

  async say(text: string): Promise<ChatMessage> {
    const message = await this.api.say(text);
    this.add(message);
    return message;
  }

  /** Whatever was written while the stream was away (or before it opened); the stream's own trouble handler reports an unreachable server. */
  catchUp(): void {
    this.api.messages().then(
      (list) => list.forEach((m) => this.add(m)),
      () => undefined,
    );
  }

  add(m: ChatMessage): void {
    if (this.#messages.has(m.id)) return;
    this.#messages.set(m.id, m);
    this.emit(m);
  }
}
