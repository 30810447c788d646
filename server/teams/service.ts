// Teams (issue 29): administrators make them, name their members and each
// technician's primary team; every change is audited in its transaction.
// Removing a team sends its topics and its queued requests to everyone's queue.
import type { Knex } from 'knex';
import { AppError } from '../errors.ts';
import type { Clock } from '../clock.ts';
import type { ActorContext } from '../audit/actor.ts';
import { insertAuditEvent } from '../audit/store.ts';
import { MAX_TEAMS, type TeamInput } from './schema.ts';
import { teamStore, type Team } from './store.ts';
import type { EventBus } from '../events/event-bus.ts';
import { ticketStore } from '../tickets/store.ts';

export type TeamService = ReturnType<typeof createTeamService>;

export function createTeamService({ db, clock, bus }: { db: Knex; clock: Clock; bus?: EventBus }) {
  async function get(id: number, trx: Knex = db): Promise<Team> {
    const row = await teamStore.byId(trx, id);
    if (!row) throw new AppError('TEAM_NOT_FOUND', `No team with id ${id}`);
    return { id: Number(row.id), name: row.name, members: (await teamStore.members(trx, [Number(row.id)])).get(Number(row.id)) ?? [] };
  }

  async function checked(trx: Knex.Transaction, input: TeamInput, exceptId: number | null): Promise<void> {
    if (await teamStore.nameTaken(trx, input.name, exceptId)) throw new AppError('TEAM_NAME_TAKEN', `A team is already named ${input.name}`, { name: input.name });
    if (input.members.length) {
      const found = (await trx('technicians').whereIn('id', input.members).select('id')) as { id: number }[];
      const missing = input.members.find((m) => !found.some((f) => Number(f.id) === m));
      if (missing !== undefined) throw new AppError('TECHNICIAN_NOT_FOUND', `No technician with id ${missing}`);
    }
  }

  return {
    get: (id: number) => get(id),

    async list(): Promise<Team[]> {
      const rows = await teamStore.list(db);
      const members = await teamStore.members(db, rows.map((r) => Number(r.id)));
      return rows.map((r) => ({ id: Number(r.id), name: r.name, members: members.get(Number(r.id)) ?? [] }));
    },

    /** The teams a technician belongs to (the queue's filter, the stream's). */
    teamsOf: (technicianId: number) => teamStore.teamsOf(db, technicianId),

    create(input: TeamInput, context: ActorContext): Promise<Team> {
      return db.transaction(async (trx) => {
        if ((await teamStore.count(trx)) >= MAX_TEAMS) throw new AppError('TOO_MANY_TEAMS', `There are already ${MAX_TEAMS} teams, the most there may be`, { max: MAX_TEAMS });
        await checked(trx, input, null);
        const now = clock.now();
        const id = await teamStore.insert(trx, input.name, now);
        await teamStore.setMembers(trx, id, input.members, input.primary);
        await insertAuditEvent(trx, now, context, 'team.created', {}, { teamId: id, name: input.name, members: input.members.length });
        return get(id, trx);
      });
    },

    update(id: number, input: TeamInput, context: ActorContext): Promise<Team> {
      return db.transaction(async (trx) => {
        const before = await get(id, trx);
        await checked(trx, input, id);
        const now = clock.now();
        await teamStore.rename(trx, id, input.name, now);
        await teamStore.setMembers(trx, id, input.members, input.primary);
        await insertAuditEvent(trx, now, context, 'team.updated', {}, { teamId: id, name: input.name, previousName: before.name, members: input.members.length });
        return get(id, trx);
      });
    },

    remove(id: number, context: ActorContext): Promise<void> {
      return db.transaction(async (trx) => {
        const before = await get(id, trx);
        const now = clock.now();
        await trx('topics').where({ team_id: id }).update({ team_id: null, updated_at: now });
        // Its waiting requests go to everyone's queue, live on every server (each a 'moved' change), and its canned replies with the team.
        const waiting = (await trx('tickets').where({ team_id: id, status: 'requested' }).pluck('id')) as number[];
        await trx('tickets').where({ team_id: id }).update({ team_id: null });
        const cannedRepliesDeleted = await trx('canned_replies').where({ team_id: id }).delete();
        await teamStore.remove(trx, id);
        await insertAuditEvent(trx, now, context, 'team.deleted', {}, { teamId: id, name: before.name, movedRequests: waiting.length, cannedRepliesDeleted });
        for (const ticketId of waiting) {
          const ticket = await ticketStore.view(trx, Number(ticketId));
          if (ticket && bus) await bus.record(trx, 'ticket.changed', { ticket, action: 'moved', previousStatus: 'requested', previousTechnicianId: null, previousTeamId: id });
        }
      });
    },
  };
}
