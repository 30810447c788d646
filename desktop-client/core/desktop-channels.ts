// The desktop legs of one help request, one per channel that may connect: the
// main channel (key: the ticket id) from the user's consent on, while the
// ticket says it is the holder's (`mainChannel`), and each connected
// participant's channel (participant-legs.ts). Each leg re-arms on its own per
// closeCodeNext; what the main leg's end means for the whole flow (the session
// ends, in words, and the server is told — unless others carry it on) is
// decided here and carried out through the flow's hooks.
import { ignoreCodes } from '../../lib/expected.ts';
import { closeCodeId } from '../../protocol/close-codes.ts';
import type { TicketStatus } from '../../protocol/tickets.ts';
import type { HelpRequestView } from '../../protocol/desktop-api.ts';
import type { DesktopParticipantView } from '../../protocol/participants.ts';
import { DesktopError } from './errors.ts';
import { ParticipantLegs } from './participant-legs.ts';
import type { DesktopApi } from './api-client.ts';
import { ChannelLeg, type LegHost } from './channel-leg.ts';
import type { HelpSessionConfig } from './help-session.ts';
import { REARM_DELAY_MS, closeCodeNext, describe, type FlowSnapshot, type FlowState, type LegTunnel } from './flow.ts';
import type { Transport } from './transport.ts';
import type { TunnelClosed, TunnelOptions } from './tunnel.ts';

/** What the channels need of the flow that owns them. */
export interface ChannelsFlow {
  readonly snapshot: FlowSnapshot;
  readonly ticketStatus: TicketStatus | null;
  move(next: FlowState, patch?: Partial<FlowSnapshot>): void;
  patch(patch: Partial<FlowSnapshot>): void;
  finish(reason: string, error?: FlowSnapshot['error']): void;
  /** Adds a closing tunnel to what settled() waits for. */
  track(closing: Promise<void>): void;
}

export interface ChannelsDeps {
  config: HelpSessionConfig;
  transport: Transport;
  api: DesktopApi;
  openTunnel: (options: TunnelOptions) => LegTunnel;
}

export class DesktopChannels {
  /** x11vnc's -clip for the chosen monitor (every channel shares the same screen). */
  clip: string | null = null;
  #main: ChannelLeg | null = null;
  /** The ticket's latest word on its main channel: false once the holder has a channel of their own. */
  #mainChannel = true;
  readonly #participants: ParticipantLegs;
  /** Failures of participants' legs (each ends that leg only), newest last: diagnostics. */
  readonly problems: { technicianId: number; code: string; message: string }[] = [];
  private readonly flow: ChannelsFlow;
  private readonly deps: ChannelsDeps;

  constructor(flow: ChannelsFlow, deps: ChannelsDeps) {
    this.flow = flow;
    this.deps = deps;
    this.#participants = new ParticipantLegs({
      newLeg: (p) => this.#newLeg(p.channel, p.mode === 'view', () => this.deps.api.participantDesktopToken(p.technicianId)),
      active: () => this.#active(),
      problem: (p, error) => {
        if (error) this.problems.push({ technicianId: p.technicianId, ...error });
      },
    });
  }

  /** The main channel's running x11vnc's pid, if any. */
  get x11vncPid(): number | null {
    return this.#main?.x11vncPid ?? null;
  }

  /** A channel's running x11vnc ("42" the main one, "42.p7" a participant's). */
  x11vncPidOf(channel: string): number | null {
    return channel === this.#main?.key ? this.#main.x11vncPid : this.#participants.x11vncPidOf(channel);
  }

  /** The legs now: each channel, whether view-only, whether its tunnel is up. */
  get legs(): { channel: string; viewOnly: boolean; up: boolean }[] {
    const main = this.#main ? [{ channel: this.#main.key, viewOnly: this.#main.viewOnly, up: this.#main.up }] : [];
    return [...main, ...this.#participants.channels];
  }

  /** The ticket changed: the main channel closes for good once it is no longer the holder's; participants' legs follow the list. */
  onTicket(view: Pick<HelpRequestView, 'mainChannel' | 'participants'>): void {
    this.#mainChannel = view.mainChannel;
    if (!view.mainChannel && this.#main) this.#closeMain();
    this.#participants.reconcile(view.participants);
  }

  /** Whether the session may carry desktop legs: the user allowed, the ticket is open. */
  #active(): boolean {
    const state = this.flow.snapshot.state;
    const status = this.flow.ticketStatus;
    return (state === 'approved' || state === 'connecting' || state === 'waiting_for_viewer' || state === 'in_session') && (status === 'approved' || status === 'in_session');
  }

  /** The main leg closes while others carry the session on (a hand-over, a promotion): no words, no end. */
  #closeMain(): void {
    this.#main?.close();
    this.#main = null;
    const state = this.flow.snapshot.state;
    if ((state === 'connecting' || state === 'waiting_for_viewer') && this.#participants.anyConnected) this.flow.move('in_session');
  }

  /** Someone else (a connected participant) carries the session when the main channel goes. */
  #othersCarryOn(participants: readonly DesktopParticipantView[] = this.flow.snapshot.participants): boolean {
    return !this.#mainChannel || participants.some((p) => p.state === 'connected');
  }

  /** The user allowed the holder: the main channel's leg opens (`connecting` → `waiting_for_viewer`). */
  async openMain(ticketId: number, viewOnly: boolean): Promise<void> {
    this.#main?.close();
    const leg = this.#newLeg(String(ticketId), viewOnly, () => this.deps.api.desktopToken());
    this.#main = leg;
    leg.on('trouble', (error) => this.flow.patch({ error }));
    leg.on('dropped', (closed) => this.#mainOnDropped(closed));
    await this.#armMain();
  }

  /** Every leg closes (the session ended, or the request went back to the queue). */
  closeAll(): void {
    this.#main?.close();
    this.#main = null;
    this.#participants.closeAll();
  }

  #newLeg(key: string, viewOnly: boolean, token: () => Promise<{ url: string }>): ChannelLeg {
    const { config, transport } = this.deps;
    const host: LegHost = {
      token,
      options: (url) => ({
        url,
        display: config.display,
        viewOnly,
        x11vncBinary: config.x11vncPath,
        source: config.source ?? { kind: 'x11vnc' },
        clip: this.clip,
        wsOptions: transport.wsOptions(url),
      }),
      openTunnel: (options) => this.deps.openTunnel(options),
      track: (closing) => this.flow.track(closing),
    };
    return new ChannelLeg(host, key, viewOnly);
  }

  /** Arms the main channel's leg; a failure not worth a retry ends the session, and the server is told. */
  async #armMain(): Promise<void> {
    const leg = this.#main;
    if (!leg) return;
    this.flow.move('connecting');
    try {
      await leg.arm();
      if (this.#main !== leg || leg.closed) return;
      if (this.flow.snapshot.state === 'connecting') this.flow.move('waiting_for_viewer');
      if (this.flow.snapshot.error) this.flow.patch({ error: null });
    } catch (err) {
      if (this.#main !== leg || this.flow.snapshot.state !== 'connecting') return; // stopped or ended meanwhile
      // The server no longer gives the main channel a token (the holder moved to a channel of their own): others carry on.
      if (err instanceof DesktopError && err.code === 'SERVER_REFUSED' && this.#othersCarryOn()) return this.#closeMain();
      const error = describe(err);
      // Ended here first (with its words), then the server is told; a late
      // ticket event cannot replace the reason.
      this.flow.finish(error.code, error);
      // Over here whatever the server says: it may be unreachable now, or have ended the ticket already.
      await this.deps.api.end().catch(ignoreCodes('SERVER_UNREACHABLE', 'SERVER_REFUSED'));
    }
  }

  #mainOnDropped(closed: TunnelClosed): void {
    if (this.flow.snapshot.state === 'ended') return;
    if (closed.error) {
      void this.deps.api.end().catch(ignoreCodes('SERVER_UNREACHABLE', 'SERVER_REFUSED'));
      return this.flow.finish(closed.error.code, describe(closed.error));
    }
    // A code the repeater does not own (1000, 1006: a dropped connection) is a lost desktop leg.
    const reason = closeCodeId(closed.code) ?? 'DESKTOP_LOST';
    const status = this.flow.ticketStatus;
    if (status === 'requested') return; // back in the queue: the flow has moved on
    const connectable = status === 'approved' || status === 'in_session' || status === null;
    // Handed over, or ended while participants carry the session on: this leg only (the ticket's own end follows on the stream).
    const handingOver = reason === 'HANDED_OVER' && this.flow.snapshot.participants.some((p) => p.kind === 'transfer' && (p.state === 'waiting_user' || p.state === 'connected'));
    if (handingOver || (closeCodeNext[reason] === 'end' && reason !== 'ENDED_BY_USER' && this.#othersCarryOn())) return this.#closeMain();
    if (!this.#mainChannel) return this.#closeMain();
    if (closeCodeNext[reason] === 'rearm' && connectable) {
      this.flow.move('connecting');
      this.#main?.rearmIn(REARM_DELAY_MS, () => {
        if (this.flow.snapshot.state === 'connecting') void this.#armMain();
      });
      return;
    }
    // Every other case ends here, in words (the ticket's own end may follow on the stream).
    this.flow.finish(reason);
  }
}
