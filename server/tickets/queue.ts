// The queue and its routing (issue 29): a new request goes to its topic's
// team (no topic, or a topic with no team: everyone's queue, which every
// technician sees); a technician sees their teams' queues and everyone's,
// an administrator every queue; a waiting request moves to another team
// with a note (audited, in the timeline, live). Spread into the ticket service.
import { randomToken, sha256 } from '../../lib/crypto.ts';
import type { Knex } from 'knex';
import { AppError } from '../errors.ts';
import type { Clock } from '../clock.ts';
import type { EventBus } from '../events/event-bus.ts';
import type { TicketView } from '../../protocol/events.ts';
import type { QueueTeamFilter } from '../../protocol/teams.ts';
import type { ActorContext } from '../audit/actor.ts';
import { insertAuditEvent } from '../audit/store.ts';
import type { HelpRequestInput } from './schema.ts';
import { ticketStore, type QueueScope } from './store.ts';
import { applyTicketChange } from '../stats/rollups.ts';
import { teamStore } from '../teams/store.ts';
import { topicForRequest } from '../topics/service.ts';
import { waitTargetStats } from '../stats/sla.ts';

type Viewer = { id: number; role: 'admin' | 'technician' };

/** Which queue a page or the API asks for: a team's, every team of mine (and everyone's), or (administrators) all. */
export type QueueFilter = QueueTeamFilter | 'all';

export function ticketQueue({ db, clock, bus, recordSessions }: { db: Knex; clock: Clock; bus: EventBus; recordSessions: boolean }) {
  /** The queues a viewer's filter covers; undefined: every queue. */
  async function scopeOf(viewer: Viewer, filter: QueueFilter): Promise<QueueScope | undefined> {
    if (viewer.role === 'admin') {
      if (filter === 'all') return undefined;
      if (filter !== 'mine') return { teams: [filter], everyone: false };
    }
    const mine = await teamStore.teamsOf(db, viewer.id);
    // A technician asking for a team not theirs sees what they may: their own queues.
    if (typeof filter === 'number' && mine.includes(filter)) return { teams: [filter], everyone: false };
    return { teams: mine, everyone: true };
  }

  /** Whether a viewer may see (and take) a request of this team's queue. */
  async function mayServe(viewer: Viewer, teamId: number | null, trx: Knex = db): Promise<boolean> {
    if (viewer.role === 'admin' || teamId === null) return true;
    return (await teamStore.teamsOf(trx, viewer.id)).includes(teamId);
  }

  return {
    mayServe,

    /** The waiting requests a viewer's filter covers (by default: an administrator's every queue, a technician's teams' and everyone's), oldest first; no viewer: every queue. */
    queue: async (viewer?: Viewer, filter?: QueueFilter) =>
      ticketStore.listByStatus(db, ['requested'], undefined, viewer ? await scopeOf(viewer, filter ?? (viewer.role === 'admin' ? 'all' : 'mine')) : undefined),

    /** The statistics' "met the target wait" per day, team and topic over the last `days` (server/stats/sla.ts). */
    metTarget: (days: number) => waitTargetStats(db, clock.now(), days),

    /** The teams a viewer may filter the queue by: an administrator's every team, a technician's own. */
    async queueTeams(viewer: Viewer): Promise<{ id: number; name: string }[]> {
      const all = (await teamStore.list(db)).map((t) => ({ id: Number(t.id), name: t.name }));
      if (viewer.role === 'admin') return all;
      const mine = new Set(await teamStore.teamsOf(db, viewer.id));
      return all.filter((t) => mine.has(t.id));
    },

    /** The teams whose requests a technician's stream carries (null: an administrator, every one). */
    streamTeams: async (viewer: Viewer): Promise<Set<number> | null> => (viewer.role === 'admin' ? null : new Set(await teamStore.teamsOf(db, viewer.id))),

    async create(data: HelpRequestInput, remoteAddress: string): Promise<{ ticket: TicketView; clientSecret: string }> {
      const clientSecret = randomToken();
      const now = clock.now();
      const context: ActorContext = { actor: { type: 'requester', name: data.requesterName }, remoteAddress };
      const ticket = await db.transaction(async (trx) => {
        // An unknown or inactive topic is refused in words before anything is written.
        const topic = data.topicId === undefined ? null : await topicForRequest(trx, data.topicId);
        const targetMs = topic ? topic.targetWaitSeconds * 1000 : null;
        const newId = await ticketStore.insert(trx, {
          status: 'requested',
          requester_name: data.requesterName,
          username: data.username,
          hostname: data.hostname,
          os: data.os,
          description: data.description,
          client_secret_hash: sha256(clientSecret),
          requester_address: remoteAddress.slice(0, 64),
          technician_id: null,
          view_only: false,
          recorded: recordSessions,
          resolution: null,
          end_reason: null,
          created_at: now,
          updated_at: now,
          accepted_at: null,
          approved_at: null,
          started_at: null,
          ended_at: null,
          resolved_at: null,
          topic_id: topic?.id ?? null,
          team_id: topic?.teamId ?? null,
          wait_target_ms: targetMs,
          wait_due_at: targetMs === null ? null : now + targetMs,
        });
        await applyTicketChange(trx, null, { created_at: now, technician_id: null, accepted_at: null, resolved_at: null });
        const routing = topic ? { topicId: topic.id, teamId: topic.teamId } : {};
        await insertAuditEvent(trx, now, context, 'ticket.created', { ticketId: newId }, { hostname: data.hostname, os: data.os, recorded: recordSessions, ...routing });
        const view = await ticketStore.view(trx, newId);
        if (!view) throw new AppError('TICKET_NOT_FOUND', `No ticket with id ${newId}`);
        await bus.record(trx, 'ticket.changed', { ticket: view, action: 'created', previousStatus: null, previousTechnicianId: null });
        return view;
      });
      return { ticket, clientSecret };
    },

    /**
     * A waiting request goes to another team's queue (null: everyone's), with
     * a note, by a technician who may serve it now (or an administrator):
     * audited, and live — it leaves the old team's queue and enters the new one's.
     */
    moveToTeam(id: number, teamId: number | null, note: string, viewer: Viewer, context: ActorContext): Promise<TicketView> {
      return db.transaction(async (trx) => {
        const row = await ticketStore.rowForUpdate(trx, id);
        if (!row) throw new AppError('TICKET_NOT_FOUND', `No ticket with id ${id}`);
        if (row.status !== 'requested') throw new AppError('TICKET_NOT_QUEUED', `Request ${id} is ${row.status.replace('_', ' ')}: only a waiting request moves to another team`, { status: row.status });
        const from = row.team_id === null || row.team_id === undefined ? null : Number(row.team_id);
        if (!(await mayServe(viewer, from, trx))) throw new AppError('FORBIDDEN', `Request ${id} is in another team's queue`);
        const [fromTeam, toTeam] = await Promise.all([from === null ? null : teamStore.byId(trx, from), teamId === null ? null : teamStore.byId(trx, teamId)]);
        if (teamId !== null && !toTeam) throw new AppError('TEAM_NOT_FOUND', `No team with id ${teamId}`);
        const now = clock.now();
        await trx('tickets').where({ id }).update({ team_id: teamId, updated_at: now, ...(note ? { handover_note: note } : {}) });
        await insertAuditEvent(trx, now, context, 'ticket.moved', { ticketId: id }, { fromTeamId: from, toTeamId: teamId, fromTeam: fromTeam?.name ?? null, toTeam: toTeam?.name ?? null, note });
        const ticket = await ticketStore.view(trx, id);
        if (!ticket) throw new AppError('TICKET_NOT_FOUND', `No ticket with id ${id}`);
        await bus.record(trx, 'ticket.changed', { ticket, action: 'moved', previousStatus: 'requested', previousTechnicianId: null, previousTeamId: from });
        return ticket;
      });
    },
  };
}
