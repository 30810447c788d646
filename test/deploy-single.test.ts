// Through deploy/nginx.conf as written, over TLS, in front of one server
// process: a file of FILE_MAX_BYTES up and down with the same SHA-256 (the
// body limits follow the product's own: one byte more is the product's
// refusal in words, a big body elsewhere nginx's), the live queue (SSE), a
// viewer session with both websocket legs, and its recording downloaded.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { randomBytes } from 'node:crypto';
import { request as httpsRequest } from 'node:https';
import { ADMIN_PASSWORD, cookieOf, loginAt, openSse, type Tech } from './http-clients.ts';
import { CLIENT_KEY, legAt, startSingleServerFront, userAt, type SingleServerFront, type UserAt } from './single-server-front.ts';
import { FILE_MAX_BYTES, downloadHashed, sha } from './deploy-front.ts';


let f: SingleServerFront;
let ana: Tech;
let user: UserAt;

beforeAll(async () => {
  f = await startSingleServerFront({ RECORD_SESSIONS: 'on', UPLOAD_RATE_PER_MINUTE: '100', MAX_ACTIVE_TICKETS_PER_TECH: '10' });
  const admin = await loginAt(f.front, 'admin', ADMIN_PASSWORD);
  await admin.post('/api/v1/technicians', { username: 'ana', displayName: 'Ana', role: 'technician', password: 'ana-password-123' }).expect(201);
  ana = await loginAt(f.front, 'ana', 'ana-password-123');
  user = userAt('127.0.0.2');
}, 60_000);

afterAll(async () => {
  await user?.close();
  await f?.stop();
});

async function acceptedTicket(): Promise<{ id: number; bearer: Record<string, string> }> {
  const created = await user.json('POST', `${f.front}/api/v1/help-requests`, { requesterName: 'Eva', username: 'eva', hostname: 'eva-pc', os: 'Linux', description: 'files' }, { 'x-client-key': CLIENT_KEY });
  expect(created.status).toBe(201);
  await ana.post(`/api/v1/tickets/${created.body.id}/accept`).expect(200);
  return { id: created.body.id, bearer: { authorization: `Bearer ${created.body.clientSecret}` } };
}

/** POSTs `bytes` as a file through the front door; resolves with the status and the JSON (or nginx's page). */
async function upload(path: string, bytes: Buffer, headers: Record<string, string>): Promise<{ status: number; body: any; type: string }> {
  const res = await fetch(`${f.front}${path}`, { method: 'POST', headers: { ...headers, 'content-type': 'application/octet-stream' }, body: new Uint8Array(bytes) });
  const type = res.headers.get('content-type') ?? '';
  return { status: res.status, type, body: type.includes('json') ? await res.json() : await res.text() };
}

const download = (path: string, headers: Record<string, string>) => downloadHashed(`${f.front}${path}`, headers);

/** Declares `length` bytes and sends none: the answer is given on the headers alone. */
function declared(path: string, length: number, headers: Record<string, string>): Promise<{ status: number; type: string; body: string }> {
  return new Promise((resolve, reject) => {
    const req = httpsRequest(`${f.front}${path}`, { method: 'POST', headers: { ...headers, 'content-type': 'application/octet-stream', 'content-length': String(length) } }, (res) => {
      let body = '';
      res.on('data', (c: Buffer) => (body += c.toString()));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, type: String(res.headers['content-type']), body }));
    });
    req.on('error', reject);
    req.flushHeaders();
  });
}

describe('deploy/nginx.conf over TLS in front of one server', () => {
  it('plain HTTP is sent to HTTPS', async () => {
    const res = await fetch(`http://127.0.0.1:${f.httpPort}/queue`, { redirect: 'manual' });
    expect(res.status).toBe(301);
    expect(res.headers.get('location')).toMatch(/^https:\/\/127\.0\.0\.1\/queue$/);
  });

  it('a file of FILE_MAX_BYTES goes up and down both ways with the same SHA-256', async () => {
    const t = await acceptedTicket();
    const csrf = { cookie: await cookieOf(ana), 'x-csrf-token': ana.csrf };
    // Technician → user.
    const toUser = randomBytes(FILE_MAX_BYTES);
    const offered = await upload(`/api/v1/tickets/${t.id}/files?name=installer.bin`, toUser, csrf);
    expect(offered.status, String(offered.body).slice(0, 200)).toBe(201);
    expect(offered.body.file).toMatchObject({ size: FILE_MAX_BYTES, sha256: sha(toUser) });
    expect((await user.json('POST', `${f.front}/api/v1/help-requests/${t.id}/files/${offered.body.file.id}/accept`, {}, t.bearer)).status).toBe(200);
    const got = await download(`/api/v1/help-requests/${t.id}/files/${offered.body.file.id}`, t.bearer);
    expect(got).toMatchObject({ status: 200, size: FILE_MAX_BYTES, sha256: sha(toUser) });
    // User → technician.
    const toTech = randomBytes(FILE_MAX_BYTES);
    const sent = await upload(`/api/v1/help-requests/${t.id}/files?name=logs.tar`, toTech, t.bearer);
    expect(sent.status, String(sent.body).slice(0, 200)).toBe(201);
    const fetched = await download(`/api/v1/tickets/${t.id}/files/${sent.body.file.id}`, csrf);
    expect(fetched).toMatchObject({ status: 200, size: FILE_MAX_BYTES, sha256: sha(toTech) });
  }, 120_000);

  it('the body limits follow the product\'s own: one byte past FILE_MAX_BYTES is the product\'s refusal in words; elsewhere nginx keeps bodies small', async () => {
    const t = await acceptedTicket();
    const tooBig = await declared(`/api/v1/help-requests/${t.id}/files?name=big.bin`, FILE_MAX_BYTES + 1, t.bearer);
    expect(tooBig.status).toBe(413);
    expect(tooBig.type).toMatch(/json/); // the server's words, not nginx's page
    expect(JSON.parse(tooBig.body).error.code).toMatch(/TOO_LARGE/);
    const form = await upload('/api/v1/help-requests', randomBytes(1024 * 1024), { 'x-client-key': CLIENT_KEY });
    expect(form.status).toBe(413);
    expect(form.type).toMatch(/html/); // nginx's own: a megabyte is no help request
  });

  it('the live queue streams through (SSE), and a viewer session pairs both legs; its recording downloads whole', async () => {
    const queue = await openSse(`${f.front}/api/v1/events`, { cookie: await cookieOf(ana) });
    await queue.next((e) => e === 'snapshot');
    const created = await user.json('POST', `${f.front}/api/v1/help-requests`, { requesterName: 'Eva', username: 'eva', hostname: 'eva-pc', os: 'Linux', description: 'screen' }, { 'x-client-key': CLIENT_KEY });
    await queue.next((e, d) => e === 'ticket' && d.ticket.id === created.body.id, 5_000);
    queue.close();
    const id = created.body.id as number;
    const bearer = { authorization: `Bearer ${created.body.clientSecret}` };
    await ana.post(`/api/v1/tickets/${id}/accept`).expect(200);
    expect((await user.json('POST', `${f.front}/api/v1/help-requests/${id}/approve`, { viewOnly: false, recordingNoticeShown: true }, bearer)).status).toBe(200);
    const d = await user.json('POST', `${f.front}/api/v1/help-requests/${id}/desktop-token`, {}, bearer);
    const v = (await ana.post(`/api/v1/tickets/${id}/viewer-token`).expect(201)).body.url as string;
    expect(d.body.url).toMatch(new RegExp(`^wss://127\\.0\\.0\\.1:\\d+/wsServer\\?token=`));
    const desktop = await legAt(d.body.url, '127.0.0.2');
    const viewer = await legAt(v, '127.0.0.3', { origin: f.front });
    const screen = Buffer.concat([Buffer.from('RFB 003.008\n'), randomBytes(200_000)]);
    desktop.ws.send(screen);
    viewer.ws.send(Buffer.from('keys'));
    await expect.poll(() => Buffer.concat(viewer.received).length, { timeout: 10_000 }).toBe(screen.length);
    expect(Buffer.concat(viewer.received).equals(screen)).toBe(true);
    await expect.poll(() => Buffer.concat(desktop.received).toString()).toBe('keys');
    desktop.ws.close(1000);
    await viewer.closed;
    const recordings = async () => (await ana.get(`/api/v1/tickets/${id}`)).body.recordings as { id: string; state: string }[];
    await expect.poll(async () => (await recordings())[0]?.state, { timeout: 10_000 }).toBe('complete');
    const recording = (await recordings())[0]!;
    const file = await download(`/api/v1/recordings/${recording.id}/file?purpose=download`, { cookie: await cookieOf(ana) });
    expect(file.status).toBe(200);
    expect(file.size).toBeGreaterThan(screen.length / 2);
    expect(file.sha256).toBe(file.headers.get('x-recording-sha256'));
  }, 60_000);
});
