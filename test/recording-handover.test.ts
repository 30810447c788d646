// Recordings off the node (issue 23), every part real: the server on SQLite
// with its own RECORDINGS_DIR, repeater nodes as their own processes (node
// repeater/main.ts) with theirs, linked to the server through a TCP proxy the
// test can cut; the desktop and the viewer as websocket clients of the node.
// A recording is handed over when it closes (and, when the link was cut, once
// it is back; when the node was killed, at its next start), the row's size and
// SHA-256 are the server's copy's and the node keeps none. A node's late
// `recordingClosed` (shared directory) replaces what the server kept when it
// lost the node. Hostile hand-overs: recording-handover-refusals.test.ts.
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { WebSocket } from 'ws';
import { ADMIN_PASSWORD, startHarness, type Harness, type Tech } from './server-harness.ts';
import { TEST_REPEATER_SECRET, freePort, startRepeaterProcess, type RepeaterProcess } from './repeater-process.ts';
import { openViewer, type TestViewer } from './help-session-helpers.ts';
import { LinkProxy, approvedRequest, filesIn, recordingRow as rowOf, sha, type RecordingRow } from './recording-handover-helpers.ts';

let h: Harness;
let ana: Tech;
let serverPort: number;
let nodePort: number;
let proxy: LinkProxy;
let node: RepeaterProcess | null = null;

beforeAll(async () => {
  [serverPort, nodePort] = [await freePort(), await freePort()];
  h = await startHarness('sqlite', {
    PORT: String(serverPort),
    PUBLIC_URL: `http://127.0.0.1:${serverPort}`,
    REPEATER_PUBLIC_URL: `ws://127.0.0.1:${nodePort}`,
    REPEATER_SECRET: TEST_REPEATER_SECRET,
    REPEATER_LOST_AFTER_MS: '1000',
    RECORD_SESSIONS: 'on',
    MAX_ACTIVE_TICKETS_PER_TECH: '50',
  });
  ana = await h.createTechnician(await h.login('admin', ADMIN_PASSWORD), 'ana');
  proxy = new LinkProxy(await freePort(), serverPort);
  await proxy.restore();
}, 60_000);

afterEach(async () => {
  await node?.stop();
  node = null;
});

afterAll(async () => {
  await h?.close();
  await proxy?.cut();
});

/** A repeater node on the tokens' port, linked through the proxy. */
async function startNode(name: string, recordingsDir: string, upload: 'on' | 'off' = 'on'): Promise<RepeaterProcess> {
  node = await startRepeaterProcess(
    {
      REPEATER_SERVER_URL: proxy.url,
      REPEATER_SECRET: TEST_REPEATER_SECRET,
      REPEATER_NAME: name,
      RECORDINGS_DIR: recordingsDir,
      RECORDINGS_UPLOAD: upload,
      RECORDING_ENCRYPTION: 'off',
      REPEATER_PROGRESS_INTERVAL_MS: '500',
    },
    { port: nodePort },
  );
  return node;
}

const approved = () => approvedRequest(h, ana);
const recordingRow = (id: string): Promise<RecordingRow> => rowOf(h, id);
const recordingOf = async (ticketId: number) => (await h.server.db('recordings').where({ ticket_id: ticketId }).first()) as RecordingRow | undefined;

/** A live recorded session through the node: the desktop and the viewer exchange bytes; resolves once the server has the recording's row. */
async function liveSession(): Promise<{ id: number; desktop: WebSocket; viewer: TestViewer; recordingId: string; send(): Promise<void> }> {
  const t = await approved();
  const { body } = await h.api.post(`/api/v1/help-requests/${t.id}/desktop-token`).set({ authorization: `Bearer ${t.secret}` }).expect(201);
  const desktop = new WebSocket(body.url as string);
  await new Promise((resolve, reject) => {
    desktop.once('open', resolve);
    desktop.once('error', reject);
  });
  const viewer = await openViewer(ana, h.server.url, t.id);
  desktop.send(Buffer.from('RFB 003.008\n'));
  expect(await viewer.greeting).toBe('RFB 003.008\n');
  // Incompressible screens both ways, a little at a time (blocks are sealed each second).
  const send = async (): Promise<void> => {
    for (let i = 0; i < 4; i++) {
      desktop.send(randomBytes(48 * 1024));
      viewer.ws.send(randomBytes(512));
      await new Promise((r) => setTimeout(r, 150));
    }
  };
  await send();
  await expect.poll(async () => (await recordingOf(t.id))?.state, { timeout: 10_000 }).toBe('recording');
  return { id: t.id, desktop, viewer, recordingId: (await recordingOf(t.id))!.id, send };
}

/** The row is the server's copy: its size and SHA-256, and the file serves for playback. */
async function expectServerCopy(recordingId: string, state: string): Promise<Buffer> {
  await expect.poll(async () => (await recordingRow(recordingId)).state, { timeout: 30_000 }).toBe(state);
  const row = await recordingRow(recordingId);
  const copy = readFileSync(join(h.recordingsDir, row.file));
  expect(row.sha256).toBe(sha(copy));
  expect(row.bytes).toBe(copy.length);
  expect(copy.subarray(0, 5).toString('latin1')).toBe('HCREC');
  await ana.get(`/api/v1/recordings/${recordingId}/file?purpose=playback`).expect(200);
  const download = await ana.get(`/api/v1/recordings/${recordingId}/file`).buffer(true).parse((res, done) => {
    const chunks: Buffer[] = [];
    res.on('data', (c: Buffer) => chunks.push(c));
    res.on('end', () => done(null, Buffer.concat(chunks)));
  }).expect(200);
  expect(sha(download.body as Buffer)).toBe(row.sha256);
  return copy;
}

const ownDir = (): string => mkdtempSync(join(tmpdir(), 'hd-node-recordings-'));

describe('a repeater node with its own RECORDINGS_DIR hands its recordings over', () => {
  it('a recorded session: the file appears in the server\'s directory, the row\'s SHA-256 is the server copy\'s, the node keeps none', async () => {
    const dir = ownDir();
    await startNode('node-own', dir);
    const s = await liveSession();
    expect((await recordingRow(s.recordingId)).node).toBe('node-own');
    await ana.post(`/api/v1/tickets/${s.id}/end`).expect(200);
    await s.viewer.closed;
    const copy = await expectServerCopy(s.recordingId, 'complete');
    expect(copy.length).toBeGreaterThan(4 * 48 * 1024);
    await expect.poll(() => filesIn(dir)).toEqual([]);
    const audit = (await h.server.db('audit_events').where({ action: 'recording.saved' })) as { detail: string }[];
    expect(audit.filter((a) => a.detail.includes(s.recordingId))).toHaveLength(1);
  }, 60_000);

  it('the link cut in the middle of the session: the server counts the node lost, then takes the recording once the link is back', async () => {
    const dir = ownDir();
    await startNode('node-cut', dir);
    const s = await liveSession();
    await proxy.cut();
    // REPEATER_LOST_AFTER_MS: the server keeps what it holds of the recording (nothing yet) as incomplete.
    await expect.poll(async () => (await recordingRow(s.recordingId)).state, { timeout: 10_000 }).toBe('incomplete');
    expect(existsSync(join(h.recordingsDir, (await recordingRow(s.recordingId)).file))).toBe(false);
    // The session goes on at the node, and ends there while the link is still down.
    await s.send();
    s.desktop.close();
    await s.viewer.closed;
    await new Promise((r) => setTimeout(r, 1_500));
    expect((await recordingRow(s.recordingId)).state).toBe('incomplete');
    expect(filesIn(dir).filter((f) => f.endsWith('.hcrec'))).toHaveLength(1);
    await proxy.restore();
    const copy = await expectServerCopy(s.recordingId, 'complete');
    expect(copy.length).toBeGreaterThan(8 * 48 * 1024);
    expect((await recordingRow(s.recordingId)).problem).toBeNull();
    await expect.poll(() => filesIn(dir)).toEqual([]);
  }, 60_000);

  it('the node killed mid-session: its next start hands the file cut short over, as incomplete', async () => {
    const dir = ownDir();
    const first = await startNode('node-killed', dir);
    const s = await liveSession();
    await new Promise((r) => setTimeout(r, 1_200)); // the last block is sealed
    await first.kill();
    await expect.poll(async () => (await recordingRow(s.recordingId)).state, { timeout: 10_000 }).toBe('incomplete');
    expect((await recordingRow(s.recordingId)).sha256).toBeNull();
    s.desktop.terminate();
    await startNode('node-killed', dir);
    await expect.poll(async () => (await recordingRow(s.recordingId)).sha256, { timeout: 20_000 }).not.toBeNull();
    const copy = await expectServerCopy(s.recordingId, 'incomplete');
    expect(copy.length).toBeGreaterThan(4 * 48 * 1024);
    expect((await recordingRow(s.recordingId)).problem).toMatch(/stopped before the recording was closed/);
    await expect.poll(() => filesIn(dir)).toEqual([]);
  }, 60_000);
});

describe('a node\'s late recordingClosed after a link loss (shared directory, RECORDINGS_UPLOAD=off)', () => {
  it('replaces the SHA-256 the server took of the file when it lost the node', async () => {
    await startNode('node-shared', h.recordingsDir, 'off');
    const s = await liveSession();
    await proxy.cut();
    await expect.poll(async () => (await recordingRow(s.recordingId)).state, { timeout: 10_000 }).toBe('incomplete');
    const stale = await recordingRow(s.recordingId);
    expect(stale.sha256).toMatch(/^[0-9a-f]{64}$/);
    await s.send();
    s.desktop.close();
    await s.viewer.closed;
    await proxy.restore();
    await expect.poll(async () => (await recordingRow(s.recordingId)).state, { timeout: 20_000 }).toBe('complete');
    const copy = await expectServerCopy(s.recordingId, 'complete');
    expect(sha(copy)).not.toBe(stale.sha256);
    expect(filesIn(join(h.recordingsDir, '.outbox'))).toEqual([]);
  }, 60_000);
});
