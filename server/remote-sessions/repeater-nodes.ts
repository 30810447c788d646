// Which repeater process carries a ticket. Nodes with a public URL heartbeat
// into repeater_nodes; a ticket is given the least-loaded healthy node the
// first time a token is minted for it, and another healthy node when its own
// stopped heartbeating (the desktop client re-arms there, the viewer follows).
// The database is the shared truth, so every server agrees.
import type { Knex } from 'knex';
import type { Clock } from '../clock.ts';
import { connectableStatuses } from '../tickets/state-machine.ts';

export interface NodeHeartbeat {
  node: string;
  url: string;
  sessions: number;
  legs: number;
}

export type RepeaterNodes = ReturnType<typeof createRepeaterNodes>;

export function createRepeaterNodes({ db, clock, staleAfterMs }: { db: Knex; clock: Clock; staleAfterMs: number }) {
  const fresh = (): Knex.QueryBuilder => db('repeater_nodes').where('last_seen_at', '>', clock.now() - staleAfterMs);

  return {
    async heartbeat(h: NodeHeartbeat): Promise<void> {
      await db('repeater_nodes')
        .insert({ name: h.node, url: h.url, sessions: h.sessions, legs: h.legs, last_seen_at: clock.now() })
        .onConflict('name')
        .merge(['url', 'sessions', 'legs', 'last_seen_at']);
    },

    /** Healthy nodes with their load (tickets they carry that can connect). */
    async healthy(): Promise<{ name: string; url: string; load: number }[]> {
      const nodes = (await fresh().select('name', 'url')) as { name: string; url: string }[];
      const loads = (await db('tickets').whereIn('status', connectableStatuses).whereNotNull('repeater_node').groupBy('repeater_node').select('repeater_node').count({ n: '*' })) as {
        repeater_node: string;
        n: number | string;
      }[];
      const loadOf = new Map(loads.map((l) => [l.repeater_node, Number(l.n)]));
      return nodes.map((n) => ({ ...n, load: loadOf.get(n.name) ?? 0 })).sort((a, b) => a.load - b.load || a.name.localeCompare(b.name));
    },

    /**
     * The node that carries a ticket: its own while healthy, else the
     * least-loaded healthy one (assigned atomically: two servers minting at
     * once agree). Null when no node has a public URL (the single
     * REPEATER_PUBLIC_URL serves).
     */
    async nodeFor(ticketId: number): Promise<{ name: string; url: string } | null> {
      const row = (await db('tickets').where({ id: ticketId }).first('repeater_node')) as { repeater_node: string | null } | undefined;
      const current = row?.repeater_node ?? null;
      if (current) {
        const own = (await fresh().where({ name: current }).first('name', 'url')) as { name: string; url: string } | undefined;
        if (own) return own;
      }
      const [best] = await this.healthy();
      if (!best) return null;
      const query = db('tickets').where({ id: ticketId });
      if (current) query.where({ repeater_node: current });
      else query.whereNull('repeater_node');
      const moved = await query.update({ repeater_node: best.name });
      if (moved === 1) return { name: best.name, url: best.url };
      // Another server assigned it meanwhile: use theirs.
      const now = (await db('tickets').where({ id: ticketId }).first('repeater_node')) as { repeater_node: string | null };
      const theirs = now.repeater_node ? ((await db('repeater_nodes').where({ name: now.repeater_node }).first('name', 'url')) as { name: string; url: string } | undefined) : undefined;
      return theirs ?? { name: best.name, url: best.url };
    },

    async assigned(ticketId: number): Promise<string | null> {
      const row = (await db('tickets').where({ id: ticketId }).first('repeater_node')) as { repeater_node: string | null } | undefined;
      return row?.repeater_node ?? null;
    },
  };
}
