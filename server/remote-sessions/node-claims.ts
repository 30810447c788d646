// A repeater node's name is held by one process at a time (repeater_claims):
// the process's instance id (random at each start) claims it at hello, and
// its heartbeats renew the lease through whichever server they reach. A second
// process under a held name is refused in words, and logged, until the holder
// releases the name (a clean stop) or its lease runs out — then the name is
// taken over, and what the old process ran is ended as lost (lost-sessions.ts).
// The database is the truth every server reads: a node's link moving from one
// server to another changes nothing here.
import type { Knex } from 'knex';
import type { Logger } from '../../lib/logger.ts';
import type { Clock } from '../clock.ts';
import { retrying } from './db-retry.ts';

export type ClaimAnswer = { ok: true } | { ok: false; message: string };

export type NodeClaims = ReturnType<typeof createNodeClaims>;

interface ClaimRow {
  node: string;
  instance: string;
  claimed_at: number;
  lease_until: number;
}

const iso = (ms: number): string => new Date(Number(ms)).toISOString();

export function createNodeClaims({ db, clock, logger, leaseMs }: { db: Knex; clock: Clock; logger: Logger; leaseMs: number }) {
  const log = logger.child({ component: 'node-claims' });
  return {
    leaseMs,

    /** Claims the name for `instance`, or renews its lease; refused while another process's lease runs. */
    claim(node: string, instance: string): Promise<ClaimAnswer> {
      return retrying(() =>
        db.transaction(async (trx): Promise<ClaimAnswer> => {
          const now = clock.now();
          const row = (await trx('repeater_claims').where({ node }).forUpdate().first()) as ClaimRow | undefined;
          if (!row) {
            await trx('repeater_claims').insert({ node, instance, claimed_at: now, lease_until: now + leaseMs, stream_id: null, stream_server: null });
            log.info({ node, instance }, 'repeater node name claimed');
            return { ok: true };
          }
          if (row.instance === instance) {
            await trx('repeater_claims').where({ node, instance }).update({ lease_until: now + leaseMs });
            return { ok: true };
          }
          if (Number(row.lease_until) >= now) {
            const message = `The repeater node name ${node} is held by another process (instance ${row.instance}, since ${iso(row.claimed_at)}, heard from until ${iso(Number(row.lease_until) - leaseMs)}): give each repeater process its own REPEATER_NAME, or stop the other one`;
            log.warn({ node, instance, holder: row.instance }, 'a second process asked for a repeater node name that is held: refused');
            return { ok: false, message };
          }
          await trx('repeater_claims').where({ node, instance: row.instance }).update({ instance, claimed_at: now, lease_until: now + leaseMs, stream_id: null, stream_server: null });
          log.warn({ node, instance, previous: row.instance, silentSince: iso(Number(row.lease_until) - leaseMs) }, 'repeater node name taken over from a process whose lease ran out');
          return { ok: true };
        }),
        { insertRace: true },
      );
    },

    /** Whether `instance` holds the name now. */
    async holds(node: string, instance: string): Promise<boolean> {
      return (await db('repeater_claims').where({ node, instance }).first('node')) !== undefined;
    },

    /** A clean stop: the name is free at once (the process's sessions ended before it said so). */
    async release(node: string, instance: string): Promise<boolean> {
      const released = (await db('repeater_claims').where({ node, instance }).delete()) === 1;
      if (released) log.info({ node, instance }, 'repeater node name released');
      return released;
    },

    /** Processes holding a name with a running lease: where commands go (not the servers' embedded repeaters, `server:…`). */
    async live(): Promise<{ node: string; instance: string }[]> {
      return (await db('repeater_claims').where('lease_until', '>=', clock.now()).whereNot('node', 'like', 'server:%').select('node', 'instance')) as { node: string; instance: string }[];
    },
  };
}
