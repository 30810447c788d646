// The administrators' canned replies page (issue 29): the list by team, a
// form to add one, a Delete button each. Forms post and redirect, as the
// other pages; the service validates, bounds and audits.
import { Router } from 'express';
import { technicianContext } from '../server/auth/guards.ts';
import { validate } from '../server/http/validate.ts';
import type { CannedReplyService } from '../server/canned-replies/service.ts';
import { cannedReplyBodySchema, cannedReplyParams, CANNED_BODY_MAX, CANNED_TITLE_MAX } from '../server/canned-replies/schema.ts';
import { formAction, requirePageAdmin } from './page-helpers.ts';

const createForm = validate({ body: cannedReplyBodySchema.describe('canned reply') });
const deleteForm = validate({ params: cannedReplyParams });

export function cannedPages({ cannedReplies, teams }: { cannedReplies: CannedReplyService; teams: () => Promise<{ id: number; name: string }[]> }): Router {
  const router = Router();
  router.use('/canned-replies', requirePageAdmin);
  router.get('/canned-replies', async (_req, res) => {
    const [replies, teamList] = await Promise.all([cannedReplies.list(), teams()]);
    const teamName = new Map(teamList.map((t) => [t.id, t.name]));
    res.render('canned', {
      title: res.locals.t('canned.title'),
      replies: replies.map((r) => ({ ...r, teamName: r.teamId === null ? null : (teamName.get(r.teamId) ?? `#${r.teamId}`) })),
      teams: teamList,
      titleMax: CANNED_TITLE_MAX,
      bodyMax: CANNED_BODY_MAX,
    });
  });
  router.post('/canned-replies', formAction(async (req, _res, t, { body }) => {
    await cannedReplies.create(body, technicianContext(req));
    return { redirect: '/canned-replies', ok: t('canned.created', { title: body.title }) };
  }, () => '/canned-replies', createForm));
  router.post('/canned-replies/:id/delete', formAction(async (req, _res, t, { params }) => {
    await cannedReplies.remove(params.id, technicianContext(req));
    return { redirect: '/canned-replies', ok: t('canned.deleted') };
  }, () => '/canned-replies', deleteForm));
  return router;
}
