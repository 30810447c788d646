// The server's side of repeater processes (external mode): it turns what each
// node reports over /internal/v1/repeater into the same typed events the
// embedded repeater emits, so one bridge serves both; it keeps each node's
// command stream to end tickets there; and it knows what each node holds, so a
// node that stays away longer than lostAfterMs has its sessions ended
// (REPEATER_LOST) instead of leaving tickets "in session" with nobody there.
import { EventEmitter } from 'node:events';
import type { CloseCodeId } from '../../protocol/close-codes.ts';
import type { CommandStreamEvents, EndCommand, LegSide, WireEvent } from '../../protocol/repeater.ts';
import type { RepeaterEvents } from '../../repeater/contract.ts';
import type { Logger } from '../../lib/logger.ts';
import type { SseChannel } from '../events/sse.ts';

interface NodeState {
  name: string;
  channel: SseChannel<CommandStreamEvents> | null;
  /** Paired sessions on this node: ticket → start (ms). */
  sessions: Map<string, number>;
  /** Last reported byte counts of its live sessions. */
  bytes: Map<string, { bytesDesktopToViewer: number; bytesViewerToDesktop: number }>;
  /** Waiting legs on this node: ticket → sides, with when they started waiting. */
  waiting: Map<string, Map<LegSide, number>>;
  lostTimer: NodeJS.Timeout | null;
}

export interface NodeSummary {
  name: string;
  connected: boolean;
  sessions: number;
  waitingLegs: number;
}

export class RemoteRepeaters extends EventEmitter<RepeaterEvents> {
  readonly #nodes = new Map<string, NodeState>();
  readonly #log: Logger;
  #closed = false;

  private readonly lostAfterMs: number;

  constructor(
    lostAfterMs: number,
    logger: Logger,
  ) {
    super();
    this.lostAfterMs = lostAfterMs;
    this.#log = logger.child({ component: 'remote-repeaters' });
  }

  /** A node's ordered events. */
  receive(nodeName: string, events: readonly WireEvent[]): void {
    const node = this.#node(nodeName);
    for (const e of events) {
      switch (e.type) {
        case 'legWaiting':
          this.#waitingOf(node, e.ticketId).set(e.side, e.at);
          this.emit('legWaiting', { ticketId: e.ticketId, side: e.side, remoteAddress: e.remoteAddress, at: new Date(e.at) });
          break;
        case 'paired':
          node.waiting.delete(e.ticketId);
          node.sessions.set(e.ticketId, e.at);
          this.emit('paired', {
            ticketId: e.ticketId,
            desktopAddress: e.desktopAddress,
            viewerAddress: e.viewerAddress,
            at: new Date(e.at),
            sessionId: e.sessionId,
            recording: e.recording,
            node: nodeName,
          });
          break;
        case 'recordingClosed': {
          const { type: _type, ...result } = e;
          this.emit('recordingClosed', result);
          break;
        }
        case 'progress':
          for (const p of e.sessions) if (node.sessions.has(p.ticketId)) node.bytes.set(p.ticketId, { bytesDesktopToViewer: p.bytesDesktopToViewer, bytesViewerToDesktop: p.bytesViewerToDesktop });
          this.emit('progress', { sessions: e.sessions });
          break;
        case 'ended':
          node.sessions.delete(e.ticketId);
          node.bytes.delete(e.ticketId);
          this.emit('ended', { ...e, startedAt: new Date(e.startedAt), endedAt: new Date(e.endedAt) });
          break;
        case 'legClosed':
          node.waiting.get(e.ticketId)?.delete(e.side);
          if (node.waiting.get(e.ticketId)?.size === 0) node.waiting.delete(e.ticketId);
          this.emit('legClosed', { ticketId: e.ticketId, side: e.side, reason: e.reason, waitedMs: e.waitedMs });
          break;
        case 'sync': {
          // What the node no longer holds ended while nobody heard it (a restart of the node).
          const live = new Set(e.sessions.map((s) => s.ticketId));
          const waiting = new Set(e.waiting.map((w) => `${w.ticketId}/${w.side}`));
          this.#endHoldings(node, 'REPEATER_LOST', (ticketId) => !live.has(ticketId), (ticketId, side) => !waiting.has(`${ticketId}/${side}`));
          for (const s of e.sessions) node.sessions.set(s.ticketId, s.startedAt);
          for (const w of e.waiting) if (!node.waiting.get(w.ticketId)?.has(w.side)) this.#waitingOf(node, w.ticketId).set(w.side, Date.now());
          break;
        }
      }
    }
  }

  /** A node's command stream opened; returns what to run when it closes. */
  attach(nodeName: string, channel: SseChannel<CommandStreamEvents>): () => void {
    const node = this.#node(nodeName);
    if (node.lostTimer) clearTimeout(node.lostTimer);
    node.lostTimer = null;
    node.channel = channel;
    this.#log.info({ node: nodeName }, 'repeater node connected');
    return () => {
      if (node.channel !== channel) return; // replaced by a newer stream of the same node
      node.channel = null;
      if (this.#closed) return;
      this.#log.warn({ node: nodeName, sessions: node.sessions.size }, 'repeater node disconnected');
      node.lostTimer = setTimeout(() => {
        node.lostTimer = null;
        if (node.channel) return;
        this.#log.warn({ node: nodeName, sessions: node.sessions.size }, 'repeater node lost: ending what it held');
        this.#endHoldings(node, 'REPEATER_LOST', () => true, () => true);
      }, this.lostAfterMs);
      node.lostTimer.unref();
    };
  }

  /** Tells every connected node to end a ticket's legs (a node that has none ignores it). */
  endTicket(ticketId: string, reason: CloseCodeId): boolean {
    const command: EndCommand = { ticketId, reason };
    let held = false;
    for (const node of this.#nodes.values()) {
      if (node.sessions.has(ticketId) || node.waiting.has(ticketId)) held = true;
      node.channel?.send('end', command);
    }
    return held;
  }

  legState(ticketId: string, side: LegSide): 'waiting' | 'paired' | null {
    for (const node of this.#nodes.values()) {
      if (node.sessions.has(ticketId)) return 'paired';
      if (node.waiting.get(ticketId)?.has(side)) return 'waiting';
    }
    return null;
  }

  nodes(): NodeSummary[] {
    return [...this.#nodes.values()].map((n) => ({
      name: n.name,
      connected: n.channel !== null,
      sessions: n.sessions.size,
      waitingLegs: [...n.waiting.values()].reduce((sum, sides) => sum + sides.size, 0),
    }));
  }

  close(): void {
    this.#closed = true;
    for (const node of this.#nodes.values()) if (node.lostTimer) clearTimeout(node.lostTimer);
  }

  #node(name: string): NodeState {
    let node = this.#nodes.get(name);
    if (!node) {
      node = { name, channel: null, sessions: new Map(), bytes: new Map(), waiting: new Map(), lostTimer: null };
      this.#nodes.set(name, node);
    }
    return node;
  }

  #waitingOf(node: NodeState, ticketId: string): Map<LegSide, number> {
    let sides = node.waiting.get(ticketId);
    if (!sides) {
      sides = new Map();
      node.waiting.set(ticketId, sides);
    }
    return sides;
  }

  #endHoldings(node: NodeState, reason: CloseCodeId, sessionGone: (ticketId: string) => boolean, legGone: (ticketId: string, side: LegSide) => boolean): void {
    const now = Date.now();
    for (const [ticketId, startedAt] of [...node.sessions]) {
      if (!sessionGone(ticketId)) continue;
      node.sessions.delete(ticketId);
      const bytes = node.bytes.get(ticketId);
      node.bytes.delete(ticketId);
      this.emit('ended', {
        ticketId,
        reason,
        endedBy: null,
        // As last reported (every REPEATER_PROGRESS_INTERVAL_MS): the node could not say more.
        bytesDesktopToViewer: bytes?.bytesDesktopToViewer ?? 0,
        bytesViewerToDesktop: bytes?.bytesViewerToDesktop ?? 0,
        startedAt: new Date(startedAt),
        endedAt: new Date(now),
        durationMs: now - startedAt,
      });
    }
    for (const [ticketId, sides] of [...node.waiting]) {
      for (const [side, since] of [...sides]) {
        if (!legGone(ticketId, side)) continue;
        sides.delete(side);
        this.emit('legClosed', { ticketId, side, reason, waitedMs: now - since });
      }
      if (sides.size === 0) node.waiting.delete(ticketId);
    }
  }
}
