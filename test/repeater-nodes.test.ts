// Several repeater nodes behind one server: each ticket is carried by the
// least-loaded healthy node (both its tokens point there), a leg that arrives
// at another node is refused, and when a node dies only its sessions end; its
// tickets move to a healthy node at their next token while the other node's
// sessions go on untouched. Real repeater processes on loopback.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { randomBytes } from 'node:crypto';
import { WebSocket } from 'ws';
import { ADMIN_PASSWORD, startHarness, type Harness, type Tech } from './server-harness.ts';
import { openLeg } from './http-clients.ts';
import { TEST_REPEATER_SECRET, startRepeaterProcess, type RepeaterProcess } from './repeater-process.ts';
import { freePort } from './processes.ts';

let h: Harness;
let ana: Tech;
const nodes: Record<string, RepeaterProcess> = {};
const bearer = (secret: string) => ({ Authorization: `Bearer ${secret}` });

beforeAll(async () => {
  h = await startHarness('sqlite', { MAX_ACTIVE_TICKETS_PER_TECH: '20', REPEATER_NODE_STALE_MS: '1000' }, { repeater: 'process' });
  ana = await h.createTechnician(await h.login('admin', ADMIN_PASSWORD), 'ana');
  for (const name of ['node-b', 'node-c']) {
    const port = await freePort();
    nodes[name] = await startRepeaterProcess(
      { REPEATER_SERVER_URL: h.server.url, REPEATER_SECRET: TEST_REPEATER_SECRET, REPEATER_NAME: name, REPEATER_NODE_URL: `ws://127.0.0.1:${port}`, REPEATER_NODE_HEARTBEAT_MS: '200' },
      { port },
    );
  }
  await new Promise((r) => setTimeout(r, 300)); // the first heartbeats
}, 60_000);

afterAll(async () => {
  for (const node of Object.values(nodes)) await node.stop();
  await h?.close();
});

async function approved(): Promise<{ id: number; secret: string }> {
  const t = await h.helpRequest();
  await ana.post(`/api/v1/tickets/${t.id}/accept`).expect(200);
  await h.api.post(`/api/v1/help-requests/${t.id}/approve`).set(bearer(t.secret)).send({ viewOnly: false }).expect(200);
  return t;
}

const desktopUrl = async (t: { id: number; secret: string }): Promise<string> => (await h.api.post(`/api/v1/help-requests/${t.id}/desktop-token`).set(bearer(t.secret)).expect(201)).body.url;
const viewerUrl = async (id: number): Promise<string> => (await ana.post(`/api/v1/tickets/${id}/viewer-token`).expect(201)).body.url;
const portOf = (url: string): number => Number(new URL(url).port);

async function pairAndCheck(t: { id: number; secret: string }) {
  const dUrl = await desktopUrl(t);
  const vUrl = await viewerUrl(t.id);
  expect(portOf(vUrl)).toBe(portOf(dUrl)); // both tokens point at the ticket's node
  const desktop = await openLeg(dUrl);
  const viewer = await openLeg(vUrl, h.server.url);
  const payload = randomBytes(2048);
  desktop.ws.send(payload);
  await expect.poll(() => Buffer.concat(viewer.inbox).length, { timeout: 5000 }).toBe(payload.length);
  expect(Buffer.concat(viewer.inbox).equals(payload)).toBe(true);
  return { desktop, viewer, port: portOf(dUrl) };
}

describe('repeater nodes', () => {
  it('spreads tickets over the healthy nodes, keeps each session on its node, and moves a dead node\'s tickets', async () => {
    const tickets = [await approved(), await approved(), await approved(), await approved()];
    const live = [];
    for (const t of tickets) live.push(await pairAndCheck(t));
    const portB = nodes['node-b']!.port;
    const portC = nodes['node-c']!.port;
    expect(live.map((l) => l.port).sort()).toEqual([portB, portB, portC, portC].sort());

    // A leg at the wrong node is refused, in words.
    const onB = tickets[live.findIndex((l) => l.port === portB)]!;
    const stray = (await desktopUrl(onB)).replace(`:${portB}/`, `:${portC}/`);
    await expect(openLeg(stray)).rejects.toMatchObject({ status: 409, body: { error: { code: 'WRONG_NODE' } } });

    // Refused at the wrong node, the token is not spent: it still opens at the right one.
    const fresh = await approved();
    const right = await desktopUrl(fresh);
    const rightPort = portOf(right);
    const wrong = right.replace(`:${rightPort}/`, `:${rightPort === portB ? portC : portB}/`);
    await expect(openLeg(wrong)).rejects.toMatchObject({ status: 409, body: { error: { code: 'WRONG_NODE', message: expect.stringMatching(/still good/) } } });
    const leg = await openLeg(right);
    expect(leg.ws.readyState).toBe(WebSocket.OPEN);
    leg.ws.terminate();

    // node-b dies: only its sessions end; node-c's carry on.
    await nodes['node-b']!.kill();
    for (const l of live.filter((x) => x.port === portB)) expect(await l.viewer.closed).toBe(1006);
    for (const l of live) {
      if (l.port !== portC) continue;
      const more = randomBytes(512);
      const before = Buffer.concat(l.viewer.inbox).length;
      l.desktop.ws.send(more);
      await expect.poll(() => Buffer.concat(l.viewer.inbox).length, { timeout: 5000 }).toBe(before + more.length);
      expect(l.viewer.ws.readyState).toBe(WebSocket.OPEN);
    }
    const detail = (await ana.get(`/api/v1/tickets/${onB.id}`).expect(200)).body;
    expect(detail.ticket.status).toBe('in_session'); // not stuck: the client re-arms
    await expect.poll(async () => (await ana.get(`/api/v1/tickets/${onB.id}`)).body.sessions.map((s: { endReason: string | null }) => s.endReason), { timeout: 10_000 }).toEqual(['REPEATER_LOST']);
    // Its next tokens (the desktop re-arming, the viewer reconnecting) point at the healthy node.
    await new Promise((r) => setTimeout(r, 1_100)); // node-b is now stale
    const again = await pairAndCheck(onB);
    expect(again.port).toBe(portC);
    for (const l of [...live, again]) {
      l.desktop.ws.terminate();
      l.viewer.ws.terminate();
    }
  }, 60_000);
});
