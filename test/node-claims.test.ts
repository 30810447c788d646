// Issue 24: a node's name is claimed by one process at a time, whichever
// server it asks. Two real servers in this process on one database; repeater
// processes (node repeater/main.ts) and hand-written links (FakeNode). A second
// process started under a taken name is refused in words and waits; it gets
// the name once the first stops. A forger under the name is refused at every
// door, and its stream's close ends nothing; only the holder's own stream
// receives its commands, and a newer stream of the holder replaces the older.
// A forger's recording hand-over is refused too; the internal door answers in
// its own letter case only.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createHash, randomUUID } from 'node:crypto';
import request from 'supertest';
import { engines } from './databases.ts';
import { startTwoServers, type TwoServers } from './two-servers.ts';
import { FakeNode } from './fake-node.ts';
import { TEST_REPEATER_SECRET, startRepeaterProcess, type RepeaterProcess } from './repeater-process.ts';
import { RECORDING_HEADERS, internalPaths } from '../protocol/repeater.ts';
import { recordingFileName } from '../repeater/recording-format.ts';
import { openLeg } from './http-clients.ts';

const engine = engines.includes('mysql') ? 'mysql' : 'sqlite';
let two: TwoServers;
const processes: RepeaterProcess[] = [];

beforeAll(async () => {
  two = await startTwoServers(engine);
}, 60_000);

afterAll(async () => {
  for (const p of processes) await p.stop();
  await two?.close();
});

const urls = (): [string, string] => [two.servers[0].url, two.servers[1].url];
const health = async (p: RepeaterProcess) => (await (await fetch(`${p.url}/healthz`)).json()) as { status: string };
/** The process's health status, or why it could not be read (a process that logged its refusal may not be listening yet). */
const statusOf = (p: RepeaterProcess): Promise<string> => health(p).then((h) => h.status, (err: Error) => `unreachable: ${err.message}`);

describe('one process per node name', () => {
  it('a second repeater process under a taken name is refused in words and serves nothing; it takes the name once the first stops', async () => {
    const env = (server: string) => ({ REPEATER_SERVER_URL: server, REPEATER_SECRET: TEST_REPEATER_SECRET, REPEATER_NAME: 'node-twin' });
    const first = await startRepeaterProcess(env(urls()[0]));
    processes.push(first);
    const second = await startRepeaterProcess(env(urls()[1]), { waitHealthy: false });
    processes.push(second);
    await expect.poll(() => second.output(), { timeout: 10_000 }).toMatch(/refuses this process the node name: The repeater node name node-twin is held by another process/);
    await expect.poll(() => statusOf(second), { timeout: 10_000 }).toBe('name_taken');
    expect(await health(first)).toMatchObject({ status: 'ok' });
    // A leg at the refused process is not authorized there (its server says it does not hold the name).
    await expect(openLeg(`ws://127.0.0.1:${second.port}/wsServer?token=x`)).rejects.toMatchObject({ status: 503 });
    await new Promise((r) => setTimeout(r, 1_500)); // the first keeps the name past its lease: its heartbeats renew it
    expect(await health(second)).toMatchObject({ status: 'name_taken' });
    expect(await first.stop()).toBe(0); // a clean stop releases the name
    await expect.poll(() => statusOf(second), { timeout: 10_000 }).toBe('ok');
    expect(second.output()).toMatch(/the node name is this process's now/);
  }, 60_000);
});

describe('a forger under a node\'s name', () => {
  it('is refused at hello, heartbeat, commands and authorize; its stream\'s close ends nothing; commands reach the holder\'s stream only', async () => {
    const node = new FakeNode('node-real');
    const stop = await node.alive(urls()[0]);
    const forger = new FakeNode('node-real');
    try {
      const t = await two.approved();
      const sessionId = randomUUID();
      const paired = node.number({ type: 'paired', sessionId, ticketId: String(t.id), desktopAddress: '127.0.0.1', viewerAddress: '127.0.0.1', at: Date.now(), recording: null });
      expect((await node.post(urls()[1], [paired])).results).toEqual([{ ok: true }]);
      const real = await node.commands(urls()[0]);
      expect(real.status).toBe(200);

      for (const server of urls()) {
        const hello = await forger.hello(server);
        expect(hello).toMatchObject({ status: 409, body: { error: { code: 'NODE_NAME_TAKEN', message: expect.stringMatching(/node-real is held by another process .*own REPEATER_NAME/) } } });
        expect(await forger.beat(server)).toMatchObject({ status: 409, text: expect.stringContaining('NODE_NAME_TAKEN') });
        const stream = await forger.commands(server);
        expect(stream.status).toBe(409);
        stream.close();
        const authorize = await request(server)
          .post(internalPaths.authorize)
          .set(forger.headers())
          .send({ path: '/wsServer', token: 'x', origin: null, host: null, scheme: 'http', forwardedProto: null, remoteAddress: '127.0.0.1', side: 'desktop', node: 'node-real' });
        expect(authorize.status).toBe(409);
        expect(authorize.body.error.code).toBe('NODE_NAME_TAKEN');
        // Nor are its events taken: it cannot close (or open) the holder's sessions.
        const forged = forger.number({ type: 'ended', sessionId, ticketId: String(t.id), reason: 'DESKTOP_LEFT', endedBy: 'desktop', bytesDesktopToViewer: 0, bytesViewerToDesktop: 0, startedAt: Date.now(), endedAt: Date.now(), durationMs: 0 });
        expect(await forger.post(server, [forged])).toMatchObject({ status: 409, results: [] });
      }
      await new Promise((r) => setTimeout(r, 2_000)); // past the lease (1 s): the holder's heartbeats keep it
      const rows = (await two.servers[0].db('remote_sessions').where({ ticket_id: t.id })) as { ended_at: number | null }[];
      expect(rows.map((r) => r.ended_at)).toEqual([null]);

      // The holder's newer stream (on the other server) replaces its older one; commands go there alone.
      const newer = await node.commands(urls()[1], 0);
      expect(newer.status).toBe(200);
      await request(urls()[0]).post(`/api/v1/help-requests/${t.id}/end`).set({ authorization: `Bearer ${t.secret}` }).expect(200);
      await expect.poll(() => newer.ends.map((e) => e.ticketId), { timeout: 5_000 }).toContain(String(t.id));
      expect(real.ends).toEqual([]);
      newer.close();
      await new Promise((r) => setTimeout(r, 1_500));
      expect(((await two.servers[0].db('remote_sessions').where({ ticket_id: t.id })) as { ended_at: number | null }[]).map((r) => r.ended_at)).toEqual([null]);
      real.close();
    } finally {
      stop();
    }
  }, 30_000);
});

describe('the hand-over and the internal door', () => {
  it('a recording handed over by a process that does not hold the node\'s name is refused in words, before its body is read', async () => {
    const node = new FakeNode('node-handing');
    const stop = await node.alive(urls()[0]);
    const forger = new FakeNode('node-handing');
    try {
      const t = await two.approved();
      const recordingId = randomUUID();
      const at = Date.now();
      const file = recordingFileName(String(t.id), recordingId, at);
      const paired = node.number({ type: 'paired', sessionId: randomUUID(), ticketId: String(t.id), desktopAddress: '127.0.0.1', viewerAddress: '127.0.0.1', at, recording: { id: recordingId, file } });
      expect((await node.post(urls()[0], [paired])).results).toEqual([{ ok: true }]);
      const body = Buffer.from('HCREC02\nforged');
      for (const server of urls()) {
        const res = await fetch(`${server}${internalPaths.recordings}/${recordingId}?state=complete&endedAt=${Date.now()}&durationMs=5`, {
          method: 'PUT',
          headers: { ...forger.headers(), 'content-type': 'application/octet-stream', [RECORDING_HEADERS.ticket]: String(t.id), [RECORDING_HEADERS.file]: file, [RECORDING_HEADERS.sha256]: createHash('sha256').update(body).digest('hex') },
          body,
        });
        expect(res.status).toBe(409);
        expect(await res.json()).toMatchObject({ error: { code: 'NODE_NAME_TAKEN', message: expect.stringMatching(/does not hold the repeater node name node-handing/) } });
      }
      expect(await two.servers[0].db('recordings').where({ id: recordingId }).first()).toMatchObject({ state: 'recording', sha256: null });
    } finally {
      stop();
    }
  }, 30_000);

  it('answers only in its own letter case: /INTERNAL/… (which nginx\'s case-sensitive location lets through) is a 404', async () => {
    const node = new FakeNode('node-case');
    for (const path of ['/INTERNAL/v1/repeater/hello', '/Internal/v1/repeater/hello', '/internal/v1/repeater/HELLO']) {
      const res = await fetch(`${urls()[0]}${path}`, { headers: node.headers() });
      expect(res.status, path).toBe(404);
    }
    expect((await fetch(`${urls()[0]}${internalPaths.hello}`, { headers: node.headers() })).status).toBe(200);
  });
});
