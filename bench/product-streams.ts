// The product as a user runs it, for the recording-rates benchmark: the
// helpdesk server started with `node server/main.ts` on its own SQLite file
// (repeater embedded, default settings but for the ones named below), sessions
// set up through its APIs as the desktop client and a technician do (help
// request, accept, approve, desktop token, viewer token), and bulk streams
// through them from the driver's lean raw-websocket ends. Its CPU is read from
// /proc for every thread of the process (the recording's encoder thread too);
// the sessions' and recordings' final states from its database file.
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Socket } from 'node:net';
import knexFactory, { type Knex } from 'knex';
import { countFramePayload, maskedFrame, pumpFrames, rawWebSocket } from './raw-ws.ts';
import { treeCpuSeconds } from './proc-cpu.ts';
import { GiB, HOST, MiB, PHASE_LIMIT_MS, driverCpuSeconds, freePort, sleep, withDeadline } from './bench-kit.ts';
import { loginAt, type Tech } from '../test/http-clients.ts';
import { entryArgs } from '../lib/node-entry.ts';

const ADMIN_PASSWORD = 'Zq8-harbour-lantern-91';
const mainPath = fileURLToPath(new URL('../server/main.ts', import.meta.url));

export type RecordMode = 'off' | 'on';
export type EndState = 'complete' | 'incomplete' | 'dropped' | 'failed' | 'recording' | 'missing';

export interface Product {
  mode: RecordMode;
  pid: number;
  port: number;
  url: string;
  admin: Tech;
  db: Knex;
  stop(): Promise<void>;
}

export interface RunFigures {
  mibs: number;
  /** The relay's CPU per GiB while the bytes flowed. */
  flowCpuSPerGiB: number;
  /** The same through the sessions' close and (recording on) the recordings' last bytes and rows. */
  relayCpuSPerGiB: number;
  driverCpuSPerGiB: number;
  recordings: Partial<Record<EndState, number>>;
  recordedBytes: number;
}

/** Starts the server with RECORD_SESSIONS=`mode`; everything it writes (database, recordings, keys) goes under `dir`. */
export async function startProduct(mode: RecordMode, dir: string): Promise<Product> {
  const port = await freePort();
  const file = join(dir, `helpdesk-${mode}.sqlite`);
  mkdirSync(join(dir, 'keys'), { recursive: true });
  const child: ChildProcess = spawn(process.execPath, entryArgs(mainPath), {
    env: {
      PATH: process.env.PATH ?? '',
      PORT: String(port),
      HOST,
      DATABASE_URL: `sqlite:${file}`,
      ADMIN_PASSWORD,
      LOG_LEVEL: 'warn',
      RECORD_SESSIONS: mode,
      RECORDINGS_DIR: join(dir, `recordings-${mode}`),
      RECORDING_KEY_FILE: join(dir, 'keys', `recording-${mode}.key`),
      SECRETS_KEY_FILE: join(dir, 'keys', `secrets-${mode}.key`),
      FILES_DIR: join(dir, `files-${mode}`),
      // One technician holds every bench ticket, and every help request comes from one address.
      MAX_ACTIVE_TICKETS_PER_TECH: '1000',
      TICKET_CREATE_RATE_PER_MINUTE: '10000',
    },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  child.stderr!.on('data', (d: Buffer) => (stderr = (stderr + d.toString()).slice(-4000)));
  const url = `http://${HOST}:${port}`;
  for (const deadline = Date.now() + 60_000; ; ) {
    if (child.exitCode !== null || Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`the server (recording ${mode}) did not answer /healthz: ${stderr}`);
    }
    if (await fetch(`${url}/healthz`).then((r) => r.ok, () => false)) break;
    await sleep(50);
  }
  const admin = await loginAt(url, 'admin', ADMIN_PASSWORD);
  const db = knexFactory({ client: 'better-sqlite3', connection: { filename: file, options: { readonly: true } }, useNullAsDefault: true });
  return {
    mode,
    pid: child.pid!,
    port,
    url,
    admin,
    db,
    async stop() {
      await db.destroy();
      if (child.exitCode !== null) return;
      child.kill('SIGTERM');
      await withDeadline(once(child, 'exit'), 30_000, 'server stop').catch(() => child.kill('SIGKILL'));
    },
  };
}

async function expectStatus(res: Response | { status: number; body?: unknown }, status: number, what: string): Promise<void> {
  if (res.status === status) return;
  const body = res instanceof Response ? await res.text() : JSON.stringify(res.body);
  throw new Error(`${what}: HTTP ${res.status} ${body}`);
}

/** One session set up as the desktop client and a technician do; returns the ticket and both legs' paths. */
async function mintSession(p: Product, n: number): Promise<{ ticketId: number; desktop: string; viewer: string }> {
  const json = { 'content-type': 'application/json' };
  const created = await fetch(`${p.url}/api/v1/help-requests`, {
    method: 'POST',
    headers: json,
    body: JSON.stringify({ requesterName: `Bench ${n}`, username: `bench${n}`, hostname: `pc-${n}`, os: 'Linux', description: 'recording rates' }),
  });
  await expectStatus(created, 201, 'help request');
  const { id, clientSecret } = (await created.json()) as { id: number; clientSecret: string };
  const desktopApi = (path: string, body?: object) =>
    fetch(`${p.url}/api/v1/help-requests/${id}${path}`, { method: 'POST', headers: { ...json, authorization: `Bearer ${clientSecret}` }, ...(body ? { body: JSON.stringify(body) } : {}) });
  await expectStatus(await p.admin.post(`/api/v1/tickets/${id}/accept`), 200, 'accept');
  // As the desktop client does: with recording on, the user was shown the notice before allowing.
  await expectStatus(await desktopApi('/approve', { viewOnly: false, recordingNoticeShown: p.mode === 'on' }), 200, 'approve');
  const desktopRes = await desktopApi('/desktop-token');
  await expectStatus(desktopRes, 201, 'desktop token');
  const viewerRes = await p.admin.post(`/api/v1/tickets/${id}/viewer-token`);
  await expectStatus(viewerRes, 201, 'viewer token');
  const path = (u: string) => {
    const parsed = new URL(u);
    return parsed.pathname + parsed.search;
  };
  return { ticketId: id, desktop: path(((await desktopRes.json()) as { url: string }).url), viewer: path((viewerRes.body as { url: string }).url) };
}

/** Waits until every ticket's session has started (`ended` false) or ended (true), and with recording on every recording row is there (and, at the end, closed). */
async function waitForRows(p: Product, ids: number[], ended: boolean): Promise<void> {
  const deadline = Date.now() + PHASE_LIMIT_MS;
  for (;;) {
    const sessions = (await p.db('remote_sessions').whereIn('ticket_id', ids).select('ended_at')) as { ended_at: number | null }[];
    const recordings = (await p.db('recordings').whereIn('ticket_id', ids).select('state')) as { state: string }[];
    const sessionsDone = sessions.length >= ids.length && (!ended || sessions.every((s) => s.ended_at !== null));
    const recordingsDone = p.mode === 'off' || (recordings.length >= ids.length && (!ended || recordings.every((r) => r.state !== 'recording')));
    if (sessionsDone && recordingsDone) return;
    if (Date.now() > deadline) {
      console.log(`  !!! recording ${p.mode}: after ${PHASE_LIMIT_MS / 1000} s, ${sessions.length}/${ids.length} sessions, ${recordings.length} recording rows (${ended ? 'waiting for their end' : 'waiting for their start'})`);
      return;
    }
    await sleep(20);
  }
}


/** Sends `frameCount` frames on every sender and waits for every receiver's `total` payload bytes. */
export async function drive(pairs: { sender: Socket; receive: (total: number) => Promise<void> }[], frames: Buffer[], frameCount: number, total: number, what: string): Promise<{ seconds: number; driverCpuS: number }> {
  const driver0 = driverCpuSeconds();
  const t0 = process.hrtime.bigint();
  await withDeadline(Promise.all(pairs.map((p, i) => Promise.all([pumpFrames(p.sender, frames, frameCount, i * 7), p.receive(total)]))), PHASE_LIMIT_MS, what);
  return { seconds: Number(process.hrtime.bigint() - t0) / 1e9, driverCpuS: driverCpuSeconds() - driver0 };
}

const CLOSE_FRAME = maskedFrame(Buffer.from([0x03, 0xe8]), { opcode: 0x8 });
let sessionSeq = 0;

/** `streams` sessions through the product, each carrying `frameCount` of `frames` (masked, `payloadBytes` each) from the desktop leg to the viewer leg. */
export async function productRun(p: Product, streams: number, frames: Buffer[], frameCount: number, payloadBytes: number): Promise<RunFigures> {
  const sessions = [];
  for (let i = 0; i < streams; i += 10) {
    sessions.push(...(await Promise.all(Array.from({ length: Math.min(10, streams - i) }, () => mintSession(p, sessionSeq++)))));
  }
  const legs: { sender: Socket; receiver: Socket; receive: (total: number) => Promise<void> }[] = [];
  for (const [i, s] of sessions.entries()) {
    // Users come from many addresses; the legs are spread over 16 loopback ones.
    const from = `127.0.0.${2 + (i % 16)}`;
    const { socket: sender } = await rawWebSocket(HOST, p.port, s.desktop, from);
    sender.resume(); // whatever the viewer side sends (nothing here) is dropped
    const { socket: receiver, head } = await rawWebSocket(HOST, p.port, s.viewer, from, { Origin: p.url });
    legs.push({ sender, receiver, receive: (total) => countFramePayload(receiver, head, total) });
  }
  const ids = sessions.map((s) => s.ticketId);
  await waitForRows(p, ids, false);
  const total = frameCount * payloadBytes;
  const cpu0 = treeCpuSeconds(p.pid);
  const { seconds, driverCpuS } = await drive(legs, frames, frameCount, total, `recording ${p.mode} stream run`);
  const flowCpu = treeCpuSeconds(p.pid) - cpu0;
  // The desktop ends the session as the client does: a close frame, then its end of the socket.
  for (const l of legs) l.sender.end(CLOSE_FRAME);
  await waitForRows(p, ids, true);
  const relayCpu = treeCpuSeconds(p.pid) - cpu0;
  for (const l of legs) {
    l.sender.destroy();
    l.receiver.destroy();
  }
  const rows = (await p.db('recordings').whereIn('ticket_id', ids).select('state', 'bytes', 'problem')) as { state: EndState; bytes: number | null; problem: string | null }[];
  const recordings: Partial<Record<EndState, number>> = {};
  for (const r of rows) recordings[r.state] = (recordings[r.state] ?? 0) + 1;
  if (p.mode === 'on' && rows.length < ids.length) recordings.missing = ids.length - rows.length;
  for (const r of rows.filter((row) => row.problem)) console.log(`  recording ${r.state}: ${r.problem}`);
  // The technician ends and resolves each ticket, so that none stays active.
  for (const id of ids) {
    await expectStatus(await p.admin.post(`/api/v1/tickets/${id}/end`), 200, 'end');
    await expectStatus(await p.admin.post(`/api/v1/tickets/${id}/resolve`, { resolution: 'benchmark run' }), 200, 'resolve');
  }
  const gib = (total * streams) / GiB;
  return {
    mibs: (total * streams) / MiB / seconds,
    flowCpuSPerGiB: flowCpu / gib,
    relayCpuSPerGiB: relayCpu / gib,
    driverCpuSPerGiB: driverCpuS / gib,
    recordings,
    recordedBytes: rows.reduce((n, r) => n + Number(r.bytes ?? 0), 0),
  };
}
