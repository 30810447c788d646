// One desktop leg per connected participant (issue 26): its own channel
// ("42.p7"), its own desktop token, its own x11vnc (-viewonly for a watcher)
// or its own connection to the local VNC server (a watcher's input dropped
// here). The ticket's view says who is connected; each view is reconciled
// against the legs: a newcomer's leg opens, a leg whose participant left, was
// stopped or refused closes, a mode change (view → control) re-opens the leg
// in its new mode. Each leg re-arms on its own per closeCodeNext; nothing here
// ever ends the whole session.
import { closeCodeId } from '../../protocol/close-codes.ts';
import type { DesktopParticipantView } from '../../protocol/participants.ts';
import type { ChannelLeg } from './channel-leg.ts';
import { REARM_DELAY_MS, closeCodeNext } from './flow.ts';
import type { TunnelClosed } from './tunnel.ts';

interface Held {
  leg: ChannelLeg;
  technicianId: number;
}

export interface ParticipantLegsDeps {
  /** A new leg for a participant's channel (not armed yet). */
  newLeg(participant: DesktopParticipantView): ChannelLeg;
  /** Whether the session may carry desktop legs now (the user allowed, the ticket is open). */
  active(): boolean;
  /** Something went wrong on one participant's leg (said to the user; the session goes on). */
  problem(participant: DesktopParticipantView, error: { code: string; message: string } | null, reason: string): void;
}

export class ParticipantLegs {
  readonly #legs = new Map<string, Held>();
  /** Channels whose leg ended for good in a mode (an end code, a refusal): not opened again until the mode changes. */
  readonly #ended = new Map<string, boolean>();
  /** The latest view's connected participants, by channel. */
  #wanted = new Map<string, DesktopParticipantView>();
  private readonly deps: ParticipantLegsDeps;

  constructor(deps: ParticipantLegsDeps) {
    this.deps = deps;
  }

  /** Whether any participant is connected in the latest view. */
  get anyConnected(): boolean {
    return this.#wanted.size > 0;
  }

  /** The running x11vnc of a channel's leg (tests, diagnostics). */
  x11vncPidOf(channel: string): number | null {
    return this.#legs.get(channel)?.leg.x11vncPid ?? null;
  }

  /** The channels with a leg now, and whether each is view-only. */
  get channels(): { channel: string; viewOnly: boolean; up: boolean }[] {
    return [...this.#legs.entries()].map(([channel, held]) => ({ channel, viewOnly: held.leg.viewOnly, up: held.leg.up }));
  }

  /** Brings the legs in line with the latest view's participants. */
  reconcile(participants: readonly DesktopParticipantView[]): void {
    const active = this.deps.active();
    this.#wanted = new Map(participants.filter((p) => p.state === 'connected').map((p) => [p.channel, p]));
    for (const [channel, held] of [...this.#legs]) {
      const want = this.#wanted.get(channel);
      if (!active || !want || (want.mode === 'view') !== held.leg.viewOnly) this.#drop(channel);
    }
    for (const [channel, ended] of [...this.#ended]) {
      const want = this.#wanted.get(channel);
      if (!want || (want.mode === 'view') !== ended) this.#ended.delete(channel);
    }
    if (!active) return;
    for (const [channel, p] of this.#wanted) {
      if (this.#legs.has(channel) || this.#ended.has(channel)) continue;
      this.#open(p);
    }
  }

  /** Every participant's leg closes (the session ended, or went back to the queue). */
  closeAll(): void {
    for (const channel of [...this.#legs.keys()]) this.#drop(channel);
    this.#ended.clear();
    this.#wanted.clear();
  }

  #open(p: DesktopParticipantView): void {
    const leg = this.deps.newLeg(p);
    this.#legs.set(p.channel, { leg, technicianId: p.technicianId });
    leg.on('dropped', (closed) => this.#legOnDropped(p, leg, closed));
    void this.#arm(p, leg);
  }

  async #arm(p: DesktopParticipantView, leg: ChannelLeg): Promise<void> {
    try {
      await leg.arm();
    } catch (err) {
      if (leg.closed || this.#legs.get(p.channel)?.leg !== leg) return;
      // Refused (the participant left meanwhile, the server said no) or failed here: this leg only.
      this.#endFor(p, leg);
      const error = err as { code?: string; message?: string };
      this.deps.problem(p, { code: error.code ?? 'UNEXPECTED', message: error.message ?? String(err) }, error.code ?? 'UNEXPECTED');
    }
  }

  #legOnDropped(p: DesktopParticipantView, leg: ChannelLeg, closed: TunnelClosed): void {
    if (this.#legs.get(p.channel)?.leg !== leg) return;
    if (closed.error) {
      this.#endFor(p, leg);
      this.deps.problem(p, { code: closed.error.code, message: closed.error.message }, closed.error.code);
      return;
    }
    // A code the repeater does not own (1000, 1006: a dropped connection) is a lost desktop leg.
    const reason = closeCodeId(closed.code) ?? 'DESKTOP_LOST';
    if (closeCodeNext[reason] === 'rearm' && this.deps.active() && this.#wanted.has(p.channel)) {
      leg.rearmIn(REARM_DELAY_MS, () => {
        if (this.#legs.get(p.channel)?.leg === leg && this.deps.active()) void this.#arm(p, leg);
      });
      return;
    }
    this.#endFor(p, leg);
  }

  /** This channel's leg is over in its mode: closed, and not opened again until the participant's mode changes. */
  #endFor(p: DesktopParticipantView, leg: ChannelLeg): void {
    this.#ended.set(p.channel, leg.viewOnly);
    this.#drop(p.channel);
  }

  #drop(channel: string): void {
    const held = this.#legs.get(channel);
    if (!held) return;
    this.#legs.delete(channel);
    held.leg.close();
  }
}
