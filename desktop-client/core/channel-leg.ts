// One desktop leg of one channel (the ticket's main channel, or a participant's
// "42.p7"): a fresh desktop token, then a tunnel (its own x11vnc, or its own
// connection to the local VNC server), opened again with backoff while the
// server or repeater is away. What a close means (re-arm or end) is its
// owner's decision; the leg reports it and re-arms when told. Used once: a
// closed leg stays closed, its owner makes a new one.
import { EventEmitter } from 'node:events';
import { REARM_WINDOW_MS, describe, transient, type LegTunnel } from './flow.ts';
import type { TunnelClosed, TunnelOptions } from './tunnel.ts';

export interface LegHost {
  /** A desktop token for this channel (POST …/desktop-token, or the participant's). */
  token(): Promise<{ url: string }>;
  /** The tunnel's options for a token URL (read when it opens: the mode may have changed). */
  options(url: string): TunnelOptions;
  openTunnel(options: TunnelOptions): LegTunnel;
  /** Adds a closing tunnel to what the session's settled() waits for. */
  track(closing: Promise<void>): void;
}

export interface ChannelLegEvents {
  /** A failure worth another try: the leg tries again (with backoff, for up to REARM_WINDOW_MS). */
  trouble: [{ code: string; message: string }];
  /** The tunnel closed by itself (the repeater's code, or a local failure with `error`). */
  dropped: [TunnelClosed];
}

export class ChannelLeg extends EventEmitter<ChannelLegEvents> {
  readonly key: string;
  readonly viewOnly: boolean;
  #tunnel: LegTunnel | null = null;
  #closed = false;
  #timer: NodeJS.Timeout | null = null;
  #wake: (() => void) | null = null;
  private readonly host: LegHost;

  constructor(host: LegHost, key: string, viewOnly: boolean) {
    super();
    this.host = host;
    this.key = key;
    this.viewOnly = viewOnly;
  }

  get closed(): boolean {
    return this.#closed;
  }

  /** The running x11vnc's pid, if any. */
  get x11vncPid(): number | null {
    return this.#tunnel?.x11vncPid ?? null;
  }

  /** Whether a tunnel is up (open or opening). */
  get up(): boolean {
    return this.#tunnel !== null;
  }

  /**
   * Opens a fresh tunnel: new desktop token, new x11vnc. While the server or
   * its repeater cannot be reached (a restart, a deploy), it tries again with
   * backoff for up to REARM_WINDOW_MS. Resolves true once open, false when the
   * leg was closed meanwhile; rejects with a failure that is not worth a retry.
   */
  async arm(): Promise<boolean> {
    const giveUpAt = Date.now() + REARM_WINDOW_MS;
    for (let attempt = 0; ; attempt++) {
      try {
        return await this.#open();
      } catch (err) {
        if (this.#closed) return false;
        if (!transient(err) || Date.now() >= giveUpAt) throw err;
        this.emit('trouble', describe(err));
        await this.#pause(Math.min(5_000, 250 * 2 ** attempt));
        if (this.#closed) return false;
      }
    }
  }

  /** Calls `then` after `ms` unless the leg is closed first. */
  rearmIn(ms: number, then: () => void): void {
    this.#clearTimer();
    this.#timer = setTimeout(() => {
      this.#timer = null;
      if (!this.#closed) then();
    }, ms);
  }

  /** Stops this leg for good: its timer, its tunnel and x11vnc (tracked by the host). */
  close(): void {
    this.#closed = true;
    this.#clearTimer();
    const tunnel = this.#tunnel;
    this.#tunnel = null;
    if (tunnel) this.host.track(tunnel.close());
  }

  async #open(): Promise<boolean> {
    const { url } = await this.host.token();
    if (this.#closed) return false;
    const tunnel = this.host.openTunnel(this.host.options(url));
    this.#tunnel = tunnel;
    tunnel.once('closed', (closed) => this.#tunnelOnClosed(tunnel, closed));
    try {
      await tunnel.open();
    } catch (err) {
      if (this.#tunnel === tunnel) this.#tunnel = null;
      throw err;
    }
    return true;
  }

  #tunnelOnClosed(tunnel: LegTunnel, closed: TunnelClosed): void {
    // Whatever happens next, this tunnel's x11vnc must be gone before the session settles.
    this.host.track(tunnel.close());
    if (this.#tunnel !== tunnel || this.#closed) return;
    this.#tunnel = null;
    this.emit('dropped', closed);
  }

  #pause(ms: number): Promise<void> {
    return new Promise((resolve) => {
      this.#wake = resolve;
      this.#timer = setTimeout(() => {
        this.#timer = null;
        this.#wake = null;
        resolve();
      }, ms);
    });
  }

  #clearTimer(): void {
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = null;
    const wake = this.#wake;
    this.#wake = null;
    wake?.();
  }
}
