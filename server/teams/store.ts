// Teams and their members: plain rows. A technician's teams are read by the
// staff stream (its filter) and the queue.
import type { Knex } from 'knex';

export interface TeamRow {
  id: number;
  name: string;
  created_at: number;
  updated_at: number;
}

export interface TeamMember {
  technicianId: number;
  displayName: string;
  primary: boolean;
}

export interface Team {
  id: number;
  name: string;
  members: TeamMember[];
}

export const teamStore = {
  list: (db: Knex): Promise<TeamRow[]> => db<TeamRow>('teams').orderBy('name').orderBy('id'),

  byId: (db: Knex, id: number) => db<TeamRow>('teams').where({ id }).first(),

  async members(db: Knex, teamIds: number[]): Promise<Map<number, TeamMember[]>> {
    const result = new Map<number, TeamMember[]>(teamIds.map((id) => [id, []]));
    if (teamIds.length === 0) return result;
    const rows = (await db('team_members')
      .join('technicians', 'technicians.id', 'team_members.technician_id')
      .whereIn('team_members.team_id', teamIds)
      .orderBy('technicians.display_name')
      .select('team_members.team_id', 'team_members.technician_id', 'team_members.is_primary', 'technicians.display_name')) as { team_id: number; technician_id: number; is_primary: number | boolean; display_name: string }[];
    for (const r of rows) result.get(Number(r.team_id))?.push({ technicianId: Number(r.technician_id), displayName: r.display_name, primary: Boolean(r.is_primary) });
    return result;
  },

  /** The teams a technician belongs to (ids). */
  async teamsOf(db: Knex, technicianId: number): Promise<number[]> {
    const rows = (await db('team_members').where({ technician_id: technicianId }).select('team_id')) as { team_id: number }[];
    return rows.map((r) => Number(r.team_id));
  },

  count: async (db: Knex): Promise<number> => Number(((await db('teams').count({ n: '*' }).first()) as { n: number | string }).n),

  async insert(db: Knex, name: string, now: number): Promise<number> {
    const [id] = await db('teams').insert({ name, created_at: now, updated_at: now });
    return Number(id);
  },

  rename: (db: Knex, id: number, name: string, now: number) => db('teams').where({ id }).update({ name, updated_at: now }),

  nameTaken: async (db: Knex, name: string, exceptId: number | null): Promise<boolean> => {
    const q = db('teams').whereRaw('lower(name) = ?', [name.toLowerCase()]);
    if (exceptId !== null) q.whereNot({ id: exceptId });
    return Boolean(await q.first());
  },

  /** Replaces a team's members; a technician made primary here stops being primary elsewhere (one primary team each). */
  async setMembers(db: Knex, teamId: number, members: number[], primary: number[]): Promise<void> {
    await db('team_members').where({ team_id: teamId }).delete();
    if (primary.length) await db('team_members').whereIn('technician_id', primary).update({ is_primary: false });
    const isPrimary = new Set(primary);
    for (const technicianId of new Set(members)) await db('team_members').insert({ team_id: teamId, technician_id: technicianId, is_primary: isPrimary.has(technicianId) });
  },

  async remove(db: Knex, id: number): Promise<void> {
    await db('team_members').where({ team_id: id }).delete();
    await db('teams').where({ id }).delete();
  },
};
