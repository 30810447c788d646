// Clean exits: the server (embedded repeater) started with node directly, as
// the systemd unit runs it, with a live session; SIGTERM closes both legs with
// 4010 SHUTDOWN, writes the session row and exits 0 within a few seconds.
import { describe, expect, it } from 'vitest';
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import request from 'supertest';
import knexFactory from 'knex';
import { WebSocket } from 'ws';
import { CloseCode } from '../protocol/close-codes.ts';
import { ADMIN_PASSWORD, loginAt } from './server-harness.ts';
import { freePort } from './repeater-process.ts';
import { entryArgs } from '../lib/node-entry.ts';

function open(url: string, origin?: string): Promise<{ ws: WebSocket; closed: Promise<number>; first: Promise<Buffer> }> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, origin ? { origin } : {});
    const closed = new Promise<number>((r) => ws.once('close', (code) => r(code)));
    const first = new Promise<Buffer>((r) => ws.once('message', (d: Buffer) => r(d)));
    ws.once('open', () => resolve({ ws, closed, first }));
    ws.once('error', reject);
  });
}

describe('server process', () => {
  it('SIGTERM: closes live legs with SHUTDOWN, writes the session row, exits 0 within seconds', async () => {
    const port = await freePort();
    const dir = mkdtempSync(join(tmpdir(), 'helpdesk-shutdown-'));
    const url = `http://127.0.0.1:${port}`;
    const child = spawn(process.execPath, entryArgs(fileURLToPath(new URL('../server/main.ts', import.meta.url))), {
      env: { PATH: process.env.PATH ?? '', PORT: String(port), HOST: '127.0.0.1', DATABASE_URL: `sqlite:${join(dir, 'db.sqlite')}`, ADMIN_PASSWORD, ARGON2_MEMORY_KIB: '8192', LOG_LEVEL: 'warn', RECORDINGS_DIR: join(dir, 'recordings'), FILES_DIR: join(dir, 'files'), SECRETS_KEY_FILE: join(dir, 'keys', 'secrets.key') },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    child.stdout.on('data', (d: Buffer) => (output += d.toString()));
    child.stderr.on('data', (d: Buffer) => (output += d.toString()));
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    try {
      await expect.poll(() => output, { timeout: 30_000 }).toContain('Helpdesk is running');
      const admin = await loginAt(url, 'admin', ADMIN_PASSWORD);
      const api = request(url);
      const created = await api.post('/api/v1/help-requests').send({ requesterName: 'Bob', username: 'bob', hostname: 'pc', os: 'Linux', description: 'Help' }).expect(201);
      const { id, clientSecret } = created.body as { id: number; clientSecret: string };
      const bearer = { Authorization: `Bearer ${clientSecret}` };
      await admin.post(`/api/v1/tickets/${id}/accept`).expect(200);
      // Sessions are recorded by default: a client that did not tell the user is refused.
      const untold = await api.post(`/api/v1/help-requests/${id}/approve`).set(bearer).send({ viewOnly: false }).expect(400);
      expect(untold.body.error.code).toBe('RECORDING_NOTICE_REQUIRED');
      await api.post(`/api/v1/help-requests/${id}/approve`).set(bearer).send({ viewOnly: false, recordingNoticeShown: true }).expect(200);
      const desktop = await open((await api.post(`/api/v1/help-requests/${id}/desktop-token`).set(bearer).expect(201)).body.url);
      desktop.ws.send(Buffer.from('RFB 003.008\n'));
      const viewer = await open((await admin.post(`/api/v1/tickets/${id}/viewer-token`).expect(201)).body.url, url);
      expect((await viewer.first).toString()).toBe('RFB 003.008\n');
      await expect.poll(async () => (await admin.get(`/api/v1/tickets/${id}`)).body.ticket.status).toBe('in_session');

      const started = Date.now();
      child.kill('SIGTERM');
      expect(await Promise.all([desktop.closed, viewer.closed])).toEqual([CloseCode.SHUTDOWN, CloseCode.SHUTDOWN]);
      expect(await exited).toBe(0);
      expect(Date.now() - started).toBeLessThan(6_000);

      const db = knexFactory({ client: 'better-sqlite3', connection: { filename: join(dir, 'db.sqlite') }, useNullAsDefault: true });
      try {
        const rows = await db('remote_sessions').where({ ticket_id: id });
        expect(rows).toHaveLength(1);
        expect(rows[0]).toMatchObject({ end_reason: 'SHUTDOWN', bytes_desktop_to_viewer: 12 });
        const actions = (await db('audit_events').where({ ticket_id: id }).orderBy('id')).map((r: { action: string }) => r.action);
        expect(actions.slice(-2)).toEqual(['session.ended', 'recording.saved']);
        // The recording was finished before the exit: complete, its SHA-256 that of the file on disk.
        const [recording] = await db('recordings').where({ ticket_id: id });
        expect(recording).toMatchObject({ state: 'complete', remote_session_id: rows[0].id });
        const file = readFileSync(join(dir, 'recordings', recording.file));
        expect(createHash('sha256').update(file).digest('hex')).toBe(recording.sha256);
        expect(Number(recording.bytes)).toBe(file.length);
      } finally {
        await db.destroy();
      }
    } finally {
      if (child.exitCode === null) child.kill('SIGKILL');
    }
  }, 60_000);
});
