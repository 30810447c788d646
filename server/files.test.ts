// Files on a ticket through the real server on both engines, real files on
// disk: offered to the user, accepted or refused; sent by the user; SHA-256 on
// both sides; refused early when too big; only as attachments; what a crash
// left in the files directory cleaned up by housekeeping.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createHash, randomBytes, randomUUID } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, utimesSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { engines } from '../test/databases.ts';
import { ADMIN_PASSWORD, cookieOf, openSse, startHarness, type Harness, type Tech } from '../test/server-harness.ts';

const MAX = 1024 * 1024;
const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');

describe.each(engines)('files on %s', (engine) => {
  let h: Harness;
  let admin: Tech;
  const filesDir = mkdtempSync(join(tmpdir(), 'hd-files-test-'));
  const stored = () => readdirSync(filesDir, { recursive: true }).map(String).filter((f) => /[0-9a-f-]{36}/.test(f));
  beforeAll(async () => {
    h = await startHarness(engine, { MAX_ACTIVE_TICKETS_PER_TECH: '20', FILE_MAX_BYTES: String(MAX), FILES_DIR: filesDir });
    admin = await h.login('admin', ADMIN_PASSWORD);
  }, 60_000);
  afterAll(async () => {
    await h?.close();
  });

  const bearer = (secret: string) => ({ Authorization: `Bearer ${secret}` });
  const binary = (res: import('supertest').Response) => res.body as Buffer;
  const asBuffer = (req: import('supertest').Test) =>
    req.buffer(true).parse((res, done) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => done(null, Buffer.concat(chunks)));
    });

  async function heldTicket(ana: Tech) {
    const t = await h.helpRequest();
    await ana.post(`/api/v1/tickets/${t.id}/accept`).expect(200);
    return t;
  }

  const offer = async (tech: Tech, id: number, name: string, bytes: Buffer) =>
    fetch(`${h.server.url}/api/v1/tickets/${id}/files?name=${encodeURIComponent(name)}`, {
      method: 'POST',
      headers: { cookie: await cookieOf(tech), 'x-csrf-token': tech.csrf, 'content-type': 'application/octet-stream' },
      body: new Uint8Array(bytes),
    });

  it('a technician offers a file; the user sees it live, accepts, downloads it as an attachment with the same SHA-256; all audited', async () => {
    const ana = await h.freshTechnician(admin, 'ana');
    const t = await heldTicket(ana);
    const user = await openSse(`${h.server.url}/api/v1/help-requests/${t.id}/events`, bearer(t.secret));
    const bytes = randomBytes(300_000);
    const res = await offer(ana, t.id, 'driver installer.sh', bytes);
    expect(res.status).toBe(201);
    const { file } = (await res.json()) as { file: { id: string; sha256: string; state: string; size: number } };
    expect(file).toMatchObject({ state: 'offered', size: bytes.length, sha256: sha(bytes), direction: 'to_user', senderName: 'Ana' });
    const live = await user.next((event) => event === 'file', 1000);
    expect(live.data).toEqual(file);
    const early = await h.api.get(`/api/v1/help-requests/${t.id}/files/${file.id}`).set(bearer(t.secret)).expect(409);
    expect(early.body.error.code).toBe('FILE_NOT_ACCEPTED');
    await h.api.post(`/api/v1/help-requests/${t.id}/files/${file.id}/accept`).set(bearer(t.secret)).expect(200);
    const got = await asBuffer(h.api.get(`/api/v1/help-requests/${t.id}/files/${file.id}`).set(bearer(t.secret))).expect(200);
    expect(sha(binary(got))).toBe(file.sha256);
    expect(got.headers['content-disposition']).toBe('attachment; filename="driver installer.sh"; filename*=UTF-8\'\'driver%20installer.sh');
    expect(got.headers['x-content-type-options']).toBe('nosniff');
    expect(got.headers['content-type']).toBe('application/octet-stream');
    const again = await h.api.post(`/api/v1/help-requests/${t.id}/files/${file.id}/refuse`).set(bearer(t.secret)).expect(409);
    expect(again.body.error.code).toBe('FILE_NOT_OFFERED');
    const actions = (await ana.get(`/api/v1/tickets/${t.id}`).expect(200)).body.timeline.map((e: { action: string }) => e.action);
    expect(actions).toEqual(expect.arrayContaining(['file.sent', 'file.accepted', 'file.downloaded']));
    user.close();
  });

  it('a refused file is deleted; the user sends one back with markup in its name; the holder downloads it, others get 403', async () => {
    const ana = await h.freshTechnician(admin, 'ana');
    const eve = await h.freshTechnician(admin, 'eve');
    const t = await heldTicket(ana);
    const before = stored().length;
    const res = await offer(ana, t.id, 'unwanted.bin', randomBytes(1000));
    const { file } = (await res.json()) as { file: { id: string } };
    expect(stored().length).toBe(before + 1);
    await h.api.post(`/api/v1/help-requests/${t.id}/files/${file.id}/refuse`).set(bearer(t.secret)).expect(200);
    expect(stored().length).toBe(before);
    expect((await ana.get(`/api/v1/tickets/${t.id}/files/${file.id}`).expect(410)).body.error.code).toBe('FILE_PURGED');

    const staff = await openSse(`${h.server.url}/api/v1/events`, { cookie: await cookieOf(ana) });
    const log = Buffer.from('line 1\nline 2 <script>alert(1)</script>\n');
    const sent = await h.api
      .post(`/api/v1/help-requests/${t.id}/files`)
      .query({ name: '<img src=x onerror=alert(1)>.log' })
      .set({ ...bearer(t.secret), 'content-type': 'application/octet-stream' })
      .send(log)
      .expect(201);
    expect(sent.body.file).toMatchObject({ direction: 'to_technician', state: 'available', name: '<img src=x onerror=alert(1)>.log', sha256: sha(log) });
    const live = await staff.next((event, data) => event === 'file' && data.file.id === sent.body.file.id, 1000);
    expect(live.data.ticketId).toBe(t.id);
    const got = await asBuffer(ana.get(`/api/v1/tickets/${t.id}/files/${sent.body.file.id}`)).expect(200);
    expect(binary(got).equals(log)).toBe(true);
    expect(got.headers['content-disposition']).toBe(`attachment; filename="<img src=x onerror=alert(1)>.log"; filename*=UTF-8''${encodeURIComponent('<img src=x onerror=alert(1)>.log')}`);
    expect((await eve.get(`/api/v1/tickets/${t.id}/files/${sent.body.file.id}`).expect(403)).body.error.code).toBe('FORBIDDEN');
    expect((await offer(eve, t.id, 'x.txt', Buffer.from('x'))).status).toBe(403);
    const page = await ana.get(`/tickets/${t.id}`).expect(200);
    expect(page.text).toContain('&lt;img src=x onerror=alert(1)&gt;.log');
    expect(page.text).not.toContain('<img src=x onerror=alert(1)>');
    staff.close();
  });

  it('refuses a file too big before reading it (declared length) and as it grows (chunked), and leaves nothing behind', async () => {
    const ana = await h.freshTechnician(admin, 'ana');
    const t = await heldTicket(ana);
    const before = stored();
    // Declared too big: the answer comes though the body is not sent.
    const answer = await new Promise<string>((resolve, reject) => {
      const url = new URL(h.server.url);
      const socket = connect(Number(url.port), url.hostname, () => {
        socket.write(
          `POST /api/v1/help-requests/${t.id}/files?name=big.iso HTTP/1.1\r\nHost: ${url.host}\r\nAuthorization: Bearer ${t.secret}\r\n` +
            `Content-Type: application/octet-stream\r\nContent-Length: ${MAX * 2}\r\n\r\n` +
            'only a few bytes',
        );
      });
      let data = '';
      socket.on('data', (d) => (data += d.toString()));
      socket.on('close', () => resolve(data));
      socket.on('error', reject);
      setTimeout(() => socket.destroy(new Error(`no answer; got ${data}`)), 5_000);
    });
    expect(answer).toMatch(/^HTTP\/1\.1 413/);
    expect(answer).toContain('"code":"FILE_TOO_LARGE"');
    expect(answer).toContain(`this one is ${MAX * 2} bytes`);
    // Chunked (no length): cut off once past the limit.
    const chunked = await fetch(`${h.server.url}/api/v1/help-requests/${t.id}/files?name=stream.bin`, {
      method: 'POST',
      headers: { ...bearer(t.secret), 'content-type': 'application/octet-stream' },
      body: new ReadableStream({
        start(controller) {
          for (let i = 0; i < 20; i++) controller.enqueue(new Uint8Array(128 * 1024));
          controller.close();
        },
      }),
      duplex: 'half',
    } as RequestInit).catch((err: Error) => err);
    if (chunked instanceof Response) {
      expect(chunked.status).toBe(413);
      expect(((await chunked.json()) as { error: { code: string } }).error.code).toBe('FILE_TOO_LARGE');
    }
    await expect.poll(() => stored()).toEqual(before);
    expect(readdirSync(filesDir, { recursive: true }).map(String).filter((f) => f.endsWith('.part'))).toEqual([]);
    expect((await h.api.get(`/api/v1/help-requests/${t.id}/files`).set(bearer(t.secret)).expect(200)).body.files).toEqual([]);
    // A bad name.
    const bad = await h.api.post(`/api/v1/help-requests/${t.id}/files`).query({ name: '../etc/passwd' }).set({ ...bearer(t.secret), 'content-type': 'application/octet-stream' }).send(Buffer.from('x')).expect(400);
    expect(bad.body.error.code).toBe('FILE_NAME_INVALID');
  });

  it('retention: files past FILE_RETENTION_DAYS are deleted by housekeeping; rows stay, marked purged, and a download says so', async () => {
    const first = await h.freshTechnician(admin, 'ana');
    const t = await heldTicket(first);
    const sent = await h.api.post(`/api/v1/help-requests/${t.id}/files`).query({ name: 'old.log' }).set({ ...bearer(t.secret), 'content-type': 'application/octet-stream' }).send(Buffer.from('old')).expect(201);
    const before = stored().length;
    h.clock.advance(31 * 24 * 3_600_000);
    try {
      expect(await h.server.housekeeping()).toBe(true);
    } finally {
      h.clock.advance(-31 * 24 * 3_600_000);
    }
    expect(stored().length).toBeLessThan(before);
    const ana = await h.login(first.username, first.password); // the same round purged idle web sessions
    const list = (await ana.get(`/api/v1/tickets/${t.id}/files`).expect(200)).body.files;
    expect(list).toEqual([expect.objectContaining({ id: sent.body.file.id, state: 'purged', sha256: sent.body.file.sha256 })]);
    expect((await ana.get(`/api/v1/tickets/${t.id}/files/${sent.body.file.id}`).expect(410)).body.error.code).toBe('FILE_PURGED');
    admin = await h.login('admin', ADMIN_PASSWORD);
  });

  it('housekeeping removes what a crash left: parts older than the upload deadline, stored files no row keeps after a day; recent ones and recorded files stay', async () => {
    const ana = await h.freshTechnician(admin, 'ana');
    const t = await heldTicket(ana);
    const sent = await h.api.post(`/api/v1/help-requests/${t.id}/files`).query({ name: 'kept.log' }).set({ ...bearer(t.secret), 'content-type': 'application/octet-stream' }).send(Buffer.from('kept')).expect(201);
    const { storage } = (await h.server.db('ticket_files').where({ id: sent.body.file.id }).first('storage')) as { storage: string };
    const month = storage.split('/')[0]!;
    const MINUTE = 60_000;
    const DAY = 24 * 60 * MINUTE;
    // A file's age is its modification time (as a crash left it), set back here.
    const aged = (name: string, ageMs: number) => {
      const path = join(filesDir, name);
      mkdirSync(dirname(path), { recursive: true });
      if (!existsSync(path)) writeFileSync(path, 'left by a crash');
      const at = new Date(Date.now() - ageMs);
      utimesSync(path, at, at);
      return name;
    };
    const gone = [
      aged(`${month}/${randomUUID()}.part`, 10 * MINUTE), // an upload whose server died
      aged(`${month}/${randomUUID()}`, 2 * DAY), // renamed into place, never recorded
      aged(`2020-01/${randomUUID()}`, 400 * DAY),
    ];
    const stay = [
      aged(`${month}/${randomUUID()}.part`, MINUTE), // an upload under way
      aged(`${month}/${randomUUID()}`, 3_600_000), // its row may still be on its way
      aged(storage, 2 * DAY), // recorded: its row keeps it
      aged(`${month}/notes.txt`, 400 * DAY), // not a name the server writes
    ];
    expect(await h.server.housekeeping()).toBe(true);
    expect(gone.filter((name) => existsSync(join(filesDir, name)))).toEqual([]);
    expect(stay.filter((name) => existsSync(join(filesDir, name)))).toEqual(stay);
    const got = await asBuffer(ana.get(`/api/v1/tickets/${t.id}/files/${sent.body.file.id}`)).expect(200);
    expect(binary(got).toString()).toBe('kept');
  });
});
