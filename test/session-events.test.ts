// Issue 24, point 2, reproduced: two servers on one database behind a
// load-balanced internal door; a node's `ended` reaches server 2 before its
// `paired` reaches server 1. The session must end with one closed row and no
// open one. (Rewritten with the fix for events numbered per session.)
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { randomUUID } from 'node:crypto';
import request from 'supertest';
import { engines } from './databases.ts';
import { startTwoServers, type TwoServers } from './two-servers.ts';
import { TEST_REPEATER_SECRET } from './repeater-process.ts';
import { internalPaths } from '../protocol/repeater.ts';

const engine = engines.includes('mysql') ? 'mysql' : 'sqlite';
let two: TwoServers;

beforeAll(async () => {
  two = await startTwoServers(engine);
}, 60_000);

afterAll(async () => {
  await two?.close();
});

const bearer = { authorization: `Bearer ${TEST_REPEATER_SECRET}` };

describe('events across two servers', () => {
  it('an ended handled before its paired (two servers) leaves one closed row and no live one', async () => {
    const t = await two.approved();
    const at = Date.now();
    const paired = { type: 'paired', ticketId: String(t.id), desktopAddress: '127.0.0.1', viewerAddress: '127.0.0.1', at, sessionId: randomUUID(), recording: null };
    const ended = { type: 'ended', ticketId: String(t.id), reason: 'ENDED_BY_USER', endedBy: 'desktop', bytesDesktopToViewer: 10, bytesViewerToDesktop: 5, startedAt: at, endedAt: at + 100, durationMs: 100 };
    await request(two.servers[1].url).post(internalPaths.events).set(bearer).send({ node: 'n1', events: [ended] });
    await new Promise((r) => setTimeout(r, 300));
    await request(two.servers[0].url).post(internalPaths.events).set(bearer).send({ node: 'n1', events: [paired] });
    await new Promise((r) => setTimeout(r, 500));
    const rows = (await two.servers[0].db('remote_sessions').where({ ticket_id: t.id })) as { ended_at: number | null }[];
    expect(rows.filter((r) => r.ended_at === null)).toEqual([]);
    expect(rows).toHaveLength(1);
  });
});
