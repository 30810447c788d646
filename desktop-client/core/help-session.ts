// The end user's side of a help request, as one state machine:
//   idle → requesting → waiting_for_technician → technician_offered
//        → approved → connecting → waiting_for_viewer → in_session → ended
// Declining (or the technician releasing) goes back to waiting_for_technician.
// When the technician's viewer drops while the ticket is still open, the
// session re-arms (fresh token, fresh x11vnc) without asking the user again.
// Its parts: the conversation (help-chat.ts), the files (help-files.ts) and
// the desktop leg of each channel (desktop-channels.ts, channel-leg.ts); the flow's vocabulary is flow.ts.
import { EventEmitter } from 'node:events';
import type { ChatMessage, TicketFile } from '../../protocol/events.ts';
import type { HelpRequestView } from '../../protocol/desktop-api.ts';
import { DesktopApi } from './api-client.ts';
import type { ClientConfig, ScreenSource } from './config.ts';
import { DesktopError } from './errors.ts';
import type { Transport } from './transport.ts';
import { Tunnel, type TunnelOptions } from './tunnel.ts';
import { clipOf, listMonitors, monitorLabel, type Monitor } from './monitors.ts';
import { closeCodeNext, describe, idleSnapshot, legalMoves, type FlowSnapshot, type FlowState, type LegTunnel } from './flow.ts';
import { DesktopChannels, type ChannelsFlow } from './desktop-channels.ts';
import { HelpChat } from './help-chat.ts';
import { HelpFiles } from './help-files.ts';
import { ParticipantConsent } from './participant-consent.ts';
import { HelpSurvey } from './help-survey.ts';

export { closeCodeNext, type FlowSnapshot, type FlowState, type LegTunnel };

export interface HelpSessionEvents {
  state: [FlowSnapshot];
  /** A chat message arrived or was sent (each once, in order of id). */
  message: [ChatMessage];
  /** A file was offered, sent, accepted, refused or purged (its latest state). */
  file: [TicketFile];
}

export type HelpSessionConfig = Pick<ClientConfig, 'serverUrl' | 'clientKey' | 'display' | 'x11vncPath' | 'requester'> & { source?: ScreenSource };

export class HelpSession extends EventEmitter<HelpSessionEvents> {
  #snapshot: FlowSnapshot = { ...idleSnapshot };
  #api: DesktopApi;
  /** The desktop leg of each channel (today: the main one, from the user's consent on). */
  readonly #channels: DesktopChannels;
  #unfollow: (() => void) | null = null;
  #ticketStatus: HelpRequestView['status'] | null = null;
  readonly #chat: HelpChat;
  readonly #files: HelpFiles;
  /** The user's word on each participant: allow, refuse, stop one, stop everyone. */
  readonly consent: ParticipantConsent;
  readonly survey: HelpSurvey; // how it went, asked once a session took place and ended (issue 29)
  /** The create call of this attempt, and its withdrawal if it was stopped meanwhile. */
  #creating: Promise<void> = Promise.resolve();
  /** Every process and socket this session started is gone once this settles. */
  #cleanup: Promise<void> = Promise.resolve();

  private readonly config: HelpSessionConfig;
  private readonly transport: Transport;
  /** Opens the tunnel of one desktop leg (the real one by default). */
  private readonly openTunnel: (options: TunnelOptions) => LegTunnel;

  constructor(config: HelpSessionConfig, transport: Transport, openTunnel: (options: TunnelOptions) => LegTunnel = (options) => new Tunnel(options)) {
    super();
    this.config = config;
    this.transport = transport;
    this.openTunnel = openTunnel;
    this.#api = new DesktopApi(transport, config.serverUrl, config.clientKey);
    this.#chat = new HelpChat(this.#api, (m) => this.emit('message', m));
    this.#files = new HelpFiles(this.#api, (f) => this.emit('file', f));
    this.consent = new ParticipantConsent(this.#api, () => this.#snapshot.participants);
    this.survey = new HelpSurvey(this.#api, () => this.#snapshot.survey, (survey) => this.#patch({ survey }));
    const flow: ChannelsFlow = {
      get snapshot() {
        return session.#snapshot;
      },
      get ticketStatus() {
        return session.#ticketStatus;
      },
      move: (next, patch) => this.#move(next, patch),
      patch: (patch) => this.#patch(patch),
      finish: (reason, error) => this.#finish(reason, error),
      track: (closing) => this.#track(closing),
    };
    // eslint-disable-next-line @typescript-eslint/no-this-alias -- the flow's getters read this session's private state
    const session = this;
    this.#channels = new DesktopChannels(flow, { config, transport, api: this.#api, openTunnel: this.openTunnel });
  }

  get snapshot(): FlowSnapshot { return { ...this.#snapshot }; }

  /** Resolves once every tunnel this session opened is closed and its x11vnc has exited. */
  settled(): Promise<void> {
    return this.#cleanup;
  }

  /** The conversation so far (plain text; show it as text). */
  get messages(): ChatMessage[] {
    return this.#chat.messages;
  }

  /** The user writes to the technicians (from the request until it is closed). */
  say(text: string): Promise<ChatMessage> {
    if (this.#snapshot.ticketId === null) return Promise.reject(new DesktopError('SERVER_REFUSED', 'There is no request to write about yet'));
    return this.#chat.say(text);
  }

  /** The files of this request (offered to the user, or sent by them). */
  get files(): TicketFile[] {
    return this.#files.files;
  }

  /** Accepts a file offered to the user into `dir` (see HelpFiles.accept); resolves with where it was saved. */
  acceptFile(id: string, dir: string): Promise<string> {
    return this.#files.accept(id, dir);
  }

  refuseFile(id: string): Promise<void> {
    return this.#files.refuse(id);
  }

  /** Sends a file from this computer to the technicians. */
  sendFile(path: string): Promise<TicketFile> {
    return this.#files.send(path);
  }

  /** The main channel's running x11vnc's pid, if any (diagnostics and tests). */
  get x11vncPid(): number | null {
    return this.#channels.x11vncPid;
  }

  async requestHelp(description: string, topicId: number | null = null): Promise<void> {
    this.#move('requesting', { error: null });
    const creating = this.#create(description, topicId);
    this.#creating = creating.then(() => undefined, () => undefined);
    return creating;
  }

  async #create(description: string, topicId: number | null): Promise<void> {
    try {
      const view = await this.#api.create({ ...this.config.requester, description, ...(topicId === null ? {} : { topicId }) });
      if (this.#snapshot.state !== 'requesting') {
        // Stopped while the request was being created: withdraw it on the server; a late result is not an error.
        await this.#api.cancel().catch((err: unknown) => {
          if (!(err instanceof DesktopError)) throw err;
        });
        return;
      }
      this.#move('waiting_for_technician', { ticketId: view.id });
      this.#unfollow = this.#api.follow(
        {
          ticket: (v) => this.#onTicket(v),
          session: () => undefined,
          message: (m) => this.#chat.add(m),
          file: (f) => this.#files.set(f),
          open: () => {
            // Back in touch with the server: a connection problem shown meanwhile is over.
            if (this.#snapshot.error?.code === 'SERVER_UNREACHABLE' && this.#snapshot.state !== 'connecting') this.#patch({ error: null });
            this.#chat.catchUp();
            this.#files.catchUp();
          },
          connection: (e) => {
            const state = this.#snapshot.state;
            if (e.state === 'paired' && (state === 'connecting' || state === 'waiting_for_viewer')) this.#move('in_session');
          },
        },
        (error) => this.#patch({ error: { code: error.code, message: error.message } }),
      );
    } catch (err) {
      if (this.#snapshot.state !== 'requesting') return; // stopped meanwhile: nothing to report
      this.#move('idle', { error: describe(err) });
      throw err;
    }
  }

  /** The monitors the user may choose from (x11vnc on X11 only; empty means: all screens, no choice). */
  async screens(): Promise<Monitor[]> {
    if ((this.config.source ?? { kind: 'x11vnc' }).kind !== 'x11vnc') return [];
    const monitors = await listMonitors(this.config.display);
    return monitors.length > 1 ? monitors : [];
  }

  /** The user allows the offered technician: control, or view only; all screens, or the one named. */
  async allow(viewOnly: boolean, screen: string | null = null): Promise<void> {
    let monitor: Monitor | null = null;
    if (screen !== null) {
      monitor = (await this.screens()).find((m) => m.name === screen) ?? null;
      if (!monitor) throw new DesktopError('SERVER_REFUSED', `There is no screen named ${screen} to share`);
    }
    const sharedScreen = monitor ? monitorLabel(monitor) : null;
    // The window and the terminal show "This session will be recorded" on the consent step whenever `recorded` is set.
    await this.#api.approve(viewOnly, sharedScreen, this.#snapshot.recorded);
    this.#channels.clip = monitor ? clipOf(monitor) : null;
    this.#move('approved', { viewOnly, sharedScreen });
    await this.#channels.openMain(this.#snapshot.ticketId!, viewOnly);
  }

  /** Says no to the technician who offered; `dontAskAgain`: that technician may not offer again on this request. */
  async decline(dontAskAgain = false): Promise<void> {
    await this.#api.decline(dontAskAgain);
    this.#move('waiting_for_technician', { technicianName: null });
  }

  /** Stops at any moment: the server is told, x11vnc killed by its pid, the websocket closed. */
  async stop(): Promise<void> {
    if (this.#snapshot.state === 'requesting') {
      // Cancel while the request is being created: it ends here at once and is withdrawn on the server when it exists.
      this.#finish('CANCELLED');
      await this.#creating;
      return;
    }
    if (this.#snapshot.state === 'ended' || this.#snapshot.state === 'idle') return this.#finish('ENDED_BY_USER');
    const status = this.#ticketStatus;
    try {
      if (status === 'approved' || status === 'in_session') await this.#api.end();
      else if (status === 'requested' || status === 'accepted') await this.#api.cancel();
    } catch (err) {
      // The server may have ended it already (409): the local stop still happens.
      if (!(err instanceof DesktopError)) throw err;
      this.#patch({ error: describe(err) });
    } finally {
      this.#finish(status === 'requested' || status === 'accepted' ? 'CANCELLED' : 'ENDED_BY_USER');
    }
    await this.#cleanup;
  }

  #onTicket(view: HelpRequestView): void {
    this.#ticketStatus = view.status;
    this.#onParticipants(view);
    const state = this.#snapshot.state;
    switch (view.status) {
      case 'requested':
        if (state === 'technician_offered') this.#move('waiting_for_technician', { technicianName: null });
        else if (state === 'approved' || state === 'connecting' || state === 'waiting_for_viewer' || state === 'in_session') {
          // The server put the request back in the queue: screen sharing stops, the request waits again.
          this.#channels.closeAll();
          this.#move('waiting_for_technician', { technicianName: null, viewOnly: false });
        }
        break;
      case 'accepted':
        if (state === 'waiting_for_technician') this.#move('technician_offered', { technicianName: view.technician?.displayName ?? null, recorded: view.recorded });
        break;
      case 'ended':
      case 'resolved':
        this.#finish(view.endReason ?? 'ENDED_BY_SERVER');
        break;
      case 'cancelled':
        this.#finish('CANCELLED');
        break;
      case 'expired':
        this.#finish('EXPIRED');
        break;
      case 'approved':
      case 'in_session':
        // The desktop leg's own events (connection: waiting/paired) drive these states; the holder may have changed (a hand-over).
        if (view.technician && view.technician.displayName !== this.#snapshot.technicianName && state !== 'ended') this.#patch({ technicianName: view.technician.displayName });
        this.#channels.onTicket(view);
        break;
    }
  }

  /** The participants as the ticket now lists them: kept on the snapshot (said only when they changed). */
  #onParticipants(view: HelpRequestView): void {
    const participants = view.participants ?? [];
    const mainChannel = view.mainChannel ?? true;
    if (mainChannel === this.#snapshot.mainChannel && JSON.stringify(participants) === JSON.stringify(this.#snapshot.participants)) return;
    this.#patch({ participants, mainChannel });
  }

  /** A channel's running x11vnc ("42": the main one, "42.p7": a participant's), for diagnostics and tests. */
  x11vncPidOf(channel: string): number | null {
    return this.#channels.x11vncPidOf(channel);
  }

  /** The desktop legs now, one per channel. */
  get legs(): { channel: string; viewOnly: boolean; up: boolean }[] {
    return this.#channels.legs;
  }

  #finish(reason: string, error: FlowSnapshot['error'] = null): void {
    this.#unfollow?.();
    this.#unfollow = null;
    this.#channels.closeAll();
    if (this.#snapshot.state !== 'ended') this.#move('ended', { endReason: reason, ...(error ? { error } : {}), survey: this.survey.askAfter() });
  }

  /** Adds a closing tunnel to what settled() waits for. */
  #track(closing: Promise<void>): void {
    this.#cleanup = Promise.all([this.#cleanup, closing]).then(() => undefined);
  }

  #move(next: FlowState, patch: Partial<FlowSnapshot> = {}): void {
    const from = this.#snapshot.state;
    if (from !== next && !legalMoves[from].includes(next)) throw new Error(`illegal flow move ${from} → ${next}`);
    this.#snapshot = { ...this.#snapshot, ...patch, state: next };
    if (next === 'in_session') this.survey.sessionRan();
    this.emit('state', this.snapshot);
  }

  #patch(patch: Partial<FlowSnapshot>): void {
    this.#snapshot = { ...this.#snapshot, ...patch };
    this.emit('state', this.snapshot);
  }
}
