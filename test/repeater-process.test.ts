// The repeater as its own process (repeater/main.ts started with node, as a
// service manager would), linked to a real server on SQLite: the secret is
// checked both ways; a restart of the repeater (graceful, or kill -9) leaves no
// ticket stuck — the real desktop core with a real x11vnc on Xvfb re-arms onto
// the restarted repeater and a new viewer resumes the session.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connect as netConnect } from 'node:net';
import { ADMIN_PASSWORD, startHarness, type Harness, type Tech } from './server-harness.ts';
import { TEST_REPEATER_SECRET, startRepeaterProcess, type RepeaterProcess } from './repeater-process.ts';
import { FakeNode } from './fake-node.ts';
import { startXDisplay, type XDisplay } from './x-display.ts';
import { CloseCode } from '../protocol/close-codes.ts';
import { ConfigError, loadConfig } from '../server/config.ts';
import { HelpSession } from '../desktop-client/core/help-session.ts';
import { openViewer, reach } from './help-session-helpers.ts';
import { createTransport } from '../desktop-client/core/transport.ts';

let h: Harness;
let x: XDisplay;
let ana: Tech;
let repeater: RepeaterProcess;
const sessions: HelpSession[] = [];

beforeAll(async () => {
  [h, x] = await Promise.all([startHarness('sqlite', { MAX_ACTIVE_TICKETS_PER_TECH: '20' }, { repeater: 'process' }), startXDisplay()]);
  repeater = h.repeaterProcess!;
  const admin = await h.login('admin', ADMIN_PASSWORD);
  ana = await h.createTechnician(admin, 'ana');
}, 60_000);

afterAll(async () => {
  for (const s of sessions) await s.stop().catch(() => undefined);
  await Promise.all(sessions.map((s) => s.settled()));
  await repeater?.stop();
  await h?.close();
  await x?.stop();
});

const repeaterEnv = (): Record<string, string> => ({ REPEATER_SERVER_URL: h.server.url, REPEATER_SECRET: TEST_REPEATER_SECRET, REPEATER_NAME: 'node-a' });

function newSession(): HelpSession {
  const session = new HelpSession(
    {
      serverUrl: h.server.url,
      clientKey: null,
      display: x.display,
      x11vncPath: 'x11vnc',
      requester: { requesterName: 'Eve User', username: 'eve', hostname: 'eve-pc', os: 'Linux test' },
    },
    createTransport({ ca: null, proxy: { httpProxy: null, httpsProxy: null, noProxy: '' } }),
  );
  sessions.push(session);
  return session;
}

async function viewerFor(ticketId: number) {
  const v = await openViewer(ana, h.server.url, ticketId);
  expect(v.url).toMatch(new RegExp(`^ws://127\\.0\\.0\\.1:${repeater.port}/wsClient\\?token=`));
  return v;
}

/** A request accepted by Ana and allowed by the user, its desktop leg waiting at the external repeater. */
async function liveSession(): Promise<{ session: HelpSession; id: number }> {
  const session = newSession();
  await session.requestHelp('Screen is frozen');
  const id = session.snapshot.ticketId!;
  await ana.post(`/api/v1/tickets/${id}/accept`).expect(200);
  await reach(session, 'technician_offered');
  await session.allow(false);
  await reach(session, 'waiting_for_viewer');
  return { session, id };
}

const detail = async (id: number) => (await ana.get(`/api/v1/tickets/${id}`).expect(200)).body;

describe('repeater process: the link with the server', () => {
  it('refuses a missing or wrong secret at the internal API, and a repeater started with either explains and exits 78', async () => {
    const missing = await h.api.get('/internal/v1/repeater/hello').expect(401);
    expect(missing.body.error.code).toBe('REPEATER_SECRET_INVALID');
    const wrong = await h.api.post('/internal/v1/repeater/authorize').set('authorization', 'Bearer not-the-secret').send({}).expect(401);
    expect(wrong.body.error.code).toBe('REPEATER_SECRET_INVALID');
    const events = await h.api.post('/internal/v1/repeater/events').set('authorization', 'Bearer x'.repeat(5)).send({ node: 'n', events: [] }).expect(401);
    expect(events.body.error.code).toBe('REPEATER_SECRET_INVALID');
    const bad = await h.api
      .post('/internal/v1/repeater/events')
      .set('authorization', `Bearer ${TEST_REPEATER_SECRET}`)
      .send({ node: 'node-z', events: [{ type: 'ended', ticketId: '1' }] })
      .expect(400);
    expect(bad.body.error.code).toBe('VALIDATION_FAILED');
    // A body that holds, from a process holding the node's name: each event answered on its own.
    const z = new FakeNode('node-z');
    expect(await z.post(h.server.url, [{ type: 'ended', ticketId: '1' }])).toMatchObject({ status: 409 }); // not yet claimed
    expect((await z.hello(h.server.url)).status).toBe(200);
    const one = await z.post(h.server.url, [{ type: 'ended', ticketId: '1' }]);
    expect(one).toEqual({ status: 200, results: [{ ok: false, error: { code: 'VALIDATION_FAILED', message: expect.stringMatching(/^Invalid event 0: /) } }] });

    const wrongSecret = await startRepeaterProcess({ ...repeaterEnv(), REPEATER_SECRET: 'a-wrong-secret-of-enough-length-0123456789' }, { waitHealthy: false });
    expect(await new Promise((resolve) => wrongSecret.child.once('exit', resolve))).toBe(78);
    expect(wrongSecret.output()).toMatch(/refused REPEATER_SECRET/);
    const noSecret = await startRepeaterProcess({ REPEATER_SERVER_URL: h.server.url }, { waitHealthy: false });
    expect(await new Promise((resolve) => noSecret.child.once('exit', resolve))).toBe(78);
    expect(noSecret.output()).toMatch(/REPEATER_SECRET: /);
    const badUrl = await startRepeaterProcess({ ...repeaterEnv(), REPEATER_SERVER_URL: 'ftp://x', REPEATER_PORT: 'eighty' }, { waitHealthy: false, port: 1 });
    expect(await new Promise((resolve) => badUrl.child.once('exit', resolve))).toBe(78);
    expect(badUrl.output()).toMatch(/REPEATER_SERVER_URL: must be an http/);

    expect(() => loadConfig({ REPEATER_PUBLIC_URL: 'wss://relay.example.com' })).toThrow(ConfigError);
    expect(() => loadConfig({ REPEATER_PUBLIC_URL: 'wss://relay.example.com' })).toThrow(/REPEATER_SECRET: required.*\n.*PUBLIC_URL: required/s);
  }, 60_000);

  it('says where the repeater is when a client upgrades on the server itself', async () => {
    const port = new URL(h.server.url).port;
    const reply = await new Promise<string>((resolve, reject) => {
      const socket = netConnect(Number(port), '127.0.0.1', () => {
        socket.write('GET /wsServer?token=x HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n');
      });
      let text = '';
      socket.on('data', (d) => (text += d.toString()));
      socket.on('close', () => resolve(text));
      socket.on('error', reject);
    });
    expect(reply).toMatch(/^HTTP\/1\.1 404/);
    expect(reply).toContain(`ws://127.0.0.1:${repeater.port}`);
  });
});

describe('repeater process: restarts leave no ticket stuck', () => {
  it('graceful restart: both legs hear SHUTDOWN, the row is written, the client re-arms onto the restarted repeater and the session resumes', async () => {
    const { session, id } = await liveSession();
    const viewer = await viewerFor(id);
    expect(await viewer.greeting).toMatch(/^RFB 003\.00\d\n$/);
    await reach(session, 'in_session');
    await expect.poll(async () => (await detail(id)).ticket.status).toBe('in_session');
    expect((await detail(id)).desktop).toBe('paired');

    const reconnecting = reach(session, 'connecting');
    const started = Date.now();
    expect(await repeater.stop()).toBe(0);
    expect(Date.now() - started).toBeLessThan(6_000);
    expect(await viewer.closed).toBe(CloseCode.SHUTDOWN);
    await reconnecting;
    await expect.poll(async () => (await detail(id)).sessions.length, { timeout: 5_000 }).toBe(1);
    const first = (await detail(id)).sessions[0];
    expect(first).toMatchObject({ endReason: 'SHUTDOWN', endedBy: null });
    expect(first.bytesDesktopToViewer).toBeGreaterThanOrEqual(12);

    // The client keeps trying while the repeater is down, then waits for a viewer on the new one.
    await new Promise((r) => setTimeout(r, 1_500));
    expect(session.snapshot.state).toBe('connecting');
    repeater = await startRepeaterProcess(repeaterEnv(), { port: repeater.port });
    await reach(session, 'waiting_for_viewer', 30_000);
    const again = await viewerFor(id);
    expect(await again.greeting).toMatch(/^RFB 003\.00\d\n$/);
    await reach(session, 'in_session');
    const after = await detail(id);
    expect(after.ticket.status).toBe('in_session');
    expect(after.timeline.map((e: { action: string }) => e.action)).toContain('session.resumed');
    await session.stop();
    expect(await again.closed).toBe(CloseCode.ENDED_BY_USER);
  }, 90_000);

  it('kill -9: the server ends the session as REPEATER_LOST, and the client resumes on the restarted repeater', async () => {
    const { session, id } = await liveSession();
    const viewer = await viewerFor(id);
    await viewer.greeting;
    await reach(session, 'in_session');
    const reconnecting = reach(session, 'connecting');
    await repeater.kill();
    expect(await viewer.closed).toBe(1006);
    await reconnecting;
    // Nobody told the server: it notices the node's command stream is gone (REPEATER_LOST_AFTER_MS=1000).
    await expect.poll(async () => (await detail(id)).sessions.map((s: { endReason: string }) => s.endReason), { timeout: 10_000 }).toEqual(['REPEATER_LOST']);
    expect((await detail(id)).desktop).toBeNull();
    repeater = await startRepeaterProcess(repeaterEnv(), { port: repeater.port });
    await reach(session, 'waiting_for_viewer', 30_000);
    await expect.poll(async () => (await detail(id)).desktop, { timeout: 5_000 }).toBe('waiting');
    const again = await viewerFor(id);
    expect(await again.greeting).toMatch(/^RFB 003\.00\d\n$/);
    await reach(session, 'in_session');
    await session.stop();
    await expect.poll(async () => (await detail(id)).ticket.status).toBe('ended');
  }, 90_000);
});
