// Teams over HTTP (administrators): list, one, create, change (name,
// members, primary teams), remove.
import { Router } from 'express';
import { requireAdmin, technicianContext } from '../auth/guards.ts';
import { validate } from '../http/validate.ts';
import { teamParams, teamSchema } from './schema.ts';
import type { TeamService } from './service.ts';

const byId = validate({ params: teamParams });
const create = validate({ body: teamSchema.describe('team') });
const update = validate({ params: teamParams, body: teamSchema.describe('team') });

export function teamRoutes({ teams }: { teams: TeamService }): Router {
  const router = Router();
  router.use(requireAdmin);
  router.get('/', async (_req, res) => {
    res.json({ teams: await teams.list() });
  });
  router.get('/:id', byId, async (req, res) => {
    res.json({ team: await teams.get(byId.input(req).params.id) });
  });
  router.post('/', create, async (req, res) => {
    res.status(201).json({ team: await teams.create(create.input(req).body, technicianContext(req)) });
  });
  router.put('/:id', update, async (req, res) => {
    const { params, body } = update.input(req);
    res.json({ team: await teams.update(params.id, body, technicianContext(req)) });
  });
  router.delete('/:id', byId, async (req, res) => {
    await teams.remove(byId.input(req).params.id, technicianContext(req));
    res.status(204).end();
  });
  return router;
}
