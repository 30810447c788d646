// The disk watermark (DATA_MIN_FREE_BYTES) through the real server on both
// engines: set above the disk's real free space, every upload — the user's and
// a technician's — is refused in words (507 DISK_LOW) before its body is read
// and leaves nothing behind; administrators, and only they, are told on every
// page, in their language. Set just below it, what uploads in progress may
// still write counts, and free space is measured again while a body streams.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtempSync, readdirSync, rmSync, statfsSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { engines } from '../test/databases.ts';
import { ADMIN_PASSWORD, cookieOf, startHarness, type Harness, type Tech } from '../test/server-harness.ts';
import { declaredOnly, heldUpload, type HeldUpload } from '../test/raw-upload.ts';
import { WebSocket } from 'ws';

function wsOpen(url: string, origin?: string): Promise<WebSocket> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, origin ? { origin } : {});
    ws.once('open', () => resolve(ws)).once('error', reject);
  });
}

const bearer = (secret: string) => ({ Authorization: `Bearer ${secret}` });
const octets = { 'content-type': 'application/octet-stream' };

describe.each(engines)('a disk below DATA_MIN_FREE_BYTES on %s', (engine) => {
  let h: Harness;
  let admin: Tech;
  let ana: Tech;
  const filesDir = mkdtempSync(join(tmpdir(), 'hd-disk-low-'));
  const fs = statfsSync(filesDir);
  // More than this disk has free: the watermark trips for real.
  const minFree = fs.bavail * fs.bsize * 2 + 1024 ** 3;
  beforeAll(async () => {
    h = await startHarness(engine, { MAX_ACTIVE_TICKETS_PER_TECH: '50', FILES_DIR: filesDir, DATA_MIN_FREE_BYTES: String(minFree), RECORD_SESSIONS: 'on' });
    admin = await h.login('admin', ADMIN_PASSWORD);
    ana = await h.freshTechnician(admin, 'ana');
  }, 60_000);
  afterAll(async () => {
    await h?.close();
  });

  it('refuses the user\'s and the technician\'s uploads in words, before reading them, and keeps nothing', async () => {
    const t = await h.helpRequest();
    await ana.post(`/api/v1/tickets/${t.id}/accept`).expect(200);
    const low = await h.api.post(`/api/v1/help-requests/${t.id}/files`).query({ name: 'log.txt' }).set({ ...bearer(t.secret), ...octets }).send(Buffer.from('a log')).expect(507);
    expect(low.body.error).toEqual({ code: 'DISK_LOW', message: 'The server is short of disk space: files cannot be sent until an administrator frees some' });
    const chinese = await h.api.post(`/api/v1/help-requests/${t.id}/files`).query({ name: 'log.txt' }).set({ ...bearer(t.secret), ...octets, 'accept-language': 'zh' }).send(Buffer.from('a log')).expect(507);
    expect(chinese.body.error.message).toBe('服务器磁盘空间不足：管理员释放空间之前无法发送文件。');
    const raw = await declaredOnly(h.server.url, `/api/v1/help-requests/${t.id}/files?name=big.iso`, { authorization: `Bearer ${t.secret}` }, 100_000);
    expect(raw).toMatch(/^HTTP\/1\.1 507/);
    expect(raw).toContain('"code":"DISK_LOW"');
    const offered = await fetch(`${h.server.url}/api/v1/tickets/${t.id}/files?name=fix.sh`, {
      method: 'POST',
      headers: { cookie: await cookieOf(ana), 'x-csrf-token': ana.csrf, ...octets },
      body: new Uint8Array(1000),
    });
    expect(offered.status).toBe(507);
    expect(((await offered.json()) as { error: { code: string } }).error.code).toBe('DISK_LOW');
    expect(readdirSync(filesDir, { recursive: true })).toEqual([]);
    expect((await h.api.get(`/api/v1/help-requests/${t.id}/files`).set(bearer(t.secret)).expect(200)).body.files).toEqual([]);
  });

  it('administrators see a notice on every page, in their language; technicians do not', async () => {
    for (const path of ['/queue', '/technicians', '/history']) {
      const page = await admin.get(path).expect(200);
      expect(page.text).toContain('id="disk-low"');
      expect(page.text).toContain(`Disk space is low where files sent on tickets are kept (${filesDir})`);
      expect(page.text).toContain(`Disk space is low where recordings are kept (${h.recordingsDir})`);
    }
    const spanish = await admin.get('/queue').set('accept-language', 'es').expect(200);
    expect(spanish.text).toContain(`Queda poco espacio en disco donde se guardan los archivos de los tickets (${filesDir})`);
    const technician = await ana.get('/queue').expect(200);
    expect(technician.text).not.toContain('id="disk-low"');
  });

  it('lets a session run unrecorded, and writes nothing under the recordings directory', async () => {
    const t = await h.helpRequest();
    await ana.post(`/api/v1/tickets/${t.id}/accept`).expect(200);
    const approved = await h.api.post(`/api/v1/help-requests/${t.id}/approve`).set(bearer(t.secret)).send({ viewOnly: false, recordingNoticeShown: true }).expect(200);
    expect(approved.body).toBeTruthy();
    const d = (await h.api.post(`/api/v1/help-requests/${t.id}/desktop-token`).set(bearer(t.secret)).expect(201)).body as { url: string };
    const v = (await ana.post(`/api/v1/tickets/${t.id}/viewer-token`).expect(201)).body as { url: string };
    const desktop = await wsOpen(d.url);
    const viewer = await wsOpen(v.url, h.server.url);
    const got = new Promise<Buffer>((resolve) => viewer.once('message', resolve));
    desktop.send(Buffer.from('RFB 003.008\n'));
    expect((await got).toString()).toBe('RFB 003.008\n');
    await h.api.post(`/api/v1/help-requests/${t.id}/end`).set(bearer(t.secret)).expect(200);
    // The repeater's events are handled in order per ticket: once the end is in, so is everything before it.
    const actions = async () => ((await ana.get(`/api/v1/tickets/${t.id}`).expect(200)).body.timeline as { action: string }[]).map((e) => e.action);
    await expect.poll(actions).toContain('session.ended');
    const detail = await ana.get(`/api/v1/tickets/${t.id}`).expect(200);
    expect(detail.body.ticket.recorded).toBe(true);
    expect(detail.body.recordings).toEqual([]);
    // A record that says why not: the timeline tells the session was not recorded, and why.
    expect(detail.body.timeline.map((e: { action: string }) => e.action)).toContain('session.not_recorded');
    const page = await admin.get(`/tickets/${t.id}`).expect(200);
    expect(page.text).toContain('the session was not recorded: the disk where recordings are kept is below DATA_MIN_FREE_BYTES.');
    expect(readdirSync(h.recordingsDir, { recursive: true }).filter((f) => String(f).includes(`${t.id}-`))).toEqual([]);
  });
});

describe('a disk below DATA_MIN_FREE_BYTES with RECORDING_REQUIRED=on', () => {
  let h: Harness;
  afterAll(async () => {
    await h?.close();
  });

  it('refuses a recorded session\'s legs in words (503 RECORDING_UNAVAILABLE) instead of letting it run unrecorded', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'hd-disk-low-'));
    const fs = statfsSync(dir);
    h = await startHarness('sqlite', { DATA_MIN_FREE_BYTES: String(fs.bavail * fs.bsize * 2 + 1024 ** 3), RECORD_SESSIONS: 'on', RECORDING_REQUIRED: 'on', RECORDINGS_DIR: dir });
    const admin = await h.login('admin', ADMIN_PASSWORD);
    const ana = await h.freshTechnician(admin, 'ana');
    const t = await h.helpRequest();
    await ana.post(`/api/v1/tickets/${t.id}/accept`).expect(200);
    await h.api.post(`/api/v1/help-requests/${t.id}/approve`).set(bearer(t.secret)).send({ viewOnly: false, recordingNoticeShown: true }).expect(200);
    const d = (await h.api.post(`/api/v1/help-requests/${t.id}/desktop-token`).set(bearer(t.secret)).expect(201)).body as { url: string };
    const refusal = await new Promise<{ status: number; body: string }>((resolve, reject) => {
      const ws = new WebSocket(d.url);
      ws.once('open', () => reject(new Error('the leg was let in')));
      ws.once('unexpected-response', (_req, res) => {
        let body = '';
        res.on('data', (c: Buffer) => (body += c.toString()));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
      });
    });
    expect(refusal.status).toBe(503);
    expect(JSON.parse(refusal.body)).toMatchObject({ error: { code: 'RECORDING_UNAVAILABLE', message: expect.stringMatching(/must be recorded.*free space/) } });
    expect(readdirSync(dir, { recursive: true })).toEqual([]);
  });
});

describe.each(engines)('the disk watermark turned off (0) on %s', (engine) => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness(engine, { DATA_MIN_FREE_BYTES: '0' });
  }, 60_000);
  afterAll(async () => {
    await h?.close();
  });

  it('shows no notice and lets an accepted request\'s files through', async () => {
    const admin = await h.login('admin', ADMIN_PASSWORD);
    expect((await admin.get('/queue').expect(200)).text).not.toContain('id="disk-low"');
    const ana = await h.freshTechnician(admin, 'ana');
    const t = await h.helpRequest();
    await ana.post(`/api/v1/tickets/${t.id}/accept`).expect(200);
    await h.api.post(`/api/v1/help-requests/${t.id}/files`).query({ name: 'log.txt' }).set({ ...bearer(t.secret), ...octets }).send(Buffer.from('a log')).expect(201);
  });
});

const GiB = 1024 ** 3;
const freeBytes = (dir: string) => {
  const fs = statfsSync(dir);
  return fs.bavail * fs.bsize;
};
const status = (u: HeldUpload) => Number(/^HTTP\/1\.1 (\d{3})/.exec(u.answer())?.[1]);
const error = (u: HeldUpload) => (JSON.parse(u.answer().slice(u.answer().indexOf('\r\n\r\n') + 4)) as { error: { code: string; message: string } }).error;
const diskLow = { code: 'DISK_LOW', message: 'The server is short of disk space: files cannot be sent until an administrator frees some' };

// The watermark 2 GiB below the disk's free space: wide enough that other
// writers on this disk meanwhile do not change what is asserted (bodies are
// declared, not sent). Needs a disk with some room.
describe.runIf(freeBytes(tmpdir()) > 4 * GiB).each(engines)('uploads in progress just above DATA_MIN_FREE_BYTES on %s', (engine) => {
  let h: Harness;
  let ana: Tech;
  const filesDir = mkdtempSync(join(tmpdir(), 'hd-disk-room-'));
  const parts = () => readdirSync(filesDir, { recursive: true }).map(String).filter((f) => f.endsWith('.part'));
  const reservations = () => h.rows('upload_reservations');
  beforeAll(async () => {
    const limits = { FILE_MAX_BYTES: String(4 * GiB), FILE_MAX_BYTES_PER_TICKET: '0', FILE_MAX_BYTES_PER_ADDRESS: '0', FILE_MAX_TOTAL_BYTES: '0' };
    h = await startHarness(engine, { MAX_ACTIVE_TICKETS_PER_TECH: '50', UPLOAD_RATE_PER_MINUTE: '1000', FILES_DIR: filesDir, DATA_MIN_FREE_BYTES: String(freeBytes(filesDir) - 2 * GiB), ...limits });
    ana = await h.freshTechnician(await h.login('admin', ADMIN_PASSWORD), 'ana');
  }, 60_000);
  afterAll(async () => {
    await h?.close();
  });

  const accepted = () => h.acceptedRequest(ana);
  const hold = (t: { id: number; secret: string }, length: number | null) => heldUpload(h.server.url, `/api/v1/help-requests/${t.id}/files?name=disk.img`, bearer(t.secret), length);

  it('what uploads in progress may still write counts: one that would take the disk below the watermark is refused in words before it is read; a chunked one counts all it may have', async () => {
    const t = await accepted();
    const first = await hold(t, 1.5 * GiB);
    await expect.poll(() => parts().length).toBe(1);
    const second = await hold(t, 1.5 * GiB);
    await expect.poll(() => second.answered()).toBe(true);
    expect([status(second), error(second)]).toEqual([507, diskLow]);
    expect(first.answered()).toBe(false);
    first.drop();
    await expect.poll(reservations).toBe(0);
    expect(parts()).toEqual([]);
    // No length: it may have all the room above the watermark, so that room is taken while it runs.
    const chunked = await hold(t, null);
    await expect.poll(() => parts().length).toBe(1);
    const after = await hold(t, 512 * 1024 ** 2);
    await expect.poll(() => after.answered()).toBe(true);
    expect([status(after), error(after)]).toEqual([507, diskLow]);
    chunked.drop();
    await expect.poll(reservations).toBe(0);
    const again = await hold(t, 1.5 * GiB);
    await expect.poll(() => parts().length).toBe(1);
    expect(again.answered()).toBe(false);
    for (const u of [second, after, again]) u.drop();
    await expect.poll(reservations).toBe(0);
  });

  it('free space is measured again while a body streams: another writer taking the room stops the upload with DISK_LOW in words, and nothing of it is kept', async () => {
    const t = await accepted();
    const upload = await hold(t, null);
    await expect.poll(() => parts().length).toBe(1);
    const filler = join(filesDir, 'another-writer.bin');
    try {
      for (let i = 0; i < 8; i++) writeFileSync(filler, Buffer.alloc(8 * 1024 ** 2, 1), { flag: 'a' });
      upload.finish(8 * 1024 ** 2);
      await expect.poll(() => upload.answered()).toBe(true);
      expect([status(upload), error(upload)]).toEqual([507, diskLow]);
      await expect.poll(() => parts()).toEqual([]);
      await expect.poll(reservations).toBe(0);
      expect((await h.api.get(`/api/v1/help-requests/${t.id}/files`).set(bearer(t.secret)).expect(200)).body.files).toEqual([]);
    } finally {
      upload.drop();
      rmSync(filler, { force: true });
    }
  });
});
