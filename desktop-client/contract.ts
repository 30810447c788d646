// The API the preload exposes to the window as window.helpdesk (the IPC
// channel names it rides on are in protocol/ipc.ts). Both sides import these
// types; the window never sees raw IPC.
import type { WindowState } from './core/messages.ts';
import type { ChatMessage, TicketFile } from './core/api-client.ts';

export interface RequesterProfile {
  requesterName: string;
  username: string;
  hostname: string;
  /** Shown before the user requests help when the screen source cannot work here (x11vnc on Wayland). */
  notice: string | null;
}

export interface HelpdeskApi {
  /** `topicId`: what it is about, one of topics() (issue 29); none: null. */
  requestHelp(description: string, topicId?: number | null): Promise<void>;
  /** The server's topics in the user's language (empty: none to choose, or the server has none). */
  topics?(): Promise<{ id: number; name: string }[]>;
  /** Allows the offered technician; `screen` names the one monitor to share (null: all screens). */
  allow(viewOnly: boolean, screen?: string | null): Promise<void>;
  /** The monitors the user may choose from on the consent screen (empty: no choice, all screens). */
  screens(): Promise<{ name: string; label: string }[]>;
  /** Says no to the offered technician; `dontAskAgain`: they may not offer again on this request. */
  decline(dontAskAgain?: boolean): Promise<void>;
  stop(): Promise<void>;
  /** Back to the request screen after an end: the next request is a new attempt. */
  startOver(): Promise<void>;
  getState(): Promise<WindowState>;
  getProfile(): Promise<RequesterProfile>;
  /** The message catalogue (English first). */
  messages(): Promise<Record<string, string>>;
  /** Subscribes to state changes; returns the function that unsubscribes. */
  onState(listener: (state: WindowState) => void): () => void;
  /** Writes to the technicians (plain text, at most 2,000 characters). */
  say(text: string): Promise<void>;
  /** The conversation of the current request so far. */
  conversation(): Promise<ChatMessage[]>;
  /** Subscribes to chat messages (sent and received); returns the function that unsubscribes. */
  onChat(listener: (message: ChatMessage) => void): () => void;
  /** The files of the current request. */
  files(): Promise<TicketFile[]>;
  /** Accepts a file offered to the user: the shell asks where to save it; resolves with the path, or null when the user cancelled. */
  acceptFile(id: string): Promise<string | null>;
  refuseFile(id: string): Promise<void>;
  /** The shell asks which file to send; resolves with what was sent, or null when the user cancelled. */
  sendFile(): Promise<TicketFile | null>;
  onFile(listener: (file: TicketFile) => void): () => void;
  /** The user allows someone who asks to join (by their technician id, from WindowState.people), or grants a watcher control. */
  allowParticipant(technicianId: number): Promise<void>;
  /** The user refuses someone who asks: nothing else changes. */
  refuseParticipant(technicianId: number): Promise<void>;
  /** Stops one person; everyone else goes on. */
  stopParticipant(technicianId: number): Promise<void>;
  /** Stops everyone but the technician helping (stop() ends the whole session). */
  stopEveryone(): Promise<void>;
  /** After the session (WindowState.survey 'ask'): how it went, 1–5, and an optional comment (issue 29). */
  answerSurvey(rating: number, comment: string | null): Promise<void>;
  /** The user would rather not say. */
  skipSurvey(): Promise<void>;
}

export type { WindowState, ChatMessage, TicketFile };
