// Uploads still arriving count against the upload budget (issue 25, review
// 4), through the real server on both engines, real files on disk: what an
// upload may write is reserved in the database before its body is read, so N
// uploads at once on one request never put more than its quota on disk — those
// past it are refused in words before a byte of theirs is read, nothing partial
// remains — and another request from the same address, another server on the
// same database, see the reservation too. A client that goes away gives its
// share back; one left by a server that crashed mid-upload expires.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readdirSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { engines } from '../test/databases.ts';
import { heldUpload, type HeldUpload } from '../test/raw-upload.ts';
import { ADMIN_PASSWORD, startHarness, type Harness, type Tech } from '../test/server-harness.ts';
import { EventBus } from './events/event-bus.ts';
import { createFileService } from './files/service.ts';

const KiB = 1024;
const MiB = 1024 * KiB;
const budget = { maxBytesPerTicket: 1.5 * MiB, maxBytesPerAddressPerDay: 2.5 * MiB, maxTotalBytes: 0, minFreeBytes: 0 };

/** The status of a raw answer, and its error. */
const status = (u: HeldUpload) => Number(/^HTTP\/1\.1 (\d{3})/.exec(u.answer())?.[1]);
const error = (u: HeldUpload) => (JSON.parse(u.answer().slice(u.answer().indexOf('\r\n\r\n') + 4)) as { error: { code: string; message: string } }).error;

describe.each(engines)('uploads in progress on %s', (engine) => {
  let h: Harness;
  let ana: Tech;
  const filesDir = mkdtempSync(join(tmpdir(), 'hd-in-progress-'));
  const files = () => readdirSync(filesDir, { recursive: true }).map(String).filter((f) => /[0-9a-f-]{36}/.test(f));
  const parts = () => files().filter((f) => f.endsWith('.part'));
  const bytesOnDisk = () => files().reduce((n, f) => n + statSync(join(filesDir, f)).size, 0);
  const count = (table: string) => h.rows(table);
  beforeAll(async () => {
    h = await startHarness(engine, {
      MAX_ACTIVE_TICKETS_PER_TECH: '50',
      UPLOAD_RATE_PER_MINUTE: '1000',
      FILES_DIR: filesDir,
      FILE_MAX_BYTES: String(MiB),
      FILE_MAX_BYTES_PER_TICKET: String(budget.maxBytesPerTicket),
      FILE_MAX_BYTES_PER_ADDRESS: String(budget.maxBytesPerAddressPerDay),
    });
    ana = await h.freshTechnician(await h.login('admin', ADMIN_PASSWORD), 'ana');
  }, 60_000);
  afterAll(async () => {
    await h?.close();
  });

  const accepted = () => h.acceptedRequest(ana);
  const hold = (t: { id: number; secret: string }, length: number | null, from: string) =>
    heldUpload(h.server.url, `/api/v1/help-requests/${t.id}/files?name=part.bin`, { authorization: `Bearer ${t.secret}`, 'x-forwarded-for': from }, length);
  const send = (t: { id: number; secret: string }, size: number, from: string, lang = 'en') =>
    h.api.post(`/api/v1/help-requests/${t.id}/files`).query({ name: 'log.txt' }).set({ Authorization: `Bearer ${t.secret}`, 'content-type': 'application/octet-stream', 'x-forwarded-for': from, 'accept-language': lang }).send(randomBytes(size));
  /** A second server on the same database (its own process, so to speak). */
  const otherServer = () => createFileService({ db: h.server.db, clock: h.clock, bus: new EventBus(), dir: filesDir, maxBytes: MiB, budget, retentionDays: 30 });
  const asUser = (remoteAddress: string) => ({ actor: { type: 'requester' as const, name: 'Bob User' }, remoteAddress });

  it('six uploads at once on one request, twice its quota: three are read, three refused in words before their bodies are read; never more than the quota on disk, nothing partial left', async () => {
    const t = await accepted();
    const [before, bytesBefore, rowsBefore] = [files(), bytesOnDisk(), await count('ticket_files')];
    const uploads = await Promise.all(Array.from({ length: 6 }, () => hold(t, 512 * KiB, '203.0.113.10')));
    await expect.poll(() => uploads.filter((u) => u.answered()).length).toBe(3);
    const [refused, reading] = [uploads.filter((u) => u.answered()), uploads.filter((u) => !u.answered())];
    for (const u of refused) {
      expect(status(u)).toBe(413);
      expect(error(u)).toMatchObject({ code: 'FILE_QUOTA_TICKET', message: `The files of one request may take at most 1.5 MiB; this one keeps 0.0 MiB already and is receiving 1.5 MiB more; this one is ${512 * KiB} bytes` });
    }
    // Those being read are on disk as parts; one more, in Spanish, is refused too.
    await expect.poll(() => parts().length).toBe(3);
    expect((await send(t, 100 * KiB, '203.0.113.10', 'es').expect(413)).body.error.message).toBe(
      'Los archivos de una solicitud pueden ocupar como máximo 1.5 MiB; esta ya guarda 0.0 MiB y está recibiendo 1.5 MiB más.',
    );
    for (const u of reading) u.finish();
    await expect.poll(() => reading.every((u) => u.answered())).toBe(true);
    expect(reading.map(status)).toEqual([201, 201, 201]);
    expect(parts()).toEqual([]);
    expect(files()).toHaveLength(before.length + 3);
    expect(bytesOnDisk() - bytesBefore).toBe(1.5 * MiB);
    expect(await count('ticket_files')).toBe(rowsBefore + 3);
    for (const u of uploads) u.drop();
  });

  it('what is still arriving counts on the address\'s other requests and on every server; a client that goes away gives its share back', async () => {
    const [a, b, c] = [await accepted(), await accepted(), await accepted()];
    const from = '198.51.100.20';
    const held = [await hold(a, MiB, from), await hold(b, MiB, from)];
    await expect.poll(() => parts().length).toBe(2);
    const third = await hold(c, MiB, from);
    await expect.poll(() => third.answered()).toBe(true);
    expect(status(third)).toBe(429);
    expect(error(third)).toMatchObject({
      code: 'FILE_QUOTA_ADDRESS',
      message: `Files sent from your address in the last 24 hours reached 0.0 MiB of the 2.5 MiB allowed, and 2.0 MiB more are arriving; this one is ${MiB} bytes: try again later`,
    });
    // Another server asks the same database: refused before it reads a byte.
    const body = new PassThrough();
    await expect(otherServer().fromUser(await h.server.tickets.get(c.id), 'more.bin', body, 600 * KiB, asUser(from))).rejects.toMatchObject({ code: 'FILE_QUOTA_ADDRESS' });
    expect(body.listenerCount('data')).toBe(0);

    held[0]!.drop();
    await expect.poll(() => count('upload_reservations')).toBe(1);
    await send(c, MiB, from).expect(201);
    held[1]!.finish();
    await expect.poll(() => held[1]!.answered()).toBe(true);
    expect(status(held[1]!)).toBe(201);
    expect(parts()).toEqual([]);
    for (const u of [...held, third]) u.drop();
  });

  it('a share left by a server that died mid-upload counts no more once the upload deadline is past; housekeeping deletes it', async () => {
    const t = await accepted();
    const body = new PassThrough();
    const abandoned = otherServer().fromUser(await h.server.tickets.get(t.id), 'lost.bin', body, MiB, asUser('192.0.2.30'));
    await expect.poll(() => body.listenerCount('data')).toBeGreaterThan(0);
    expect((await send(t, MiB, '192.0.2.31').expect(413)).body.error.code).toBe('FILE_QUOTA_TICKET');
    h.clock.advance(10 * 60_000); // its body never comes: the server that read it is gone
    try {
      await send(t, MiB, '192.0.2.31').expect(201);
      expect(await h.server.housekeeping()).toBe(true);
    } finally {
      h.clock.advance(-10 * 60_000);
    }
    expect(await count('upload_reservations')).toBe(0);
    body.destroy();
    await expect(abandoned).rejects.toMatchObject({ code: 'VALIDATION_FAILED' });
    expect(parts()).toEqual([]);
  });

  it('the lock row lost from settings (a restore) is put back before an upload counts under it', async () => {
    await h.server.db('settings').where({ name: 'upload_budget_lock' }).delete();
    const t = await accepted();
    await send(t, 10 * KiB, '192.0.2.40').expect(201);
    expect(await h.server.db('settings').where({ name: 'upload_budget_lock' }).first()).toBeTruthy();
  });
});
