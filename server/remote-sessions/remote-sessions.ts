// Remote sessions as every server sees them: one truth in the database (see
// ARCHITECTURE.md, "One truth for nodes and sessions"). Assembles the pieces —
// events applied per session in order (session-events.ts), the claims on node
// names (node-claims.ts), commands to nodes (command-streams.ts), sessions
// nobody will end (lost-sessions.ts), the embedded repeater's bridge
// (bridge.ts) — and runs the rounds: the lost nodes' sessions ended, event
// gaps given up on, old marks and commands forgotten (one server per round).
import { randomUUID } from 'node:crypto';
import type { Knex } from 'knex';
import type { LegSide } from '../../protocol/repeater.ts';
import type { Logger } from '../../lib/logger.ts';
import type { Repeater } from '../../repeater/repeater.ts';
import type { Clock } from '../clock.ts';
import type { EventBus } from '../events/event-bus.ts';
import type { BackgroundWork } from '../events/background.ts';
import type { RecordingService } from '../recordings/service.ts';
import type { TicketService } from '../tickets/service.ts';
import { bridgeEmbeddedRepeater, endLegsWhenTicketsClose } from './bridge.ts';
import { CommandStreams } from './command-streams.ts';
import { createLostSessions } from './lost-sessions.ts';
import { createNodeClaims } from './node-claims.ts';
import { createSessionEvents } from './session-events.ts';
import { remoteSessionStore } from './store.ts';
import { participantStore } from '../participants/store.ts';
import { channelKey } from '../../protocol/participants.ts';

export type RemoteSessions = ReturnType<typeof startRemoteSessions>;

export interface RemoteSessionsDeps {
  db: Knex;
  clock: Clock;
  bus: EventBus;
  logger: Logger;
  tickets: TicketService;
  recordings: RecordingService | null;
  work: BackgroundWork;
  /** RECORDINGS_DIR: where a node sharing the directory leaves the files it closes (recording-senders.ts). */
  recordingsDir?: string | null;
  /** The embedded repeater, or null (repeater processes only). */
  embedded: Repeater | null;
  /** Repeater processes are linked (REPEATER_SECRET): node claims, their leases, commands. */
  nodes: {
    /** REPEATER_LOST_AFTER_MS: a node process's lease (at least 1 s); not renewed that long, its sessions end. */
    lostAfterMs: number;
    /** REPEATER_EVENT_GAP_MS: how long an event waits for its predecessor. */
    gapMs: number;
  } | null;
}

/** How often a server looks for commands written by another for the node streams it holds. */
const COMMAND_POLL_MS = 250;

export function startRemoteSessions(deps: RemoteSessionsDeps) {
  const { db, clock, bus, logger, work } = deps;
  const log = logger.child({ component: 'remote-sessions' });
  // This server's name in the claims (the stream it holds) and on the embedded repeater's rows.
  const server = randomUUID();
  const gapMs = deps.nodes?.gapMs ?? 30_000;
  const events = createSessionEvents({ db, clock, bus, logger, tickets: deps.tickets, gapMs, recordingsDir: deps.recordingsDir ?? null });
  const leaseMs = Math.max(1_000, deps.nodes?.lostAfterMs ?? 0);
  const claims = deps.nodes ? createNodeClaims({ db, clock, logger, leaseMs }) : null;
  const commands = claims ? new CommandStreams({ db, clock, claims, server, logger, pollMs: COMMAND_POLL_MS }) : null;
  const lost = createLostSessions({ db, clock, bus, logger, recordings: deps.recordings, commands });
  const stops: (() => void)[] = [];
  // A ticket's participant channels ("42.p7", issue 26) close with it.
  const channelsOf = async (ticketId: number) => (await participantStore.ids(db, ticketId)).map((id) => channelKey(ticketId, id));
  const onError = (err: unknown) => log.error({ err }, 'a closed ticket\'s participant channels could not be read');
  const { embedded } = deps;
  if (embedded) {
    stops.push(bridgeEmbeddedRepeater({ repeater: embedded, events, work, server }));
    stops.push(endLegsWhenTicketsClose(bus, (id, reason) => void embedded.endTicket(id, reason), { localOnly: false, channelsOf, onError }));
  }
  if (commands) {
    const tell = (id: string, reason: Parameters<CommandStreams['endTicket']>[1]): void => work.run(`commands:${id}`, 'ending a ticket\'s legs on the repeater nodes', () => commands.endTicket(id, reason));
    stops.push(endLegsWhenTicketsClose(bus, tell, { localOnly: true, channelsOf, onError }));
  }

  // The rounds: often enough that a lost node's sessions end within about a lease past its last heartbeat.
  const everyMs = Math.max(250, Math.floor(Math.min(leaseMs, gapMs) / 4));
  let rounds = 0;
  const timer = deps.nodes
    ? setInterval(() => {
        void (async () => {
          if (!(await bus.tryLock('reap', Math.max(200, everyMs - 50)))) return;
          await lost.reapLostNodes();
          await events.sweepGaps();
          if (++rounds % 600 === 0) await Promise.all([events.purge(), commands?.purge()]);
        })().catch((err: unknown) => log.error({ err }, 'a round of the remote sessions\' upkeep failed'));
      }, everyMs)
    : null;
  timer?.unref();

  // The embedded repeater's claim (its rows name this server's instance): as long as a node's, or 30 s without nodes.
  const serverLeaseMs = deps.nodes ? leaseMs : 30_000;
  let serverTimer: NodeJS.Timeout | null = null;

  const legStates = (ticketIds: readonly number[], side: LegSide, participantId: number | null = null) => remoteSessionStore.legStates(db, ticketIds, side, participantId);
  return {
    log,
    events,
    claims,
    commands,
    lost,
    /** Whether a ticket's side has a leg connected (waiting or paired) on a channel (the main one by default), wherever its repeater runs: the same on every server. */
    async legState(ticketId: number, side: LegSide, participantId: number | null = null): Promise<'waiting' | 'paired' | null> {
      return (await legStates([ticketId], side, participantId)).get(ticketId) ?? null;
    },
    /**
     * At a start: the embedded repeater claims `server:<name>` (`name`: stable
     * across this server's restarts, e.g. host and port; null: none, its
     * instance) and renews it from now on; what a previous life under the name
     * left open, or a server whose lease ran out, closes.
     */
    async reconcile(name: string | null): Promise<number> {
      if (!embedded) return lost.reapGoneServers('startup');
      const self = { name: name ?? server, instance: server, leaseMs: serverLeaseMs };
      const closed = await lost.reconcileEmbedded(self);
      serverTimer ??= setInterval(() => {
        void (async () => {
          await lost.renewServer(self);
          if (await bus.tryLock('reap-servers', Math.max(200, serverLeaseMs / 4 - 50))) await lost.reapGoneServers();
        })().catch((err: unknown) => log.error({ err }, 'the embedded repeater\'s lease could not be renewed'));
      }, serverLeaseMs / 4);
      serverTimer.unref();
      return closed;
    },
    /** Stops the rounds and the bridges (what is in hand finishes on `work`). */
    close(): void {
      if (timer) clearInterval(timer);
      if (serverTimer) clearInterval(serverTimer);
      commands?.close();
      for (const stop of stops.splice(0)) stop();
    },
  };
}
