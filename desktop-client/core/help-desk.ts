// What the window (and any shell) holds: the current help attempt. As noVNC
// treats a connection, an attempt (HelpSession) is used once; each request
// makes a new one, and whatever a finished attempt still reports is dropped.
import { EventEmitter } from 'node:events';
import type { ClientConfig } from './config.ts';
import { DesktopError } from './errors.ts';
import { HelpSession, type FlowSnapshot } from './help-session.ts';
import { idleSnapshot } from './flow.ts';
import type { ParticipantConsent } from './participant-consent.ts';
import type { Transport } from './transport.ts';
import { DesktopApi, type ChatMessage, type TicketFile } from './api-client.ts';
import type { TopicChoice } from '../../protocol/teams.ts';
import { monitorLabel } from './monitors.ts';

export interface HelpDeskEvents {
  state: [FlowSnapshot];
  message: [ChatMessage];
  file: [TicketFile];
}

const IDLE: FlowSnapshot = idleSnapshot;

export class HelpDesk extends EventEmitter<HelpDeskEvents> {
  #current: HelpSession | null = null;
  #all: HelpSession[] = [];

  private readonly config: ConstructorParameters<typeof HelpSession>[0];
  private readonly transport: Transport;

  constructor(
    config: ConstructorParameters<typeof HelpSession>[0],
    transport: Transport,
  ) {
    super();
    this.config = config;
    this.transport = transport;
  }

  get snapshot(): FlowSnapshot {
    return this.#current?.snapshot ?? { ...IDLE };
  }

  /** The running attempt (tests, diagnostics). */
  get current(): HelpSession | null {
    return this.#current;
  }

  /** A new attempt for each request; refused while one is open. */
  async requestHelp(description: string, topicId: number | null = null): Promise<void> {
    const state = this.#current?.snapshot.state;
    if (state !== undefined && state !== 'idle' && state !== 'ended') {
      throw new DesktopError('SERVER_REFUSED', 'A request is already open: stop it first');
    }
    const attempt = new HelpSession(this.config, this.transport);
    this.#current = attempt;
    this.#all.push(attempt);
    attempt.on('message', (m) => {
      if (this.#current === attempt) this.emit('message', m);
    });
    attempt.on('file', (f) => {
      if (this.#current === attempt) this.emit('file', f);
    });
    attempt.on('state', (s) => {
      if (this.#current === attempt) this.emit('state', s);
    });
    await attempt.requestHelp(description, topicId);
  }

  /** The server's topics in the user's language (issue 29); none when it cannot say. */
  async topics(): Promise<TopicChoice[]> {
    return new DesktopApi(this.transport, this.config.serverUrl, this.config.clientKey).topics().catch((err: unknown) => {
      if (err instanceof DesktopError) return [];
      throw err;
    });
  }

  allow(viewOnly: boolean, screen: string | null = null): Promise<void> {
    return this.#active().allow(viewOnly, screen);
  }

  /** The monitors offered on the consent screen (empty: all screens, no choice). */
  async screens(): Promise<{ name: string; label: string }[]> {
    const attempt = this.#current;
    if (!attempt) return [];
    return (await attempt.screens()).map((m) => ({ name: m.name, label: monitorLabel(m) }));
  }

  decline(dontAskAgain = false): Promise<void> {
    return this.#active().decline(dontAskAgain);
  }

  /** The current request's conversation (empty before a request). */
  get messages(): ChatMessage[] {
    return this.#current?.messages ?? [];
  }

  say(text: string): Promise<ChatMessage> {
    return this.#active().say(text);
  }

  get files(): TicketFile[] {
    return this.#current?.files ?? [];
  }

  acceptFile(id: string, dir: string): Promise<string> {
    return this.#active().acceptFile(id, dir);
  }

  refuseFile(id: string): Promise<void> {
    return this.#active().refuseFile(id);
  }

  sendFile(path: string): Promise<TicketFile> {
    return this.#active().sendFile(path);
  }

  /** The current request's word on its participants (allow, refuse, stop one, stop everyone). */
  consent(): ParticipantConsent {
    return this.#active().consent;
  }

  /** The user's answer to "how did it go?" after the session (issue 29). */
  answerSurvey(rating: number, comment: string | null): Promise<void> {
    return this.#active().survey.answer(rating, comment);
  }

  skipSurvey(): void {
    this.#current?.survey.skip();
  }

  async stop(): Promise<void> {
    await this.#current?.stop();
  }

  /** Back to the request screen after an end (an open attempt is stopped first). */
  async startOver(): Promise<void> {
    const attempt = this.#current;
    if (attempt && attempt.snapshot.state !== 'ended' && attempt.snapshot.state !== 'idle') await attempt.stop();
    this.#current = null;
    this.emit('state', this.snapshot);
  }

  /** Resolves once every attempt's processes and sockets are gone. */
  async settled(): Promise<void> {
    await Promise.all(this.#all.map((a) => a.settled()));
  }

  #active(): HelpSession {
    if (!this.#current) throw new DesktopError('SERVER_REFUSED', 'No request is open');
    return this.#current;
  }
}

export type { ClientConfig };
