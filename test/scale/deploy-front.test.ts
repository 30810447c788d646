// Through deploy/nginx-scale.conf as written, over TLS, in front of two
// servers and two repeater nodes (topology.ts): a file of FILE_MAX_BYTES up
// and down (the servers share FILES_DIR, as they must), the live queue, a
// viewer session on a node with both legs from their users' own addresses,
// and its recording, handed over through the internal door, downloaded whole.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { randomBytes } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import request from 'supertest';
import { freshDatabase } from '../databases.ts';
import { ADMIN_PASSWORD, cookieOf, loginAt, openSse, type Tech } from '../http-clients.ts';
import { legAt } from '../single-server-front.ts';
import { FILE_MAX_BYTES, downloadHashed, sha } from '../deploy-front.ts';
import { clientKey, startTopology, type Topology } from './topology.ts';


let t: Topology;
let ana: Tech;
let admin: Tech;

beforeAll(async () => {
  const database = await freshDatabase('mysql');
  if (database.client !== 'mysql') throw new Error('the scale tests run on MariaDB');
  const shared = (name: string) => mkdtempSync(join(tmpdir(), `hd-${name}-`));
  t = await startTopology(
    database.url,
    { FILES_DIR: shared('files'), RECORDINGS_DIR: shared('recordings'), RECORD_SESSIONS: 'on', MAX_ACTIVE_TICKETS_PER_TECH: '10', UPLOAD_RATE_PER_MINUTE: '100' },
    { RECORDINGS_DIR: shared('node-recordings') },
  );
  admin = await loginAt(t.front, 'admin', ADMIN_PASSWORD);
  await admin.post('/api/v1/technicians', { username: 'ana', displayName: 'Ana', role: 'technician', password: 'ana-password-123' }).expect(201);
  ana = await loginAt(t.front, 'ana', 'ana-password-123');
}, 180_000);

afterAll(async () => {
  await t?.stop();
});

async function acceptedTicket(): Promise<{ id: number; bearer: Record<string, string> }> {
  const created = await request(t.front).post('/api/v1/help-requests').set(clientKey).send({ requesterName: 'Eva', username: 'eva', hostname: 'eva-pc', os: 'Linux', description: 'scale' }).expect(201);
  await ana.post(`/api/v1/tickets/${created.body.id}/accept`).expect(200);
  return { id: created.body.id as number, bearer: { authorization: `Bearer ${created.body.clientSecret}` } };
}

const download = (path: string, headers: Record<string, string>) => downloadHashed(`${t.front}${path}`, headers);

describe('deploy/nginx-scale.conf over TLS in front of two servers and two nodes', () => {
  it('a file of FILE_MAX_BYTES goes up and down with the same SHA-256', async () => {
    const tk = await acceptedTicket();
    const bytes = randomBytes(FILE_MAX_BYTES);
    const res = await fetch(`${t.front}/api/v1/help-requests/${tk.id}/files?name=logs.tar`, { method: 'POST', headers: { ...tk.bearer, 'content-type': 'application/octet-stream' }, body: new Uint8Array(bytes) });
    const text = await res.text();
    expect(res.status, text.slice(0, 200)).toBe(201);
    const file = (JSON.parse(text) as { file: { id: string; sha256: string } }).file;
    expect(file.sha256).toBe(sha(bytes));
    // Downloaded as often as there are servers behind nginx: each answers with the same bytes.
    for (let i = 0; i < 2; i++) expect(await download(`/api/v1/tickets/${tk.id}/files/${file.id}`, { cookie: await cookieOf(ana) })).toMatchObject({ status: 200, size: FILE_MAX_BYTES, sha256: sha(bytes) });
  }, 120_000);

  it('the live queue streams through; a session pairs on its node from its users\' own addresses; its recording downloads whole', async () => {
    const queue = await openSse(`${t.front}/api/v1/events`, { cookie: await cookieOf(ana) });
    await queue.next((e) => e === 'snapshot');
    const tk = await acceptedTicket();
    await queue.next((e, d) => e === 'ticket' && d.ticket.id === tk.id, 5_000);
    queue.close();
    await request(t.front).post(`/api/v1/help-requests/${tk.id}/approve`).set(tk.bearer).send({ viewOnly: false, recordingNoticeShown: true }).expect(200);
    const d = (await request(t.front).post(`/api/v1/help-requests/${tk.id}/desktop-token`).set(tk.bearer).expect(201)).body.url as string;
    const v = (await ana.post(`/api/v1/tickets/${tk.id}/viewer-token`).expect(201)).body.url as string;
    expect(d).toMatch(/^wss:\/\/127\.0\.0\.1:\d+\/r\/node-[12]\/wsServer\?token=/);
    const desktop = await legAt(d, '127.0.0.2');
    const viewer = await legAt(v, '127.0.0.3', { origin: t.front });
    const screen = Buffer.concat([Buffer.from('RFB 003.008\n'), randomBytes(200_000)]);
    desktop.ws.send(screen);
    viewer.ws.send(Buffer.from('keys'));
    await expect.poll(() => Buffer.concat(viewer.received).length, { timeout: 10_000 }).toBe(screen.length);
    expect(Buffer.concat(viewer.received).equals(screen)).toBe(true);
    await expect.poll(() => Buffer.concat(desktop.received).toString()).toBe('keys');
    // The node saw the user, not nginx.
    const waiting = (await admin.get(`/api/v1/audit?action=session.desktop_waiting&ticketId=${tk.id}`).expect(200)).body.events as { remoteAddress: string }[];
    expect(waiting.map((e) => e.remoteAddress)).toEqual(['127.0.0.2']);
    desktop.ws.close(1000);
    await viewer.closed;
    const recordings = async () => (await ana.get(`/api/v1/tickets/${tk.id}`)).body.recordings as { id: string; state: string }[];
    await expect.poll(async () => (await recordings())[0]?.state, { timeout: 20_000 }).toBe('complete');
    const file = await download(`/api/v1/recordings/${(await recordings())[0]!.id}/file?purpose=download`, { cookie: await cookieOf(ana) });
    expect(file.status).toBe(200);
    expect(file.size).toBeGreaterThan(screen.length / 2);
    expect(file.sha256).toBe(file.headers.get('x-recording-sha256'));
  }, 60_000);
});
