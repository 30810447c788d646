// Joins a repeater to the rest of the server. The embedded repeater's events
// are numbered per session, as a node's link numbers them, and applied
// through the same path as the nodes' (session-events.ts), one session's in
// order (BackgroundWork, which shutdown waits for). And a ticket that leaves
// the connectable states takes its live legs with it: the embedded repeater
// ends them on every server (each holds its own legs); repeater nodes are told
// once per deployment, by the server where the change happened (commands go
// through the database to whichever server holds each node's stream).
import type { EventEmitter } from 'node:events';
import type { CloseCodeId } from '../../protocol/close-codes.ts';
import type { RepeaterEvents } from '../../repeater/contract.ts';
import { SessionNumbers } from '../../repeater/session-numbers.ts';
import { forwardSessionEvents } from '../../repeater/wire-events.ts';
import type { EventBus } from '../events/event-bus.ts';
import type { BackgroundWork } from '../events/background.ts';
import { connectableStatuses } from '../tickets/state-machine.ts';
import type { SessionEvents } from './session-events.ts';

/** Which close code a ticket change imposes on live legs, by the action that caused it. */
const closeReasonFor: Readonly<Record<string, CloseCodeId>> = {
  cancel: 'ENDED_BY_USER',
  release: 'ENDED_BY_TECHNICIAN',
  requeue: 'ENDED_BY_SERVER',
};

/** The embedded repeater's events into the shared path; returns the function that stops. */
export function bridgeEmbeddedRepeater(deps: { repeater: EventEmitter<RepeaterEvents>; events: SessionEvents; work: BackgroundWork; server: string }): () => void {
  const numbers = new SessionNumbers();
  const source = { node: null, instance: deps.server };
  return forwardSessionEvents(
    deps.repeater,
    (e) => {
      const event = numbers.number(e);
      deps.work.run(`session:${e.sessionId}`, `repeater event ${e.type}`, async () => void (await deps.events.receive(source, event)));
    },
    { recordingClosed: true },
  );
}

/**
 * Ends a ticket's live legs when it leaves the connectable states — its main
 * channel and every participant's (`channelsOf`, issue 26) — and one channel
 * when a change to its participants says so (`session.channel_end`: the user
 * stopped someone, a hand-over); returns the function that stops.
 */
export function endLegsWhenTicketsClose(
  bus: EventBus,
  endTicket: (channel: string, reason: CloseCodeId) => void,
  options: { localOnly: boolean; channelsOf?: (ticketId: number) => Promise<string[]>; onError?: (err: unknown) => void },
): () => void {
  const stops = [
    bus.subscribe(
      'ticket.changed',
      ({ ticket, action, previousStatus }) => {
        if (!previousStatus || !connectableStatuses.includes(previousStatus) || connectableStatuses.includes(ticket.status)) return;
        const reason = ticket.endReason === 'HANDED_OVER' ? 'HANDED_OVER' : (closeReasonFor[action] ?? (ticket.endReason as CloseCodeId | null) ?? 'ENDED_BY_SERVER');
        endTicket(String(ticket.id), reason);
        options.channelsOf?.(ticket.id).then(
          (channels) => channels.forEach((c) => endTicket(c, reason)),
          (err: unknown) => options.onError?.(err),
        );
      },
      { localOnly: options.localOnly },
    ),
    bus.subscribe('session.channel_end', ({ channel, reason }) => endTicket(channel, reason), { localOnly: options.localOnly }),
  ];
  return () => stops.forEach((stop) => stop());
}
