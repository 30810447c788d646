// Satisfaction (issue 29): the user's answer after a session (1–5 and an
// optional comment, once per ticket, only once a session took place and
// ended), counted in the statistics' rollups in the same transaction
// (server/stats/survey-rollups.ts), and the technician's internal exit note.
import type { Knex } from 'knex';
import { AppError } from '../errors.ts';
import type { Clock } from '../clock.ts';
import type { ActorContext } from '../audit/actor.ts';
import { insertAuditEvent } from '../audit/store.ts';
import { ticketStore, type TicketRow } from '../tickets/store.ts';
import { applyTicketChange, factsOf } from '../stats/rollups.ts';
import type { SurveyInput } from './schema.ts';
import { surveyStats, type SurveyStats } from './survey-stats.ts';

export interface SurveyAnswer {
  rating: number;
  comment: string | null;
  answeredAt: number;
}

type SurveyRow = TicketRow & { survey_rating: number | null; survey_comment: string | null; survey_at: number | null; exit_note: string | null };

export type SurveyService = ReturnType<typeof createSurveyService>;

const endedStatuses = new Set(['ended', 'resolved', 'cancelled', 'expired']);

export function answerOf(row: Pick<SurveyRow, 'survey_rating' | 'survey_comment' | 'survey_at'>): SurveyAnswer | null {
  if (row.survey_rating === null || row.survey_rating === undefined) return null;
  return { rating: Number(row.survey_rating), comment: row.survey_comment ?? null, answeredAt: Number(row.survey_at) };
}

export function createSurveyService({ db, clock }: { db: Knex; clock: Clock }) {
  return {
    /** The user's answer; refused in words before the session ended, when none took place, and the second time. */
    async answer(ticketId: number, input: SurveyInput, context: ActorContext): Promise<SurveyAnswer> {
      return db.transaction(async (trx) => {
        const row = (await ticketStore.rowForUpdate(trx, ticketId)) as SurveyRow | undefined;
        if (!row) throw new AppError('TICKET_NOT_FOUND', `No ticket with id ${ticketId}`);
        if (!endedStatuses.has(row.status)) throw new AppError('SURVEY_NOT_YET', `The session of request ${ticketId} has not ended yet (it is ${row.status.replace('_', ' ')}); answer once it is over`);
        if (row.started_at === null) throw new AppError('SURVEY_NO_SESSION', `No session took place on request ${ticketId}: there is nothing to rate`);
        if (row.survey_rating !== null) throw new AppError('SURVEY_ANSWERED', `Request ${ticketId} was already rated; a survey is answered once`);
        const now = clock.now();
        const patch = { survey_rating: input.rating, survey_comment: input.comment, survey_at: now };
        const updated = await trx('tickets').where({ id: ticketId }).whereNull('survey_rating').update(patch);
        if (updated !== 1) throw new AppError('SURVEY_ANSWERED', `Request ${ticketId} was already rated; a survey is answered once`);
        // The statistics' rollups move with the answer, in this transaction.
        await applyTicketChange(trx, factsOf(row), factsOf({ ...row, ...patch }));
        await insertAuditEvent(trx, now, context, 'ticket.survey', { ticketId, technicianId: row.technician_id }, { rating: input.rating, commented: input.comment !== null });
        return { rating: input.rating, comment: input.comment, answeredAt: now };
      });
    },

    /** The statistics page's satisfaction figures over `days`, with the names of teams and topics (topics in `lang`). */
    async stats(days: number, lang: string): Promise<SurveyStats & { teamNames: Record<number, string>; topicNames: Record<number, string> }> {
      const figures = await surveyStats(db, clock.now(), days);
      const column = ['en', 'es', 'zh'].includes(lang) ? `name_${lang}` : 'name_en';
      const [teams, topics] = await Promise.all([
        figures.byTeam.length ? (db('teams').whereIn('id', figures.byTeam.map((r) => r.teamId)).select('id', 'name') as Promise<{ id: number; name: string }[]>) : [],
        figures.byTopic.length ? (db('topics').whereIn('id', figures.byTopic.map((r) => r.topicId)).select('id', { name: column }) as Promise<{ id: number; name: string }[]>) : [],
      ]);
      return { ...figures, teamNames: Object.fromEntries(teams.map((r) => [Number(r.id), r.name])), topicNames: Object.fromEntries(topics.map((r) => [Number(r.id), r.name])) };
    },

    /** The teams by name (the canned replies' page offers them). */
    async teams(): Promise<{ id: number; name: string }[]> {
      return ((await db('teams').orderBy('name').select('id', 'name')) as { id: number; name: string }[]).map((r) => ({ id: Number(r.id), name: r.name }));
    },

    /** A ticket's answer and its technician's internal note (never shown to the user). */
    async of(ticketId: number): Promise<{ survey: SurveyAnswer | null; exitNote: string | null }> {
      const row = (await db('tickets').where({ id: ticketId }).first('survey_rating', 'survey_comment', 'survey_at', 'exit_note')) as SurveyRow | undefined;
      if (!row) throw new AppError('TICKET_NOT_FOUND', `No ticket with id ${ticketId}`);
      return { survey: answerOf(row), exitNote: row.exit_note ?? null };
    },

    /** The technician's exit survey: an internal note on an ended or resolved ticket, by its holder or an administrator. */
    async exitNote(ticketId: number, note: string, context: ActorContext): Promise<void> {
      await db.transaction(async (trx) => {
        const row = await ticketStore.rowForUpdate(trx, ticketId);
        if (!row) throw new AppError('TICKET_NOT_FOUND', `No ticket with id ${ticketId}`);
        const actor = context.actor;
        if (actor.type !== 'technician' || (actor.role !== 'admin' && Number(row.technician_id) !== actor.id)) throw new AppError('FORBIDDEN', `Ticket ${ticketId} is held by another technician`);
        if (row.status !== 'ended' && row.status !== 'resolved') throw new AppError('ILLEGAL_TRANSITION', `An exit note is written once the session ended (ticket ${ticketId} is ${row.status.replace('_', ' ')})`, { status: row.status, action: 'exit_note' });
        await trx('tickets').where({ id: ticketId }).update({ exit_note: note || null });
        await insertAuditEvent(trx, clock.now(), context, 'ticket.exit_note', { ticketId, technicianId: row.technician_id }, { length: note.length });
      });
    },
  };
}
