// Commands to repeater nodes go through the database (repeater_commands), so
// whichever server a node's command stream reaches delivers them: a command is
// written for each process holding a node name with a running lease, and the
// server holding that process's stream — the one named in its claim — sends
// it, in id order; a stream that reopens (on this server or another) resumes
// after the last command its node received (COMMAND_CURSOR_HEADER). A node's
// commands are written with its claim row locked, so they commit in id order
// (MariaDB hands out auto-increment ids at the insert, not the commit: id N+1
// could otherwise be read, and passed by the cursor, before N commits). A stream
// from a process that does not hold the name is refused before it opens; a
// stream replaced by a newer one of the same process is ended. Closing a
// stream ends nothing: only a lease that runs out does (lost-sessions.ts).
import { randomUUID } from 'node:crypto';
import type { Knex } from 'knex';
import type { CloseCodeId } from '../../protocol/close-codes.ts';
import type { CommandStreamEvents, EndCommand } from '../../protocol/repeater.ts';
import type { Logger } from '../../lib/logger.ts';
import type { Clock } from '../clock.ts';
import type { SseChannel } from '../events/sse.ts';
import type { NodeClaims } from './node-claims.ts';
import { retrying } from './db-retry.ts';

interface HeldStream {
  node: string;
  instance: string;
  streamId: string;
  channel: SseChannel<CommandStreamEvents>;
  /** The last command sent on it. */
  cursor: number;
}

interface CommandRow {
  id: number;
  instance: string;
  ticket_id: string;
  reason: string;
}

/** Commands are kept this long (a node away longer resumes without the older ones: its sessions were ended as lost). */
const KEEP_COMMANDS_MS = 60 * 60_000;

export class CommandStreams {
  readonly #streams = new Map<string, HeldStream>();
  readonly #db: Knex;
  readonly #clock: Clock;
  readonly #claims: NodeClaims;
  readonly #server: string;
  readonly #log: Logger;
  readonly #timer: NodeJS.Timeout;
  #polling: Promise<void> | null = null;
  #again = false;
  #closed = false;

  /** `server`: this server's name in the claims (its bus origin); `pollMs`: how often it looks for commands written elsewhere. */
  constructor(deps: { db: Knex; clock: Clock; claims: NodeClaims; server: string; logger: Logger; pollMs: number }) {
    this.#db = deps.db;
    this.#clock = deps.clock;
    this.#claims = deps.claims;
    this.#server = deps.server;
    this.#log = deps.logger.child({ component: 'command-streams' });
    this.#timer = setInterval(() => void this.poll(), deps.pollMs);
    this.#timer.unref();
  }

  /** A node process's command stream opened here (its claim checked already): commands for it come here from now on. */
  async open(node: string, instance: string, after: number, channel: SseChannel<CommandStreamEvents>): Promise<void> {
    const streamId = randomUUID();
    await this.#db('repeater_claims').where({ node, instance }).update({ stream_id: streamId, stream_server: this.#server });
    const previous = this.#streams.get(instance);
    const held: HeldStream = { node, instance, streamId, channel, cursor: after };
    this.#streams.set(instance, held);
    if (previous) previous.channel.end();
    channel.onClose(() => {
      if (this.#streams.get(instance) !== held || this.#closed) return;
      this.#streams.delete(instance);
      this.#log.info({ node, instance }, 'repeater node\'s command stream closed here');
      // The claim forgets the stream, unless a newer one took its place meanwhile.
      void this.#db('repeater_claims').where({ node, instance, stream_id: streamId }).update({ stream_id: null, stream_server: null }).catch((err: unknown) => this.#log.warn({ err, node }, 'a command stream\'s close could not be noted'));
    });
    this.#log.info({ node, instance, after }, 'repeater node\'s command stream opened here');
    await this.poll();
  }

  /** Tells every node process holding its name to end a ticket's legs (one without any ignores it). */
  async endTicket(ticketId: string, reason: CloseCodeId): Promise<void> {
    const live = await this.#claims.live();
    if (live.length === 0) return;
    const now = this.#clock.now();
    await this.#write(live.map((c) => ({ node: c.node, instance: c.instance, ticket_id: ticketId, reason, created_at: now })));
    await this.poll();
  }

  /** Commands for processes that may come back (their sessions were ended as lost): they close what they still hold. */
  async endFor(target: { node: string; instance: string }, ticketIds: readonly string[], reason: CloseCodeId): Promise<void> {
    if (ticketIds.length === 0) return;
    const now = this.#clock.now();
    await this.#write(ticketIds.map((ticketId) => ({ node: target.node, instance: target.instance, ticket_id: ticketId, reason, created_at: now })));
  }

  /** Inserts commands with their nodes' claim rows locked (in name order): each node's commands commit in id order. */
  #write(rows: { node: string; instance: string; ticket_id: string; reason: string; created_at: number }[]): Promise<void> {
    const nodes = [...new Set(rows.map((r) => r.node))].sort();
    return retrying(() =>
      this.#db.transaction(async (trx) => {
        for (const node of nodes) await trx('repeater_claims').where({ node }).forUpdate().first('node');
        await trx('repeater_commands').insert(rows);
      }),
    );
  }

  /** Sends the commands written (here or elsewhere) for the streams held here; ends those replaced by a newer stream. */
  poll(): Promise<void> {
    if (this.#polling) {
      this.#again = true;
      return this.#polling;
    }
    this.#polling = this.#deliver()
      .catch((err: unknown) => this.#log.warn({ err }, 'commands could not be read'))
      .finally(() => {
        this.#polling = null;
        if (this.#again) {
          this.#again = false;
          void this.poll();
        }
      });
    return this.#polling;
  }

  async #deliver(): Promise<void> {
    if (this.#streams.size === 0) return;
    const instances = [...this.#streams.keys()];
    const claims = (await this.#db('repeater_claims').whereIn('instance', instances).select('instance', 'stream_id')) as { instance: string; stream_id: string | null }[];
    const current = new Map(claims.map((c) => [c.instance, c.stream_id]));
    for (const held of [...this.#streams.values()]) {
      if (current.get(held.instance) === held.streamId) continue;
      // Its process lost the name, or opened a newer stream (on another server): this one carries nothing.
      this.#log.info({ node: held.node, instance: held.instance }, 'a newer command stream of this node holds its commands: this one is ended');
      this.#streams.delete(held.instance);
      held.channel.end();
    }
    if (this.#streams.size === 0) return;
    const from = Math.min(...[...this.#streams.values()].map((s) => s.cursor));
    const rows = (await this.#db('repeater_commands').whereIn('instance', [...this.#streams.keys()]).where('id', '>', from).orderBy('id').select('id', 'instance', 'ticket_id', 'reason')) as CommandRow[];
    for (const row of rows) {
      const held = this.#streams.get(row.instance);
      if (!held || row.id <= held.cursor) continue;
      held.cursor = row.id;
      const command: EndCommand = { id: Number(row.id), ticketId: row.ticket_id, reason: row.reason as CloseCodeId };
      held.channel.send('end', command, null);
    }
  }

  /** Forgets commands older than an hour. */
  async purge(): Promise<number> {
    return this.#db('repeater_commands').where('created_at', '<', this.#clock.now() - KEEP_COMMANDS_MS).delete();
  }

  /** Streams held here (tests, diagnostics). */
  get held(): number {
    return this.#streams.size;
  }

  /** Stops polling; streams the server ends from now on leave their claims as they are (the node's next stream takes over). */
  close(): void {
    this.#closed = true;
    clearInterval(this.#timer);
  }
}
