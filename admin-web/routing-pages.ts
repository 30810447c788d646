// Teams and topics in the admin web (issue 29): the administrators' Teams
// and Topics pages, and moving a waiting request to another team from its
// ticket page (whose form this router's locals feed). Forms post and
// redirect; mistakes come back as a flash on the page.
import { Router } from 'express';
import { z } from 'zod';
import { technicianContext, technicianOf } from '../server/auth/guards.ts';
import { validate } from '../server/http/validate.ts';
import { statsQuerySchema, ticketParams } from '../server/tickets/schema.ts';
import type { TicketService } from '../server/tickets/service.ts';
import type { TechnicianService } from '../server/technicians/service.ts';
import { moveSchema, teamParams, teamSchema } from '../server/teams/schema.ts';
import type { TeamService } from '../server/teams/service.ts';
import { topicParams, topicSchema } from '../server/topics/schema.ts';
import type { TopicService } from '../server/topics/service.ts';
import { formAction, requirePageAdmin, requirePageLogin } from './page-helpers.ts';

export interface RoutingPagesDeps {
  tickets: TicketService;
  technicians: TechnicianService;
  teams: TeamService;
  topics: TopicService;
}

/** A form's repeated field: absent, one value or several. */
const many = (v: unknown): unknown[] => (v === undefined || v === '' ? [] : Array.isArray(v) ? v : [v]);
/** An empty select means "no team" (everyone's queue). */
const teamOrNull = (v: unknown): unknown => (v === '' || v === undefined ? null : v);

const teamForm = z.preprocess((b) => {
  const body = (b ?? {}) as Record<string, unknown>;
  return { name: body.name, members: many(body.members), primary: many(body.primary) };
}, teamSchema).describe('team');
const topicForm = z.preprocess((b) => {
  const body = (b ?? {}) as Record<string, unknown>;
  return { ...body, teamId: teamOrNull(body.teamId), active: body.active === 'on' };
}, topicSchema).describe('topic');
const moveForm = z.preprocess((b) => {
  const body = (b ?? {}) as Record<string, unknown>;
  return { teamId: teamOrNull(body.teamId), note: body.note ?? '' };
}, moveSchema).describe('move');

const createTeam = validate({ body: teamForm });
const updateTeam = validate({ params: teamParams, body: teamForm });
const removeTeam = validate({ params: teamParams });
const createTopic = validate({ body: topicForm });
const updateTopic = validate({ params: topicParams, body: topicForm });
const move = validate({ params: ticketParams, body: moveForm });

export function routingPages({ tickets, technicians, teams, topics }: RoutingPagesDeps): Router {
  const router = Router();
  router.use(['/teams', '/topics'], requirePageAdmin);

  // The ticket page (./ticket-pages.ts) offers a waiting request's move to every team.
  router.get('/tickets/:id', requirePageLogin, async (_req, res, next) => {
    res.locals.moveTeams = (await teams.list()).map((t) => ({ id: t.id, name: t.name }));
    next();
  });

  router.post(
    '/tickets/:id/move',
    requirePageLogin,
    formAction(
      async (req, _res, t, { params, body }) => {
        const ticket = await tickets.moveToTeam(params.id, body.teamId, body.note, technicianOf(req), technicianContext(req));
        return { redirect: '/queue', ok: t('move.done', { id: ticket.id, team: ticket.routing?.team?.name ?? t('queue.everyone') }) };
      },
      (req) => `/tickets/${String(req.params.id)}`,
      move,
    ),
  );

  // The statistics page (./ticket-pages.ts) shows "met the target wait" per day, team and topic.
  router.get('/stats', requirePageAdmin, async (req, res, next) => {
    const parsed = statsQuerySchema.safeParse({ days: req.query.days === '' ? undefined : req.query.days });
    res.locals.slaRows = await tickets.metTarget(parsed.success ? parsed.data.days : 30);
    next();
  });

  router.get('/teams', async (_req, res) => {
    const [list, people] = await Promise.all([teams.list(), technicians.people()]);
    const everyone = [...people].map(([id, p]) => ({ id, displayName: p.displayName })).sort((a, b) => a.displayName.localeCompare(b.displayName));
    res.render('teams', { title: res.locals.t('teams.title'), teams: list, people: everyone });
  });
  router.post('/teams', formAction(async (req, _res, t, { body }) => ({ redirect: '/teams', ok: t('teams.created', { name: (await teams.create(body, technicianContext(req))).name }) }), () => '/teams', createTeam));
  router.post('/teams/:id', formAction(async (req, _res, t, { params, body }) => ({ redirect: '/teams', ok: t('teams.saved', { name: (await teams.update(params.id, body, technicianContext(req))).name }) }), () => '/teams', updateTeam));
  router.post(
    '/teams/:id/delete',
    formAction(
      async (req, _res, t, { params }) => {
        const { name } = await teams.get(params.id);
        await teams.remove(params.id, technicianContext(req));
        return { redirect: '/teams', ok: t('teams.deleted', { name }) };
      },
      () => '/teams',
      removeTeam,
    ),
  );

  router.get('/topics', async (_req, res) => {
    const [list, all] = await Promise.all([topics.list(), teams.list()]);
    res.render('topics', { title: res.locals.t('topics.title'), topics: list, teams: all.map((t) => ({ id: t.id, name: t.name })) });
  });
  router.post('/topics', formAction(async (req, _res, t, { body }) => ({ redirect: '/topics', ok: t('topics.created', { name: (await topics.create(body, technicianContext(req))).names.en }) }), () => '/topics', createTopic));
  router.post('/topics/:id', formAction(async (req, _res, t, { params, body }) => ({ redirect: '/topics', ok: t('topics.saved', { name: (await topics.update(params.id, body, technicianContext(req))).names.en }) }), () => '/topics', updateTopic));
  return router;
}
