// Teams' input, validated at the edge: a name, members (technicians' ids,
// bounded), each member's primary team.
import { z } from 'zod';

/** At most this many teams, and members per team: the pages and the stream's filter stay small. */
export const MAX_TEAMS = 100;
export const MAX_TEAM_MEMBERS = 500;

const id = z.coerce.number().int().positive().max(2 ** 31 - 1);

export const teamParams = z.object({ id }).describe('team id');

export const teamSchema = z.object({
  name: z.string({ error: 'is required' }).trim().min(1, 'is required').max(80, 'must be at most 80 characters'),
  /** The members' technician ids. */
  members: z.array(id).max(MAX_TEAM_MEMBERS, `at most ${MAX_TEAM_MEMBERS} members`).default([]),
  /** Members for whom this team is their primary team (each must be a member). */
  primary: z.array(id).max(MAX_TEAM_MEMBERS).default([]),
}).superRefine((t, ctx) => {
  const members = new Set(t.members);
  if (t.primary.some((p) => !members.has(p))) ctx.addIssue({ code: 'custom', path: ['primary'], message: 'a primary team is one of the member\'s teams' });
});
export type TeamInput = z.output<typeof teamSchema>;

/** Moving a queued request to another team's queue, with a note for it (null: everyone's queue). */
export const moveSchema = z.object({
  teamId: id.nullable(),
  note: z.string().trim().max(2000, 'must be at most 2000 characters').default(''),
});
export type MoveInput = z.output<typeof moveSchema>;
