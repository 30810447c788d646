// Canned replies (issue 29): administrators keep prepared chat answers per
// team (audited with the change); a technician on a ticket gets its team's
// (and every team's) with {user} and {technician} filled in.
import type { Knex } from 'knex';
import { isMysql } from '../../migrations/engine.ts';
import { AppError } from '../errors.ts';
import type { Clock } from '../clock.ts';
import type { ActorContext } from '../audit/actor.ts';
import { insertAuditEvent } from '../audit/store.ts';
import type { TicketView } from '../../protocol/events.ts';
import { CANNED_REPLIES_PER_TEAM, type CannedReplyInput } from './schema.ts';

export interface CannedReply {
  id: number;
  teamId: number | null;
  title: string;
  body: string;
  updatedAt: number;
}

interface Row {
  id: number;
  team_id: number | null;
  title: string;
  body: string;
  updated_at: number;
}

const toReply = (r: Row): CannedReply => ({ id: Number(r.id), teamId: r.team_id === null ? null : Number(r.team_id), title: r.title, body: r.body, updatedAt: Number(r.updated_at) });

/** The text with its placeholders filled: {user} the user's name, {technician} the technician's. */
export function fillPlaceholders(body: string, names: { user: string; technician: string }): string {
  return body.replace(/\{(user|technician)\}/g, (_m, name: 'user' | 'technician') => names[name]);
}

export type CannedReplyService = ReturnType<typeof createCannedReplyService>;

export function createCannedReplyService({ db, clock }: { db: Knex; clock: Clock }) {
  const teamOf = (q: Knex.QueryBuilder, teamId: number | null) => (teamId === null ? q.whereNull('team_id') : q.where({ team_id: teamId }));

  async function byId(trx: Knex, id: number): Promise<Row> {
    const row = (await trx('canned_replies').where({ id }).first()) as Row | undefined;
    if (!row) throw new AppError('CANNED_REPLY_NOT_FOUND', `No canned reply with id ${id}`);
    return row;
  }

  async function checkTeam(trx: Knex, teamId: number | null): Promise<void> {
    if (teamId !== null && !(await trx('teams').where({ id: teamId }).first('id'))) throw new AppError('VALIDATION_FAILED', `Invalid canned reply: teamId: there is no team ${teamId}`, { fields: [{ field: 'teamId', message: 'no such team' }] });
  }
  /** Room for one more in the team (a team's row is locked first on MariaDB: two additions at once are counted one after the other). */
  async function roomIn(trx: Knex, teamId: number | null): Promise<void> {
    if (teamId !== null && isMysql(trx)) await trx('teams').where({ id: teamId }).forUpdate().first('id');
    const held = Number(((await teamOf(trx('canned_replies'), teamId).count({ n: '*' }).first()) as { n: number | string }).n);
    if (held >= CANNED_REPLIES_PER_TEAM) throw new AppError('TOO_MANY_CANNED_REPLIES', `This team already has ${held} canned replies (at most ${CANNED_REPLIES_PER_TEAM}): delete one first`, { max: CANNED_REPLIES_PER_TEAM });
  }


  return {
    /** Every canned reply, by team then title (administrators). */
    async list(): Promise<CannedReply[]> {
      return ((await db('canned_replies').orderBy([{ column: 'team_id' }, { column: 'title' }, { column: 'id' }]).select('*')) as Row[]).map(toReply);
    },

    async create(input: CannedReplyInput, context: ActorContext): Promise<CannedReply> {
      return db.transaction(async (trx) => {
        await checkTeam(trx, input.teamId);
        await roomIn(trx, input.teamId);
        const now = clock.now();
        const [id] = await trx('canned_replies').insert({ team_id: input.teamId, title: input.title, body: input.body, created_at: now, updated_at: now });
        await insertAuditEvent(trx, now, context, 'canned_reply.created', {}, { cannedReplyId: Number(id), title: input.title, teamId: input.teamId });
        return toReply(await byId(trx, Number(id)));
      });
    },

    async update(id: number, input: CannedReplyInput, context: ActorContext): Promise<CannedReply> {
      return db.transaction(async (trx) => {
        const before = await byId(trx, id);
        await checkTeam(trx, input.teamId);
        // Moved to another team: counted there as a new one would be.
        if (toReply(before).teamId !== input.teamId) await roomIn(trx, input.teamId);
        const now = clock.now();
        await trx('canned_replies').where({ id }).update({ team_id: input.teamId, title: input.title, body: input.body, updated_at: now });
        await insertAuditEvent(trx, now, context, 'canned_reply.updated', {}, { cannedReplyId: id, title: input.title, previousTitle: before.title, teamId: input.teamId });
        return toReply(await byId(trx, id));
      });
    },

    async remove(id: number, context: ActorContext): Promise<void> {
      await db.transaction(async (trx) => {
        const before = await byId(trx, id);
        await trx('canned_replies').where({ id }).delete();
        await insertAuditEvent(trx, clock.now(), context, 'canned_reply.deleted', {}, { cannedReplyId: id, title: before.title, teamId: before.team_id });
      });
    },

    /** The replies a technician may insert on `ticket` (its team's and every team's), filled for it. */
    async forTicket(ticket: TicketView, technicianName: string): Promise<CannedReply[]> {
      const teamId = ticket.routing?.team?.id ?? null;
      const q = teamId === null ? db('canned_replies').whereNull('team_id') : db('canned_replies').whereNull('team_id').orWhere({ team_id: teamId });
      const rows = (await q.orderBy([{ column: 'title' }, { column: 'id' }]).select('*')) as Row[];
      return rows.map((r) => ({ ...toReply(r), body: fillPlaceholders(r.body, { user: ticket.requesterName, technician: technicianName }) }));
    },
  };
}
