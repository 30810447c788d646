// The upload budget through the real server on both engines, real files on
// disk (issue 25, "anonymous disk fill"): a user sends files only once a
// technician has accepted; bytes per request, per client address over a day
// and in all are counted from the database (a second service on the same
// database agrees, and two uploads racing for the last bytes cannot both
// win); every refusal is in words, and leaves no file and no row behind.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { engines } from '../test/databases.ts';
import { ADMIN_PASSWORD, cookieOf, startHarness, type Harness, type Tech } from '../test/server-harness.ts';
import { systemClock } from './clock.ts';
import { EventBus } from './events/event-bus.ts';
import { createFileService } from './files/service.ts';
import { declaredOnly } from '../test/raw-upload.ts';

const KiB = 1024;
const MiB = 1024 * KiB;
const bearer = (secret: string) => ({ Authorization: `Bearer ${secret}` });
const octets = { 'content-type': 'application/octet-stream' };

describe.each(engines)('the upload budget on %s', (engine) => {
  let h: Harness;
  let admin: Tech;
  let ana: Tech & { username: string; password: string };
  const filesDir = mkdtempSync(join(tmpdir(), 'hd-budget-test-'));
  const onDisk = () => readdirSync(filesDir, { recursive: true }).map(String).filter((f) => /[0-9a-f-]{36}/.test(f));
  const rows = () => h.rows('ticket_files');
  beforeAll(async () => {
    h = await startHarness(engine, {
      MAX_ACTIVE_TICKETS_PER_TECH: '50',
      UPLOAD_RATE_PER_MINUTE: '1000',
      FILES_DIR: filesDir,
      FILE_MAX_BYTES: String(MiB),
      FILE_MAX_BYTES_PER_TICKET: String(1.5 * MiB),
      FILE_MAX_BYTES_PER_ADDRESS: String(2.5 * MiB),
    });
    admin = await h.login('admin', ADMIN_PASSWORD);
    ana = await h.freshTechnician(admin, 'ana');
  }, 60_000);
  afterAll(async () => {
    await h?.close();
  });

  const send = (t: { id: number; secret: string }, size: number, from = '203.0.113.1', lang = 'en') =>
    h.api.post(`/api/v1/help-requests/${t.id}/files`).query({ name: 'log.txt' }).set({ ...bearer(t.secret), ...octets, 'x-forwarded-for': from, 'accept-language': lang }).send(randomBytes(size));
  const accepted = () => h.acceptedRequest(ana);

  it('a user may send a file only once a technician has accepted: before, and after a release, refused in words before a byte is stored', async () => {
    const t = await h.helpRequest();
    const [filesBefore, rowsBefore] = [onDisk(), await rows()];
    const early = await send(t, 1 * KiB).expect(409);
    expect(early.body.error).toEqual({ code: 'UPLOAD_BEFORE_ACCEPT', message: 'A file can be sent once a technician has accepted your request; it is still waiting in the queue' });
    const spanish = await send(t, 1 * KiB, '203.0.113.1', 'es').expect(409);
    expect(spanish.body.error.message).toBe('Podrá enviar un archivo cuando un técnico haya aceptado su solicitud.');
    // Declared large, only a few bytes sent: the answer comes without the body being read.
    const raw = await declaredOnly(h.server.url, `/api/v1/help-requests/${t.id}/files?name=big.iso`, { authorization: `Bearer ${t.secret}` }, 900 * KiB);
    expect(raw).toMatch(/^HTTP\/1\.1 409/);
    expect(raw).toContain('"code":"UPLOAD_BEFORE_ACCEPT"');
    expect(onDisk()).toEqual(filesBefore);
    expect(await rows()).toBe(rowsBefore);

    await ana.post(`/api/v1/tickets/${t.id}/accept`).expect(200);
    expect((await send(t, 1 * KiB).expect(201)).body.file).toMatchObject({ direction: 'to_technician', size: 1 * KiB });
    await ana.post(`/api/v1/tickets/${t.id}/release`).expect(200);
    expect((await send(t, 1 * KiB).expect(409)).body.error.code).toBe('UPLOAD_BEFORE_ACCEPT');
    expect(onDisk()).toHaveLength(filesBefore.length + 1);
  });

  it('the files of one request stay under FILE_MAX_BYTES_PER_TICKET: declared, refused before reading; chunked, cut off; nothing partial kept', async () => {
    const t = await accepted();
    await send(t, MiB, '203.0.113.2').expect(201);
    await send(t, 400 * KiB, '203.0.113.2').expect(201);
    const [filesBefore, rowsBefore] = [onDisk(), await rows()];
    const over = await send(t, 200 * KiB, '203.0.113.2').expect(413);
    expect(over.body.error.code).toBe('FILE_QUOTA_TICKET');
    expect(over.body.error.message).toBe(`The files of one request may take at most 1.5 MiB; this one keeps 1.4 MiB already; this one is ${200 * KiB} bytes`);
    expect((await send(t, 200 * KiB, '203.0.113.2', 'zh').expect(413)).body.error.message).toBe('一个请求的文件最多占用 1.5 MiB；此请求已保存 1.4 MiB。');
    const raw = await declaredOnly(h.server.url, `/api/v1/help-requests/${t.id}/files?name=big.iso`, { authorization: `Bearer ${t.secret}`, 'x-forwarded-for': '203.0.113.2' }, 200 * KiB);
    expect(raw).toMatch(/^HTTP\/1\.1 413/);
    expect(raw).toContain('"code":"FILE_QUOTA_TICKET"');
    // No length declared: the stream is cut where the request's budget ends.
    const chunked = await fetch(`${h.server.url}/api/v1/help-requests/${t.id}/files?name=stream.bin`, {
      method: 'POST',
      headers: { ...bearer(t.secret), ...octets, 'x-forwarded-for': '203.0.113.2' },
      body: new ReadableStream({
        start(controller) {
          for (let i = 0; i < 8; i++) controller.enqueue(new Uint8Array(32 * KiB));
          controller.close();
        },
      }),
      duplex: 'half',
    } as RequestInit).catch((err: Error) => err);
    if (chunked instanceof Response) {
      expect(chunked.status).toBe(413);
      expect(((await chunked.json()) as { error: { code: string } }).error.code).toBe('FILE_QUOTA_TICKET');
    }
    await expect.poll(() => onDisk()).toEqual(filesBefore);
    expect(readdirSync(filesDir, { recursive: true }).map(String).filter((f) => f.endsWith('.part'))).toEqual([]);
    expect(await rows()).toBe(rowsBefore);
    // What still fits goes through.
    await send(t, 50 * KiB, '203.0.113.2').expect(201);
  });

  it('one client address sends at most FILE_MAX_BYTES_PER_ADDRESS a day, across its requests; another address is not held back; a day later it may again', async () => {
    const [t1, t2, t3] = [await accepted(), await accepted(), await accepted()];
    await send(t1, MiB, '198.51.100.7').expect(201);
    await send(t2, MiB, '198.51.100.7').expect(201);
    const [filesBefore, rowsBefore] = [onDisk(), await rows()];
    const refused = await send(t3, MiB, '198.51.100.7').expect(429);
    expect(refused.body.error.code).toBe('FILE_QUOTA_ADDRESS');
    expect(refused.body.error.message).toContain('Files sent from your address in the last 24 hours reached 2.0 MiB of the 2.5 MiB allowed');
    expect((await send(t3, MiB, '198.51.100.7', 'es').expect(429)).body.error.message).toBe(
      'Los archivos enviados desde su dirección en las últimas 24 horas llegan a 2.0 MiB de los 2.5 MiB permitidos: vuelva a intentarlo más tarde.',
    );
    expect(onDisk()).toEqual(filesBefore);
    expect(await rows()).toBe(rowsBefore);
    // The same request from another address (the real client's, X-Forwarded-For from a trusted proxy) is its own budget.
    await send(t3, MiB, '198.51.100.8').expect(201);
    const row = (await h.server.db('ticket_files').where({ ticket_id: t3.id }).first('sender_address')) as { sender_address: string };
    expect(row.sender_address).toBe('198.51.100.8');
    // A technician's files do not count against the user's address.
    const offered = await fetch(`${h.server.url}/api/v1/tickets/${t1.id}/files?name=fix.sh`, {
      method: 'POST',
      headers: { cookie: await cookieOf(ana), 'x-csrf-token': ana.csrf, ...octets },
      body: new Uint8Array(10 * KiB),
    });
    expect(offered.status).toBe(201);
    h.clock.advance(25 * 3_600_000);
    try {
      await send(t3, 100 * KiB, '198.51.100.7').expect(201);
    } finally {
      h.clock.advance(-25 * 3_600_000);
    }
    ana = Object.assign(await h.login(ana.username, ana.password), { username: ana.username, password: ana.password }); // housekeeping may have run in the day that passed
  });

  it('counts come from the database: a second server\'s service sees the first\'s bytes, and of two uploads racing for the last bytes exactly one wins, the other refused before its body is read', async () => {
    const t = await accepted();
    await send(t, MiB, '192.0.2.50').expect(201);
    const budget = { maxBytesPerTicket: 1.5 * MiB, maxBytesPerAddressPerDay: 2.5 * MiB, maxTotalBytes: 0, minFreeBytes: 0 };
    const server = () => createFileService({ db: h.server.db, clock: systemClock, bus: new EventBus(), dir: filesDir, maxBytes: MiB, budget, retentionDays: 30 });
    const ticket = await h.server.tickets.get(t.id);
    const context = { actor: { type: 'requester' as const, name: 'Bob User' }, remoteAddress: '192.0.2.51' };
    await expect(server().fromUser(ticket, 'more.log', new PassThrough().end(randomBytes(600 * KiB)), 600 * KiB, context)).rejects.toMatchObject({ code: 'FILE_QUOTA_TICKET' });

    const race = await accepted();
    const raceTicket = await h.server.tickets.get(race.id);
    const [filesBefore, rowsBefore] = [onDisk(), await rows()];
    const bodies = [new PassThrough(), new PassThrough()];
    const outcomes = Promise.allSettled(bodies.map((body) => server().fromUser(raceTicket, 'half.bin', body, MiB, context)));
    // One has the bytes reserved and its body read; the other is refused before a byte of its is read.
    await expect.poll(() => bodies.filter((b) => b.listenerCount('data') > 0).length).toBe(1);
    for (const body of bodies) body.end(randomBytes(MiB));
    const settled = await outcomes;
    expect(settled.map((o) => o.status).sort()).toEqual(['fulfilled', 'rejected']);
    const lost = settled.findIndex((o) => o.status === 'rejected');
    expect((settled[lost] as PromiseRejectedResult).reason).toMatchObject({ code: 'FILE_QUOTA_TICKET' });
    expect(bodies[lost]!.listenerCount('data')).toBe(0);
    expect(onDisk()).toHaveLength(filesBefore.length + 1);
    expect(await rows()).toBe(rowsBefore + 1);
  });
});

describe.each(engines)('the total of stored files on %s', (engine) => {
  let h: Harness;
  let ana: Tech;
  const filesDir = mkdtempSync(join(tmpdir(), 'hd-budget-total-'));
  const onDisk = () => readdirSync(filesDir, { recursive: true }).map(String).filter((f) => /[0-9a-f-]{36}/.test(f));
  beforeAll(async () => {
    h = await startHarness(engine, { MAX_ACTIVE_TICKETS_PER_TECH: '50', UPLOAD_RATE_PER_MINUTE: '1000', FILES_DIR: filesDir, FILE_MAX_BYTES: String(MiB), FILE_MAX_TOTAL_BYTES: String(1.5 * MiB) });
    ana = await h.freshTechnician(await h.login('admin', ADMIN_PASSWORD), 'ana');
  }, 60_000);
  afterAll(async () => {
    await h?.close();
  });

  it('stays under FILE_MAX_TOTAL_BYTES, technicians\' files included (507 in words); a refused file frees its bytes', async () => {
    const [t1, t2] = [await h.helpRequest(), await h.helpRequest()];
    for (const t of [t1, t2]) await ana.post(`/api/v1/tickets/${t.id}/accept`).expect(200);
    const offered = await fetch(`${h.server.url}/api/v1/tickets/${t1.id}/files?name=big.bin`, {
      method: 'POST',
      headers: { cookie: await cookieOf(ana), 'x-csrf-token': ana.csrf, ...octets },
      body: new Uint8Array(MiB),
    });
    const { file } = (await offered.json()) as { file: { id: string } };
    const send = (size: number, lang = 'en') => h.api.post(`/api/v1/help-requests/${t2.id}/files`).query({ name: 'log.txt' }).set({ ...bearer(t2.secret), ...octets, 'accept-language': lang }).send(randomBytes(size));
    await send(400 * KiB).expect(201);
    const before = onDisk();
    const full = await send(200 * KiB).expect(507);
    expect(full.body.error.code).toBe('FILE_STORAGE_FULL');
    expect(full.body.error.message).toMatch(/^The server keeps 1\.4 MiB of files, its limit is 1\.5 MiB; this one is \d+ bytes: no more can be sent until older ones are deleted$/);
    expect((await send(200 * KiB, 'es').expect(507)).body.error.message).toBe('El servidor guarda tantos archivos como puede (1.5 MiB): no se pueden enviar más hasta que se eliminen los antiguos.');
    const offerAgain = await fetch(`${h.server.url}/api/v1/tickets/${t1.id}/files?name=more.bin`, {
      method: 'POST',
      headers: { cookie: await cookieOf(ana), 'x-csrf-token': ana.csrf, ...octets },
      body: new Uint8Array(200 * KiB),
    });
    expect(offerAgain.status).toBe(507);
    expect(onDisk()).toEqual(before);
    expect((await h.api.get(`/api/v1/help-requests/${t2.id}/files`).set(bearer(t2.secret)).expect(200)).body.files).toHaveLength(1);
    await h.api.post(`/api/v1/help-requests/${t1.id}/files/${file.id}/refuse`).set(bearer(t1.secret)).expect(200);
    await send(200 * KiB).expect(201);
  });
});
