// The end user's side of a help request, as one state machine:
//   idle → requesting → waiting_for_technician → technician_offered
//        → approved → connecting → waiting_for_viewer → in_session → ended
// Declining (or the technician releasing) goes back to waiting_for_technician.
// When the technician's viewer drops while the ticket is still open, the
// session re-arms (fresh token, fresh x11vnc) without asking the user again.
import { ignoreCodes } from '../../lib/expected.ts';
import { EventEmitter } from 'node:events';
import type { ChatMessage, TicketFile } from '../../protocol/events.ts';
import type { HelpRequestView } from '../../protocol/desktop-api.ts';
import { createHash } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { mkdir, open, rename, unlink } from 'node:fs/promises';
import { extname, join } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { closeCodeId, type CloseCodeId } from '../../protocol/close-codes.ts';
import { DesktopApi } from './api-client.ts';
import type { ClientConfig, ScreenSource } from './config.ts';
import { DesktopError } from './errors.ts';
import type { Transport } from './transport.ts';
import { Tunnel, type TunnelClosed, type TunnelOptions } from './tunnel.ts';
import { clipOf, listMonitors, monitorLabel, type Monitor } from './monitors.ts';

export type FlowState =
  | 'idle'
  | 'requesting'
  | 'waiting_for_technician'
  | 'technician_offered'
  | 'approved'
  | 'connecting'
  | 'waiting_for_viewer'
  | 'in_session'
  | 'ended';

export interface FlowSnapshot {
  state: FlowState;
  ticketId: number | null;
  technicianName: string | null;
  viewOnly: boolean;
  /** The one monitor shared ("RIGHT 640×480"), or null for all screens. */
  sharedScreen: string | null;
  /** Why it ended: a close-code id (ENDED_BY_TECHNICIAN…), CANCELLED, EXPIRED, or an error code. */
  endReason: string | null;
  error: { code: string; message: string } | null;
  /** The helpdesk records this request's sessions: both faces say so before the user allows. */
  recorded: boolean;
}

const legalMoves: Readonly<Record<FlowState, readonly FlowState[]>> = {
  idle: ['requesting', 'ended'],
  requesting: ['waiting_for_technician', 'idle', 'ended'],
  waiting_for_technician: ['technician_offered', 'ended'],
  technician_offered: ['waiting_for_technician', 'approved', 'ended'],
  // Back to waiting_for_technician when the ticket returns to the queue (its technician lost access).
  approved: ['connecting', 'waiting_for_technician', 'ended'],
  connecting: ['waiting_for_viewer', 'in_session', 'waiting_for_technician', 'ended'],
  waiting_for_viewer: ['in_session', 'connecting', 'waiting_for_technician', 'ended'],
  in_session: ['waiting_for_viewer', 'connecting', 'waiting_for_technician', 'ended'],
  ended: [],
};

/**
 * What every repeater close code means for this side: re-arm (a fresh token and
 * x11vnc, no new consent) or end, with the code as the reason the user reads.
 * Typed over the whole table, so a new code cannot be left undecided.
 */
export const closeCodeNext: Readonly<Record<CloseCodeId, 'rearm' | 'end'>> = {
  DESKTOP_LEFT: 'end',
  VIEWER_LEFT: 'rearm',
  DESKTOP_LOST: 'rearm',
  VIEWER_LOST: 'rearm',
  WAITING_TIMEOUT: 'rearm',
  DUPLICATE_LEG: 'end',
  ENDED_BY_USER: 'end',
  ENDED_BY_TECHNICIAN: 'end',
  ENDED_BY_SERVER: 'end',
  SHUTDOWN: 'rearm',
  PEER_PROTOCOL_ERROR: 'rearm',
  REPEATER_LOST: 'rearm',
  SERVER_RESTARTED: 'rearm',
  RECORDING_FAILED: 'end',
};

/** How long a re-arm keeps trying while the server or repeater is unreachable. */
const REARM_WINDOW_MS = 60_000;

/** A failure that a restart of the server or the repeater explains: worth another try. */
function transient(err: unknown): boolean {
  if (!(err instanceof DesktopError)) return false;
  if (err.code === 'SERVER_UNREACHABLE') return true;
  const status = (err.detail as { status?: number } | undefined)?.status;
  return (err.code === 'TOKEN_REFUSED' || err.code === 'SERVER_REFUSED') && (status === 502 || status === 503 || status === 504);
}

/** What the session needs of a tunnel (the real one is Tunnel; tests give a fake). */
export interface LegTunnel {
  readonly x11vncPid: number | null;
  open(): Promise<void>;
  close(): Promise<void>;
  once(event: 'closed', listener: (closed: TunnelClosed) => void): unknown;
}

export interface HelpSessionEvents {
  state: [FlowSnapshot];
  /** A chat message arrived or was sent (each once, in order of id). */
  message: [ChatMessage];
  /** A file was offered, sent, accepted, refused or purged (its latest state). */
  file: [TicketFile];
}

export class HelpSession extends EventEmitter<HelpSessionEvents> {
  #snapshot: FlowSnapshot = { state: 'idle', ticketId: null, technicianName: null, viewOnly: false, sharedScreen: null, endReason: null, error: null, recorded: false };
  /** x11vnc's -clip for the chosen monitor. */
  #clip: string | null = null;
  #api: DesktopApi;
  #tunnel: LegTunnel | null = null;
  #unfollow: (() => void) | null = null;
  #ticketStatus: HelpRequestView['status'] | null = null;
  readonly #messages = new Map<number, ChatMessage>();
  readonly #files = new Map<string, TicketFile>();
  #rearmTimer: NodeJS.Timeout | null = null;
  /** The create call of this attempt, and its withdrawal if it was stopped meanwhile. */
  #creating: Promise<void> = Promise.resolve();
  /** Every process and socket this session started is gone once this settles. */
  #cleanup: Promise<void> = Promise.resolve();

  private readonly config: Pick<ClientConfig, 'serverUrl' | 'clientKey' | 'display' | 'x11vncPath' | 'requester'> & { source?: ScreenSource };
  private readonly transport: Transport;
  /** Opens the tunnel of one desktop leg (the real one by default). */
  private readonly openTunnel: (options: TunnelOptions) => LegTunnel;

  constructor(
    config: Pick<ClientConfig, 'serverUrl' | 'clientKey' | 'display' | 'x11vncPath' | 'requester'> & { source?: ScreenSource },
    transport: Transport,
    openTunnel: (options: TunnelOptions) => LegTunnel = (options) => new Tunnel(options),
  ) {
    super();
    this.config = config;
    this.transport = transport;
    this.openTunnel = openTunnel;
    this.#api = new DesktopApi(transport, config.serverUrl, config.clientKey);
  }

  get snapshot(): FlowSnapshot {
    return { ...this.#snapshot };
  }

  /** Resolves once every tunnel this session opened is closed and its x11vnc has exited. */
  settled(): Promise<void> {
    return this.#cleanup;
  }

  /** The conversation so far (plain text; show it as text). */
  get messages(): ChatMessage[] {
    return [...this.#messages.values()];
  }

  /** The user writes to the technicians (from the request until it is closed). */
  async say(text: string): Promise<ChatMessage> {
    if (this.#snapshot.ticketId === null) throw new DesktopError('SERVER_REFUSED', 'There is no request to write about yet');
    const message = await this.#api.say(text);
    this.#addMessage(message);
    return message;
  }

  /** The files of this request (offered to the user, or sent by them). */
  get files(): TicketFile[] {
    return [...this.#files.values()];
  }

  /**
   * Accepts a file offered to the user and saves it in `dir` under its own
   * name, never overwriting (name (1).ext, …); its SHA-256 is checked against
   * the server's. Resolves with where it was saved.
   */
  async acceptFile(id: string, dir: string): Promise<string> {
    const offered = this.#files.get(id);
    if (!offered || offered.direction !== 'to_user') throw new DesktopError('SERVER_REFUSED', `No file ${id} was offered to you`);
    const file = await this.#api.acceptFile(id);
    this.#setFile(file);
    await mkdir(dir, { recursive: true });
    const path = await freePath(dir, file.name);
    const partial = `${path}.part`;
    const hash = createHash('sha256');
    const body = Readable.fromWeb((await this.#api.downloadFile(id)) as import('node:stream/web').ReadableStream<Uint8Array>);
    body.on('data', (chunk: Buffer) => hash.update(chunk));
    try {
      await pipeline(body, createWriteStream(partial, { flags: 'wx' }));
      const digest = hash.digest('hex');
      if (digest !== file.sha256) throw new DesktopError('SERVER_REFUSED', `The file ${file.name} arrived damaged (SHA-256 ${digest}, expected ${file.sha256}); it was not saved`);
      await rename(partial, path);
    } catch (err) {
      await unlink(partial).catch(ignoreCodes('ENOENT')); // nothing written yet: nothing to remove
      throw err;
    }
    return path;
  }

  async refuseFile(id: string): Promise<void> {
    this.#setFile(await this.#api.refuseFile(id));
  }

  /** Sends a file from this computer to the technicians. */
  async sendFile(path: string): Promise<TicketFile> {
    const file = await this.#api.sendFile(path);
    this.#setFile(file);
    return file;
  }

  #setFile(f: TicketFile): void {
    const known = this.#files.get(f.id);
    if (known && known.state === f.state) return;
    this.#files.set(f.id, f);
    this.emit('file', f);
  }

  #addMessage(m: ChatMessage): void {
    if (this.#messages.has(m.id)) return;
    this.#messages.set(m.id, m);
    this.emit('message', m);
  }

  /** The running x11vnc's pid, if any (diagnostics and tests). */
  get x11vncPid(): number | null {
    return this.#tunnel?.x11vncPid ?? null;
  }

  async requestHelp(description: string): Promise<void> {
    this.#move('requesting', { error: null });
    const creating = this.#create(description);
    this.#creating = creating.then(() => undefined, () => undefined);
    return creating;
  }

  async #create(description: string): Promise<void> {
    try {
      const view = await this.#api.create({ ...this.config.requester, description });
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
          message: (m) => this.#addMessage(m),
          file: (f) => this.#setFile(f),
          open: () => {
            // Back in touch with the server: a connection problem shown meanwhile is over.
            if (this.#snapshot.error?.code === 'SERVER_UNREACHABLE' && this.#snapshot.state !== 'connecting') this.#patch({ error: null });
            // Whatever was written while the stream was away (or before it opened).
            this.#api.messages().then(
              (list) => list.forEach((m) => this.#addMessage(m)),
              () => undefined, // the stream's own trouble handler reports an unreachable server
            );
            this.#api.files().then(
              (list) => list.forEach((f) => this.#setFile(f)),
              () => undefined, // as above
            );
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
    this.#clip = monitor ? clipOf(monitor) : null;
    this.#move('approved', { viewOnly, sharedScreen });
    await this.#arm();
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
    const state = this.#snapshot.state;
    switch (view.status) {
      case 'requested':
        if (state === 'technician_offered') this.#move('waiting_for_technician', { technicianName: null });
        else if (state === 'approved' || state === 'connecting' || state === 'waiting_for_viewer' || state === 'in_session') {
          // The server put the request back in the queue: screen sharing stops, the request waits again.
          if (this.#rearmTimer) clearTimeout(this.#rearmTimer);
          const tunnel = this.#tunnel;
          this.#tunnel = null;
          if (tunnel) this.#track(tunnel.close());
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
        // The desktop leg's own events (connection: waiting/paired) drive these states.
        break;
    }
  }

  /**
   * Opens a fresh tunnel: new desktop token, new x11vnc. While the server or
   * its repeater cannot be reached (a restart, a deploy), it tries again with
   * backoff for up to REARM_WINDOW_MS, staying in `connecting`, before it gives up.
   */
  async #arm(): Promise<void> {
    this.#move('connecting');
    const giveUpAt = Date.now() + REARM_WINDOW_MS;
    for (let attempt = 0; ; attempt++) {
      try {
        await this.#openTunnel();
        if (this.#snapshot.error) this.#patch({ error: null });
        return;
      } catch (err) {
        if (this.#snapshot.state !== 'connecting') return; // stopped or ended meanwhile
        const error = describe(err);
        if (transient(err) && Date.now() < giveUpAt) {
          this.#patch({ error });
          await new Promise((resolve) => {
            this.#rearmTimer = setTimeout(resolve, Math.min(5_000, 250 * 2 ** attempt));
          });
          this.#rearmTimer = null;
          if (this.#snapshot.state !== 'connecting') return;
          continue;
        }
        // Ended here first (with its words), then the server is told; a late
        // ticket event cannot replace the reason.
        this.#finish(error.code, error);
        // Over here whatever the server says: it may be unreachable now, or have ended the ticket already.
        await this.#api.end().catch(ignoreCodes('SERVER_UNREACHABLE', 'SERVER_REFUSED'));
        return;
      }
    }
  }

  async #openTunnel(): Promise<void> {
    const { url } = await this.#api.desktopToken();
    if (this.#snapshot.state !== 'connecting') return;
    const tunnel = this.openTunnel({
      url,
      display: this.config.display,
      viewOnly: this.#snapshot.viewOnly,
      x11vncBinary: this.config.x11vncPath,
      source: this.config.source ?? { kind: 'x11vnc' },
      clip: this.#clip,
      wsOptions: this.transport.wsOptions(url),
    });
    this.#tunnel = tunnel;
    tunnel.once('closed', (closed) => this.#tunnelOnClosed(tunnel, closed));
    try {
      await tunnel.open();
    } catch (err) {
      if (this.#tunnel === tunnel) this.#tunnel = null;
      throw err;
    }
    if (this.#snapshot.state === 'connecting') this.#move('waiting_for_viewer');
  }

  #tunnelOnClosed(tunnel: LegTunnel, closed: TunnelClosed): void {
    // Whatever happens next, this tunnel's x11vnc must be gone before the session settles.
    this.#track(tunnel.close());
    if (this.#tunnel !== tunnel || this.#snapshot.state === 'ended') return;
    this.#tunnel = null;
    if (closed.error) {
      void this.#api.end().catch(ignoreCodes('SERVER_UNREACHABLE', 'SERVER_REFUSED'));
      return this.#finish(closed.error.code, describe(closed.error));
    }
    // A code the repeater does not own (1000, 1006: a dropped connection) is a lost desktop leg.
    const reason = closeCodeId(closed.code) ?? 'DESKTOP_LOST';
    if (this.#ticketStatus === 'requested') return; // back in the queue: #onTicket has moved on
    const connectable = this.#ticketStatus === 'approved' || this.#ticketStatus === 'in_session' || this.#ticketStatus === null;
    if (closeCodeNext[reason] === 'rearm' && connectable) {
      this.#move('connecting');
      this.#rearmTimer = setTimeout(() => {
        this.#rearmTimer = null;
        if (this.#snapshot.state === 'connecting') void this.#arm();
      }, 300);
      return;
    }
    // Every other case ends here, in words (the ticket's own end may follow on the stream).
    this.#finish(reason);
  }

  #finish(reason: string, error: FlowSnapshot['error'] = null): void {
    if (this.#rearmTimer) clearTimeout(this.#rearmTimer);
    this.#unfollow?.();
    this.#unfollow = null;
    const tunnel = this.#tunnel;
    this.#tunnel = null;
    if (tunnel) this.#track(tunnel.close());
    if (this.#snapshot.state !== 'ended') this.#move('ended', { endReason: reason, ...(error ? { error } : {}) });
  }

  /** Adds a closing tunnel to what settled() waits for. */
  #track(closing: Promise<void>): void {
    this.#cleanup = Promise.all([this.#cleanup, closing]).then(() => undefined);
  }

  #move(next: FlowState, patch: Partial<FlowSnapshot> = {}): void {
    const from = this.#snapshot.state;
    if (from !== next && !legalMoves[from].includes(next)) throw new Error(`illegal flow move ${from} → ${next}`);
    this.#snapshot = { ...this.#snapshot, ...patch, state: next };
    this.emit('state', this.snapshot);
  }

  #patch(patch: Partial<FlowSnapshot>): void {
    this.#snapshot = { ...this.#snapshot, ...patch };
    this.emit('state', this.snapshot);
  }
}

function describe(err: unknown): { code: string; message: string } {
  if (err instanceof DesktopError) return { code: err.code, message: err.message };
  return { code: 'UNEXPECTED', message: (err as Error).message ?? String(err) };
}

/** A path in `dir` for `name` that nothing occupies yet: name.ext, name (1).ext, … */
async function freePath(dir: string, name: string): Promise<string> {
  const ext = extname(name);
  const stem = name.slice(0, name.length - ext.length);
  for (let n = 0; n < 1000; n++) {
    const candidate = join(dir, n === 0 ? name : `${stem} (${n})${ext}`);
    try {
      const handle = await open(candidate, 'wx');
      await handle.close();
      await unlink(candidate);
      return candidate;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    }
  }
  throw new DesktopError('SERVER_REFUSED', `There are already 1000 files named like ${name} in ${dir}`);
}
