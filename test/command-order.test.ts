// Commands to a node are delivered by their id after the last the node got:
// so the ids must follow commit order. On MariaDB an auto-increment id is
// handed out at the insert: a command written by one server (id N, its
// transaction still open) and one written by another meanwhile (id N+1,
// committed first) would let the stream's cursor pass N, never sent. A node's
// commands are written with its claim row locked, so the second waits for the
// first: both reach the node.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import request from 'supertest';
import { engines } from './databases.ts';
import { startTwoServers, type TwoServers } from './two-servers.ts';
import { FakeNode } from './fake-node.ts';

const engine = engines.includes('mysql') ? 'mysql' : 'sqlite';
let two: TwoServers;

beforeAll(async () => {
  two = await startTwoServers(engine, { REPEATER_LOST_AFTER_MS: '10000' });
}, 60_000);

afterAll(async () => {
  await two?.close();
});

describe('commands reach a node in commit order', () => {
  it('a command still committing elsewhere when a later one is written: the stream sends both', async () => {
    const [one, other] = [two.servers[0].url, two.servers[1].url];
    const node = new FakeNode('node-order');
    expect((await node.hello(one)).status).toBe(200);
    const stream = await node.commands(one);
    try {
      const t = await two.approved();
      // Another server writes a command for the node (id N) and has not committed yet.
      const db = two.servers[0].db;
      const claim = (await db('repeater_claims').where({ node: 'node-order' }).first('instance')) as { instance: string };
      const trx = await db.transaction();
      await trx('repeater_claims').where({ node: 'node-order' }).forUpdate().first('node');
      await trx('repeater_commands').insert({ node: 'node-order', instance: claim.instance, ticket_id: '999999', reason: 'ENDED_BY_SERVER', created_at: Date.now() });
      // Meanwhile the user ends the ticket through server 2: its command (id N+1) is written there.
      const ending = request(other).post(`/api/v1/help-requests/${t.id}/end`).set({ authorization: `Bearer ${t.secret}` }).expect(200).then((res) => res.status);
      await new Promise((r) => setTimeout(r, engine === 'mysql' ? 1_000 : 100));
      await trx.commit();
      await ending;
      await expect.poll(() => stream.ends.map((e) => e.ticketId).sort(), { timeout: 5_000 }).toEqual([String(t.id), '999999'].sort());
      const ids = stream.ends.map((e) => e.id);
      expect(ids).toEqual([...ids].sort((a, b) => a - b)); // in id order
    } finally {
      stream.close();
    }
  }, 30_000);
});
