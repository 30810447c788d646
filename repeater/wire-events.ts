// The repeater's typed events as the link carries them (protocol/repeater.ts
// SessionEvent): one mapping for a repeater process's link (main.ts) and for
// the server's embedded repeater, so both report the same thing. A progress
// report becomes one event per live session.
import type { EventEmitter } from 'node:events';
import type { SessionEvent } from '../protocol/repeater.ts';
import type { RepeaterEvents } from './contract.ts';

/** Sends every event `repeater` emits through `send`, as session events; returns the function that stops. */
export function forwardSessionEvents(repeater: EventEmitter<RepeaterEvents>, send: (event: SessionEvent) => void, options: { recordingClosed: boolean }): () => void {
  const listeners: { [K in keyof RepeaterEvents]?: (...args: RepeaterEvents[K]) => void } = {
    legWaiting: (e) => send({ type: 'legWaiting', sessionId: e.sessionId, ticketId: e.ticketId, side: e.side, remoteAddress: e.remoteAddress, at: e.at.getTime() }),
    paired: (e) =>
      send({ type: 'paired', sessionId: e.sessionId, ticketId: e.ticketId, desktopAddress: e.desktopAddress, viewerAddress: e.viewerAddress, at: e.at.getTime(), recording: e.recording }),
    ended: (e) => send({ ...e, type: 'ended', startedAt: e.startedAt.getTime(), endedAt: e.endedAt.getTime() }),
    legClosed: (e) => send({ type: 'legClosed', sessionId: e.sessionId, ticketId: e.ticketId, side: e.side, reason: e.reason, waitedMs: e.waitedMs }),
    progress: (e) => {
      for (const s of e.sessions) send({ type: 'progress', ...s });
    },
    ...(options.recordingClosed ? { recordingClosed: (e: RepeaterEvents['recordingClosed'][0]) => send({ ...e, type: 'recordingClosed' }) } : {}),
  };
  for (const [name, listener] of Object.entries(listeners)) repeater.on(name as keyof RepeaterEvents, listener as never);
  return () => {
    for (const [name, listener] of Object.entries(listeners)) repeater.off(name as keyof RepeaterEvents, listener as never);
  };
}
