// The disk watermark (DATA_MIN_FREE_BYTES) through the real server on both
// engines: set above the disk's real free space, every upload — the user's and
// a technician's — is refused in words (507 DISK_LOW) before its body is read
// and leaves nothing behind; administrators, and only they, are told on every
// page, in their language.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtempSync, readdirSync, statfsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { engines } from '../test/databases.ts';
import { ADMIN_PASSWORD, cookieOf, startHarness, type Harness, type Tech } from '../test/server-harness.ts';
import { declaredOnly } from '../test/raw-upload.ts';
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
    await expect.poll(async () => (await ana.get(`/api/v1/tickets/${t.id}`).expect(200)).body.sessions.length).toBe(1);
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
