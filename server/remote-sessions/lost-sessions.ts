// Sessions nobody will end as they should: those of a node whose process is
// gone — its lease ran out with no heartbeat reaching any server, or the name
// was taken over by a new process after it — end as REPEATER_LOST, whichever
// server notices (each row closed once: the close is conditional); its
// waiting legs go too, and commands are left for the old process in case it
// comes back, so it closes what the servers have counted lost. A node's
// command stream closing, or moving to another server, ends nothing. Each
// server's embedded repeater holds a claim too (`server:<name>`, its rows
// naming its instance), renewed by the server: the rows of an embedded
// repeater whose claim was taken by its server's next life, or whose lease
// ran out (a server gone), close as SERVER_RESTARTED — never those of
// another server that runs.
import type { Knex } from 'knex';
import type { CloseCodeId } from '../../protocol/close-codes.ts';
import type { Logger } from '../../lib/logger.ts';
import type { Clock } from '../clock.ts';
import type { EventBus } from '../events/event-bus.ts';
import { systemActor, type ActorContext } from '../audit/actor.ts';
import { insertAuditEvent } from '../audit/store.ts';
import type { RecordingService } from '../recordings/service.ts';
import { ticketStore } from '../tickets/store.ts';
import type { CommandStreams } from './command-streams.ts';
import { channelKey } from '../../protocol/participants.ts';
import { remoteLegStore, remoteSessionStore, type OrphanSession } from './store.ts';

export type LostSessions = ReturnType<typeof createLostSessions>;

/** A server's embedded repeater in the claims: `name` (stable across its restarts when it can be), its instance, its lease. */
export interface ServerClaim {
  name: string;
  instance: string;
  leaseMs: number;
}

export function createLostSessions(deps: { db: Knex; clock: Clock; bus: EventBus; logger: Logger; recordings?: RecordingService | null; commands?: CommandStreams | null }) {
  const { db, clock, bus } = deps;
  const log = deps.logger.child({ component: 'lost-sessions' });

  /** Closes a live row with its audit event (once: false when another server did), then its recording as incomplete. */
  async function closeOrphan(s: OrphanSession, actor: ActorContext, reason: CloseCodeId, endedAt: number, detail: Record<string, unknown> = {}): Promise<boolean> {
    const durationMs = Math.max(0, endedAt - s.startedAt);
    const bytes = { bytesDesktopToViewer: s.bytesDesktopToViewer, bytesViewerToDesktop: s.bytesViewerToDesktop };
    const refs = { ticketId: s.ticketId, technicianId: s.technicianId };
    const closed = await db.transaction(async (trx) => {
      if (!(await remoteSessionStore.close(trx, s.id, { endedAt, durationMs, ...bytes, endReason: reason, endedBy: null }))) return false;
      await insertAuditEvent(trx, clock.now(), actor, 'session.ended', refs, { reason, endedBy: null, durationMs, ...bytes, ...detail });
      // Live events with the close, last in its transaction: a crash after the commit loses none.
      await bus.record(trx, 'session.ended', { ...refs, reason, endedBy: null });
      await bus.record(trx, 'ticket.desktop', { ...refs, state: 'gone', reason });
      return true;
    });
    if (!closed) return false;
    // Its recorder went with it: what reached the disk is kept, as incomplete.
    await deps.recordings?.closeOrphans(s.ticketId, actor, reason === 'REPEATER_LOST' ? 'the repeater node carrying the session was lost' : 'the server stopped without closing the recording', s.id);
    return true;
  }

  return {
    /** One round (any server, any number of times: what is ended is ended once). Says how many sessions ended. */
    async reapLostNodes(): Promise<number> {
      const now = clock.now();
      const actor = systemActor('repeater-nodes');
      let ended = 0;
      const byProcess = new Map<string, { node: string; instance: string; tickets: string[] }>();
      for (const s of await remoteSessionStore.onLostNodes(db, now)) {
        if (!(await closeOrphan(s, actor, 'REPEATER_LOST', now, { node: s.node }))) continue;
        ended += 1;
        if (!s.node || !s.instance) continue;
        const key = `${s.node}/${s.instance}`;
        const process = byProcess.get(key) ?? { node: s.node, instance: s.instance, tickets: [] };
        process.tickets.push(channelKey(s.ticketId, s.participantId));
        byProcess.set(key, process);
      }
      for (const p of byProcess.values()) {
        log.warn({ node: p.node, instance: p.instance, sessions: p.tickets.length }, 'repeater node lost (its lease ran out): its sessions ended as REPEATER_LOST');
        await deps.commands?.endFor(p, p.tickets, 'REPEATER_LOST');
      }
      for (const leg of await remoteLegStore.onLostNodes(db, now)) {
        await db.transaction(async (trx) => {
          if ((await remoteLegStore.gone(trx, leg.sessionUid, leg.side)) !== 1) return; // another server took it
          const ticket = await ticketStore.view(trx, leg.ticketId);
          const refs = { ticketId: leg.ticketId, technicianId: ticket?.technician?.id ?? null };
          await insertAuditEvent(trx, now, actor, `session.${leg.side}_closed`, refs, { reason: 'REPEATER_LOST', waitedMs: Math.max(0, now - leg.since), node: leg.node });
          if (leg.side === 'desktop') await bus.record(trx, 'ticket.desktop', { ...refs, state: 'gone', reason: 'REPEATER_LOST' });
        });
      }
      return ended;
    },

    /**
     * At a start: the embedded repeater's rows a previous life left open (nobody
     * will end them now) close as SERVER_RESTARTED at their last known byte
     * counts; its waiting legs are gone. Tickets stay as they were: the desktop
     * client re-arms from approved or in_session by itself.
     */
    async reconcileEmbedded(self: ServerClaim): Promise<number> {
      await db.transaction(async (trx) => {
        const now = clock.now();
        const claim = { instance: self.instance, claimed_at: now, lease_until: now + self.leaseMs, stream_id: null, stream_server: null };
        if ((await trx('repeater_claims').where({ node: `server:${self.name}` }).update(claim)) === 0) await trx('repeater_claims').insert({ node: `server:${self.name}`, ...claim });
      });
      return this.reapGoneServers('startup');
    },

    /** Renews this server's claim (a round), and forgets the claims of servers gone for an hour. */
    async renewServer(self: ServerClaim): Promise<void> {
      const now = clock.now();
      await db('repeater_claims').where({ node: `server:${self.name}`, instance: self.instance }).update({ lease_until: now + self.leaseMs });
      await db('repeater_claims').where('node', 'like', 'server:%').where('lease_until', '<', now - 3_600_000).delete();
    },

    /** The live rows of embedded repeaters nobody runs now close as SERVER_RESTARTED at their last byte counts; their waiting legs go. */
    async reapGoneServers(by: 'startup' | 'repeater-nodes' = 'repeater-nodes'): Promise<number> {
      const now = clock.now();
      let closed = 0;
      for (const s of await remoteSessionStore.embeddedLive(db, now)) {
        if (await closeOrphan(s, systemActor(by), 'SERVER_RESTARTED', Math.max(s.updatedAt, s.startedAt))) closed += 1;
      }
      await remoteLegStore.clearEmbedded(db, now);
      if (closed) log.warn({ closed }, 'closed the session rows a server gone left open (SERVER_RESTARTED)');
      return closed;
    },
  };
}
