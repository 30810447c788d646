// A crash and a plain restart of the server under a live session, with the
// real desktop core (x11vnc on Xvfb): the session row exists while it runs and
// is closed at the next start with SERVER_RESTARTED and its last byte counts;
// the client rides through the outage (retrying, in words) and the session
// resumes with a new viewer, without asking the user again.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import knexFactory from 'knex';
import { ADMIN_PASSWORD, loginAt } from './server-harness.ts';
import { openViewer, reach } from './help-session-helpers.ts';
import { freePort } from './repeater-process.ts';
import { startServerProcess, type ServerProcess } from './server-process.ts';
import { startXDisplay, type XDisplay } from './x-display.ts';
import { CloseCode } from '../protocol/close-codes.ts';
import { HelpSession } from '../desktop-client/core/help-session.ts';
import { describeSnapshot } from '../desktop-client/core/messages.ts';
import { createTransport } from '../desktop-client/core/transport.ts';

let x: XDisplay;
let server: ServerProcess | null = null;
let session: HelpSession | null = null;

beforeAll(async () => {
  x = await startXDisplay();
}, 60_000);

afterAll(async () => {
  await session?.stop().catch(() => undefined);
  await session?.settled();
  if (server && server.child.exitCode === null) server.child.kill('SIGKILL');
  await x?.stop();
});

describe('server restarts under a live session', () => {
  it('kill -9, then SIGTERM: rows reconciled, the client rides through, the session resumes without a new consent', async () => {
    const port = await freePort();
    const file = join(mkdtempSync(join(tmpdir(), 'helpdesk-restart-')), 'db.sqlite');
    const env = { REPEATER_PROGRESS_INTERVAL_MS: '200' };
    server = await startServerProcess(port, `sqlite:${file}`, env);
    const url = server.url;
    const admin = await loginAt(url, 'admin', ADMIN_PASSWORD);
    session = new HelpSession(
      { serverUrl: url, clientKey: null, display: x.display, x11vncPath: 'x11vnc', requester: { requesterName: 'Eve User', username: 'eve', hostname: 'eve-pc', os: 'Linux' } },
      createTransport({ ca: null, proxy: { httpProxy: null, httpsProxy: null, noProxy: '' } }),
    );
    await session.requestHelp('Frozen screen');
    const id = session.snapshot.ticketId!;
    await admin.post(`/api/v1/tickets/${id}/accept`).expect(200);
    await reach(session, 'technician_offered');
    await session.allow(false);
    await reach(session, 'waiting_for_viewer');
    const first = await openViewer(admin, url, id);
    expect(await first.greeting).toMatch(/^RFB 003\.00\d\n$/);
    await reach(session, 'in_session');
    // The row is there while the session runs, with its bytes kept current.
    const db = knexFactory({ client: 'better-sqlite3', connection: { filename: file }, useNullAsDefault: true });
    try {
      await expect.poll(async () => (await db('remote_sessions').where({ ticket_id: id }).first())?.bytes_desktop_to_viewer ?? 0, { timeout: 5000 }).toBeGreaterThanOrEqual(12);
      expect((await db('remote_sessions').where({ ticket_id: id }).first()).ended_at).toBeNull();
    } finally {
      await db.destroy();
    }

    // Crash.
    const offline = reach(session, 'connecting');
    server.child.kill('SIGKILL');
    await server.exited;
    expect(await first.closed).toBe(1006);
    await offline;
    await new Promise((r) => setTimeout(r, 1_000));
    expect(session.snapshot.state).toBe('connecting'); // still trying, not ended
    expect(session.snapshot.error?.code).toBe('SERVER_UNREACHABLE');
    expect(describeSnapshot(session.snapshot)).toMatch(/^The connection to the helpdesk was interrupted\. Reconnecting…/);

    server = await startServerProcess(port, `sqlite:${file}`, env);
    const afterCrash = (await admin.get(`/api/v1/tickets/${id}`).expect(200)).body;
    expect(afterCrash.ticket.status).toBe('in_session');
    expect(afterCrash.sessions[0]).toMatchObject({ endReason: 'SERVER_RESTARTED', endedBy: null });
    expect(afterCrash.sessions[0].bytesDesktopToViewer).toBeGreaterThanOrEqual(12);
    expect(afterCrash.timeline.map((e: { action: string }) => e.action)).toContain('session.ended');
    await reach(session, 'waiting_for_viewer', 30_000);
    await expect.poll(() => session!.snapshot.error, { timeout: 15_000 }).toBeNull();
    const second = await openViewer(admin, url, id);
    expect(await second.greeting).toMatch(/^RFB 003\.00\d\n$/);
    await reach(session, 'in_session');

    // A plain restart: SHUTDOWN, then the same ride-through.
    const offlineAgain = reach(session, 'connecting');
    server.child.kill('SIGTERM');
    expect(await second.closed).toBe(CloseCode.SHUTDOWN);
    expect(await server.exited).toBe(0);
    await offlineAgain;
    server = await startServerProcess(port, `sqlite:${file}`, env);
    await reach(session, 'waiting_for_viewer');
    const third = await openViewer(admin, url, id);
    expect(await third.greeting).toMatch(/^RFB 003\.00\d\n$/);
    await reach(session, 'in_session');
    const detail = (await admin.get(`/api/v1/tickets/${id}`).expect(200)).body;
    expect(detail.sessions.map((s: { endReason: string | null }) => s.endReason)).toEqual(['SERVER_RESTARTED', 'SHUTDOWN', null]);
    expect(detail.timeline.filter((e: { action: string }) => e.action === 'ticket.approve')).toHaveLength(1);
    await session.stop();
    expect(await third.closed).toBe(CloseCode.ENDED_BY_USER);
    server.child.kill('SIGTERM');
    await server.exited;
  }, 120_000);
});
