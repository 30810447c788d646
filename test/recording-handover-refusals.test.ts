// Recordings handed over by repeater nodes (issue 23): what the server
// refuses, in words, leaving nothing on disk — no secret, a file name out of
// the recordings directory, a recording it did not order from that node, no
// Content-Length, a length past RECORDING_UPLOAD_MAX_BYTES, a body longer
// than its length, a SHA-256 that is not the body's, a disk below
// DATA_MIN_FREE_BYTES (and the node's outbox keeps the file and tries again);
// the same file twice is kept once; a process that does not hold the node's
// name. A recording belongs to its node: another's `recordingClosed`, a
// made-up SHA-256, a `paired` naming another's file are refused, and a
// hand-over never renames over another row's file. And a node's late `recordingClosed` after
// the server counted it lost (the fix of issue 23's review), on the link's own
// events API. The server is real (SQLite, HTTP on loopback); hand-overs are
// written on raw sockets.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { randomBytes, randomUUID } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { ADMIN_PASSWORD, startHarness, type Harness, type Tech } from './server-harness.ts';
import { TEST_REPEATER_SECRET } from './repeater-process.ts';
import { approvedRequest, bearer, filesIn, orderedRecording, rawPut, recordingRow as rowOf, sha, type RecordingRow } from './recording-handover-helpers.ts';
import { INSTANCE_HEADER, NODE_HEADER, RECORDING_HEADERS, internalPaths } from '../protocol/repeater.ts';
import { FakeNode } from './fake-node.ts';
import { ServerLink } from '../repeater/server-link.ts';
import { RecordingOutbox } from '../repeater/recording-outbox.ts';

let h: Harness;
let ana: Tech;

beforeAll(async () => {
  h = await startHarness('sqlite', { REPEATER_SECRET: TEST_REPEATER_SECRET, REPEATER_LOST_AFTER_MS: '1000', RECORD_SESSIONS: 'on', MAX_ACTIVE_TICKETS_PER_TECH: '50' });
  ana = await h.createTechnician(await h.login('admin', ADMIN_PASSWORD), 'ana');
}, 60_000);

afterAll(async () => {
  await h?.close();
});

const approved = () => approvedRequest(h, ana);
const recordingRow = (id: string): Promise<RecordingRow> => rowOf(h, id);
const ownDir = (): string => mkdtempSync(join(tmpdir(), 'hd-node-recordings-'));

describe('a node\'s late recordingClosed', () => {
  it('replaces the SHA-256 of a row the server closed as incomplete when it counted the node lost (shared directory)', async () => {
    const node = new FakeNode(`late-${randomUUID().slice(0, 8)}`);
    expect((await node.hello(h.server.url)).status).toBe(200); // the name claimed: its lease (1 s) runs out without heartbeats
    const t = await approved();
    const { recordingId, file, startedAt, sessionId } = await orderedRecording(h, node, t.id);
    const path = join(h.recordingsDir, file);
    mkdirSync(join(path, '..'), { recursive: true });
    writeFileSync(path, Buffer.from('HCREC02\nthe first part'));
    await expect.poll(async () => (await recordingRow(recordingId)).state, { timeout: 10_000 }).toBe('incomplete');
    expect((await recordingRow(recordingId)).sha256).toBe(sha(readFileSync(path)));
    writeFileSync(path, Buffer.from('HCREC02\nthe first part, the rest, and a trailer'));
    const whole = readFileSync(path);
    const closed = node.number({ type: 'recordingClosed', sessionId, recordingId, ticketId: String(t.id), file, state: 'complete', problem: null, bytes: whole.length, sha256: sha(whole), startedAt, endedAt: Date.now(), durationMs: Date.now() - startedAt });
    expect((await node.post(h.server.url, [closed])).results).toEqual([{ ok: true }]);
    await expect.poll(async () => (await recordingRow(recordingId)).sha256, { timeout: 5_000 }).toBe(sha(whole));
    expect(await recordingRow(recordingId)).toMatchObject({ state: 'complete', bytes: whole.length, problem: null });
  }, 30_000);
});

describe('a recording belongs to the node that began it', () => {
  const put = (node: FakeNode, id: string, ticket: number, file: string, body: Buffer) =>
    rawPut(h.server.url, `${internalPaths.recordings}/${id}?state=complete&endedAt=${Date.now()}&durationMs=1000`, { ...node.headers(), [RECORDING_HEADERS.ticket]: String(ticket), [RECORDING_HEADERS.file]: file, [RECORDING_HEADERS.sha256]: sha(body) }, body, body.length);

  it('another node\'s recordingClosed (in order or as a repeat) is refused, and so is the node\'s own with a SHA-256 of a file the server does not hold; the real hand-over then closes it', async () => {
    const a = new FakeNode(`owner-${randomUUID().slice(0, 8)}`);
    const stopA = await a.alive(h.server.url);
    const b = new FakeNode(`other-${randomUUID().slice(0, 8)}`);
    const stopB = await b.alive(h.server.url);
    try {
      const t = await approved();
      const { recordingId, file, sessionId, startedAt } = await orderedRecording(h, a, t.id);
      const close = { recordingId, ticketId: String(t.id), file, state: 'complete' as const, problem: null, bytes: 1, sha256: 'f'.repeat(64), startedAt, endedAt: Date.now(), durationMs: 1 };
      const forged = b.number({ type: 'recordingClosed', sessionId: randomUUID(), ...close });
      for (let i = 0; i < 2; i++) expect((await b.post(h.server.url, [forged])).results).toEqual([{ ok: false, error: { code: 'RECORDING_NOT_FOUND', message: expect.stringMatching(/was begun by repeater node other-/) } }]);
      const forgedInSession = b.number({ type: 'recordingClosed', sessionId, ...close });
      expect((await b.post(h.server.url, [forgedInSession])).results).toMatchObject([{ ok: false, error: { code: 'RECORDING_NOT_FOUND' } }]);
      const ownMadeUp = a.number({ type: 'recordingClosed', sessionId, ...close });
      for (let i = 0; i < 2; i++) expect((await a.post(h.server.url, [ownMadeUp])).results).toMatchObject([{ ok: false, error: { code: 'RECORDING_HASH_MISMATCH' } }]);
      expect(await recordingRow(recordingId)).toMatchObject({ state: 'recording', sha256: null });

      const good = Buffer.concat([Buffer.from('HCREC02\n'), randomBytes(500)]);
      const handed = await put(a, recordingId, t.id, file, good);
      expect(handed.status, handed.text).toBe(200);
      expect(await recordingRow(recordingId)).toMatchObject({ state: 'complete', sha256: sha(good), bytes: good.length });
    } finally {
      stopA();
      stopB();
    }
  }, 30_000);

  it('a paired naming another recording\'s file is refused (the server derives the name); no hand-over renames over another row\'s file', async () => {
    const a = new FakeNode(`owner-${randomUUID().slice(0, 8)}`);
    const stopA = await a.alive(h.server.url);
    const b = new FakeNode(`other-${randomUUID().slice(0, 8)}`);
    const stopB = await b.alive(h.server.url);
    try {
      const t1 = await approved();
      const rA = await orderedRecording(h, a, t1.id);
      const kept = Buffer.concat([Buffer.from('HCREC02\n'), randomBytes(2000)]);
      expect((await put(a, rA.recordingId, t1.id, rA.file, kept)).status).toBe(200);

      const t2 = await approved();
      const idB = randomUUID();
      const paired = b.number({ type: 'paired', sessionId: randomUUID(), ticketId: String(t2.id), desktopAddress: '127.0.0.1', viewerAddress: '127.0.0.1', at: Date.now(), recording: { id: idB, file: rA.file } });
      expect((await b.post(h.server.url, [paired])).results).toEqual([{ ok: false, error: { code: 'VALIDATION_FAILED', message: expect.stringMatching(/is written to .*\.hcrec, not /) } }]);
      expect(await h.server.db('recordings').where({ id: idB }).first()).toBeUndefined();
      const forged = Buffer.concat([Buffer.from('HCREC02\n'), Buffer.from('forged by another node')]);
      expect((await put(b, idB, t2.id, rA.file, forged)).status).toBe(404);
      // Nor can a row be pointed at another's file afterwards: recordings.file is unique (migration 018).
      await h.server.db('recordings').insert({ id: idB, file: `${rA.file}.x`, ticket_id: t2.id, remote_session_id: null, technician_id: null, node: b.name, started_at: Date.now(), state: 'recording' });
      await expect(h.server.db('recordings').where({ id: idB }).update({ file: rA.file })).rejects.toThrow(/UNIQUE|Duplicate/i);
      expect(readFileSync(join(h.recordingsDir, rA.file)).equals(kept)).toBe(true);
      expect(await recordingRow(rA.recordingId)).toMatchObject({ state: 'complete', sha256: sha(kept) });
    } finally {
      stopA();
      stopB();
    }
  }, 30_000);
});

describe('hostile hand-overs are refused in words and leave nothing on disk', () => {
  it('no secret, a path out of the directory, a recording not ordered, no length, over the limit, a longer body, a wrong SHA-256; the same file twice is kept once', async () => {
    const name = 'node-hostile';
    const t = await approved();
    const { recordingId, file, node } = await orderedRecording(h, name, t.id);
    const before = filesIn(h.recordingsDir);
    const good = Buffer.concat([Buffer.from('HCREC02\n'), randomBytes(3000)]);
    const path = (id = recordingId) => `${internalPaths.recordings}/${id}?state=complete&endedAt=${Date.now()}&durationMs=1000`;
    const headers = (over: Record<string, string> = {}) => ({ authorization: bearer.authorization, [NODE_HEADER]: name, [INSTANCE_HEADER]: node.instance, [RECORDING_HEADERS.ticket]: String(t.id), [RECORDING_HEADERS.file]: file, [RECORDING_HEADERS.sha256]: sha(good), ...over });
    const refused = (status: number, code: string, answer: { status: number; text: string }): void => {
      expect(answer.status, answer.text).toBe(status);
      expect(answer.text).toContain(`"code":"${code}"`);
    };

    const { authorization: _a, ...noSecret } = headers();
    refused(401, 'REPEATER_SECRET_INVALID', await rawPut(h.server.url, path(), noSecret, good, good.length));
    refused(401, 'REPEATER_SECRET_INVALID', await rawPut(h.server.url, path(), headers({ authorization: 'Bearer not-the-secret' }), good, good.length));
    refused(400, 'VALIDATION_FAILED', await rawPut(h.server.url, path(), headers({ [RECORDING_HEADERS.file]: '../../../etc/cron.d/x' }), good, good.length));
    refused(400, 'VALIDATION_FAILED', await rawPut(h.server.url, path(), headers({ [RECORDING_HEADERS.file]: `/tmp/${t.id}-${recordingId}.hcrec` }), good, good.length));
    refused(404, 'RECORDING_NOT_FOUND', await rawPut(h.server.url, path(randomUUID()), headers(), good, good.length));
    refused(409, 'NODE_NAME_TAKEN', await rawPut(h.server.url, path(), headers({ [NODE_HEADER]: 'another-node' }), good, good.length));
    refused(409, 'NODE_NAME_TAKEN', await rawPut(h.server.url, path(), headers({ [INSTANCE_HEADER]: randomUUID() }), good, good.length));
    refused(404, 'RECORDING_NOT_FOUND', await rawPut(h.server.url, path(), headers({ [RECORDING_HEADERS.file]: file.replace(/^\d{4}/, '1999') }), good, good.length));
    refused(411, 'LENGTH_REQUIRED', await rawPut(h.server.url, path(), headers(), good, null));
    // Declared past RECORDING_UPLOAD_MAX_BYTES (4 GiB): refused before a byte is read.
    refused(413, 'FILE_TOO_LARGE', await rawPut(h.server.url, path(), headers(), good, 5 * 1024 ** 3));
    // A body longer than its Content-Length: what the length covers is not what the node hashed.
    const excess = Buffer.from('and more the length does not cover');
    const longer = Buffer.concat([good, excess]);
    refused(422, 'RECORDING_HASH_MISMATCH', await rawPut(h.server.url, path(), headers({ [RECORDING_HEADERS.sha256]: sha(longer) }), good, good.length, { excess }));
    refused(422, 'RECORDING_HASH_MISMATCH', await rawPut(h.server.url, path(), headers({ [RECORDING_HEADERS.sha256]: sha(Buffer.from('something else')) }), good, good.length));
    // A body that stops short, the connection dropped.
    await rawPut(h.server.url, path(), headers(), good.subarray(0, 1000), good.length, { hangUp: true });
    await new Promise((r) => setTimeout(r, 300));
    expect(filesIn(h.recordingsDir)).toEqual(before);
    expect((await recordingRow(recordingId)).state).toBe('recording');

    const kept = await rawPut(h.server.url, path(), headers(), good, good.length);
    expect(kept.status, kept.text).toBe(200);
    expect(JSON.parse(kept.text.slice(kept.text.indexOf('\r\n\r\n') + 4))).toMatchObject({ recording: { bytes: good.length, sha256: sha(good), state: 'complete', unchanged: false } });
    const again = await rawPut(h.server.url, path(), headers(), good, good.length);
    expect(again.status, again.text).toBe(200);
    expect(again.text).toContain('"unchanged":true');
    expect(filesIn(h.recordingsDir).sort()).toEqual([...before, file].sort());
    expect(readFileSync(join(h.recordingsDir, file)).equals(good)).toBe(true);
    expect(await recordingRow(recordingId)).toMatchObject({ state: 'complete', bytes: good.length, sha256: sha(good) });
    const saved = ((await h.server.db('audit_events').where({ action: 'recording.saved' })) as { detail: string }[]).filter((a) => a.detail.includes(recordingId));
    expect(saved).toHaveLength(1);
    // Another file for a recording already kept: refused, the kept one untouched.
    const other = Buffer.concat([Buffer.from('HCREC02\n'), randomBytes(100)]);
    refused(409, 'RECORDING_ALREADY_CLOSED', await rawPut(h.server.url, path(), headers({ [RECORDING_HEADERS.sha256]: sha(other) }), other, other.length));
    expect(readFileSync(join(h.recordingsDir, file)).equals(good)).toBe(true);
    expect(filesIn(h.recordingsDir).sort()).toEqual([...before, file].sort());
  }, 30_000);

  it('a recording that keeps failing (503 on that file) backs off on its own: the ones closed after it are handed over meanwhile', async () => {
    const dir = ownDir();
    const tried: string[] = [];
    const [stuck, later] = [randomUUID(), randomUUID()];
    const link = {
      putRecording: (id: string) => {
        tried.push(id);
        return Promise.resolve({ status: id === stuck ? 503 : 200, body: '' });
      },
      report: () => undefined,
    };
    const outbox = new RecordingOutbox({ recordingsDir: dir, node: 'node-per-recording', logger: pino({ level: 'silent' }), link: link as never, eventsDelivered: () => Promise.resolve(true), maxBackoffMs: 60_000 });
    try {
      await outbox.start();
      const startedAt = Date.now();
      const close = (id: string) => {
        const file = `${new Date(startedAt).toISOString().slice(0, 7)}/7-${id}.hcrec`;
        const bytes = Buffer.concat([Buffer.from('HCREC02\n'), randomBytes(100)]);
        mkdirSync(join(dir, file, '..'), { recursive: true });
        writeFileSync(join(dir, file), bytes);
        outbox.begun({ id, file }, '7', startedAt, randomUUID());
        outbox.closed({ sessionId: randomUUID(), recordingId: id, ticketId: '7', file, state: 'complete', problem: null, bytes: bytes.length, sha256: sha(bytes), startedAt, endedAt: Date.now(), durationMs: 5 });
      };
      // The stuck one first: refused, and now waiting out its own backoff …
      close(stuck);
      await expect.poll(() => tried, { timeout: 5_000 }).toContain(stuck);
      // … which does not hold up one closed after it.
      close(later);
      await expect.poll(() => tried, { timeout: 5_000 }).toContain(later);
      await expect.poll(() => outbox.pending, { timeout: 5_000 }).toBe(1); // the stuck one, once the later one's hand-over is done
    } finally {
      outbox.close();
    }
  }, 15_000);

  it('below DATA_MIN_FREE_BYTES the server refuses in words (507 DISK_LOW), and the node keeps the file and tries again', async () => {
    const low = await startHarness('sqlite', { REPEATER_SECRET: TEST_REPEATER_SECRET, RECORD_SESSIONS: 'on', DATA_MIN_FREE_BYTES: String(2 ** 52) });
    const dir = ownDir();
    const holder = new FakeNode('node-low'); // the process whose link the outbox uses: it holds the name
    const outbox = new RecordingOutbox({
      recordingsDir: dir,
      node: 'node-low',
      logger: pino({ level: 'silent' }),
      link: new ServerLink({ serverUrl: low.server.url, secret: TEST_REPEATER_SECRET, node: 'node-low', instance: holder.instance, logger: pino({ level: 'silent' }) }),
      eventsDelivered: () => Promise.resolve(true),
      maxBackoffMs: 200,
    });
    let stopHolder = (): void => undefined;
    try {
      const tech = await low.createTechnician(await low.login('admin', ADMIN_PASSWORD), 'ana');
      const t = await approvedRequest(low, tech);
      stopHolder = await holder.alive(low.server.url);
      const { recordingId, file, startedAt } = await orderedRecording(low, holder, t.id);
      const bytes = Buffer.concat([Buffer.from('HCREC02\n'), randomBytes(2000)]);
      const answer = await rawPut(low.server.url, `${internalPaths.recordings}/${recordingId}?state=complete&endedAt=${Date.now()}&durationMs=5`, { ...holder.headers(), [RECORDING_HEADERS.ticket]: String(t.id), [RECORDING_HEADERS.file]: file, [RECORDING_HEADERS.sha256]: sha(bytes) }, bytes, bytes.length);
      expect(answer.status).toBe(507);
      expect(answer.text).toMatch(/"code":"DISK_LOW".*below DATA_MIN_FREE_BYTES: the node keeps the recording/);

      // The node's side: the file waits in its outbox, tried again and again.
      mkdirSync(join(dir, file, '..'), { recursive: true });
      writeFileSync(join(dir, file), bytes);
      await outbox.start();
      outbox.begun({ id: recordingId, file }, String(t.id), startedAt, randomUUID());
      outbox.closed({ sessionId: randomUUID(), recordingId, ticketId: String(t.id), file, state: 'complete', problem: null, bytes: bytes.length, sha256: sha(bytes), startedAt, endedAt: Date.now(), durationMs: 5 });
      await new Promise((r) => setTimeout(r, 1_500));
      expect(outbox.pending).toBe(1);
      expect(filesIn(dir).sort()).toEqual([`.outbox/node-low/${recordingId}.hcrec`, `.outbox/node-low/${recordingId}.json`]);
      expect(filesIn(low.recordingsDir)).toEqual([]);
      expect(((await low.server.db('recordings').where({ id: recordingId }).first()) as RecordingRow).state).toBe('recording');
    } finally {
      stopHolder();
      outbox.close();
      await low.close();
    }
  }, 30_000);
});
