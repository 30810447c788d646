// Participants (issue 26) with every part real: the server and its repeater,
// x11vnc on Xvfb whose xterm writes each typed line to a file, the desktop
// core, and RFB viewers for Ana (the holder) and Luis (invited to watch). A
// watcher's channel gets its own x11vnc, started with -viewonly: Luis's keys
// change nothing on the desktop, Ana's still work; the user stops Luis only.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { ADMIN_PASSWORD, startHarness, type Harness, type Tech } from '../../test/server-harness.ts';
import { startXDisplay, type XDisplay } from '../../test/x-display.ts';
import { reach } from '../../test/help-session-helpers.ts';
import { HelpSession } from './help-session.ts';
import { createTransport } from './transport.ts';
import { windowState } from './messages.ts';
import { openRfbViewer } from './rfb-viewer.test-helpers.ts';

let h: Harness;
let x: XDisplay;
let ana: Tech;
let luis: Tech;
const sessions: HelpSession[] = [];

beforeAll(async () => {
  [h, x] = await Promise.all([startHarness('sqlite', { MAX_ACTIVE_TICKETS_PER_TECH: '20' }), startXDisplay()]);
  const admin = await h.login('admin', ADMIN_PASSWORD);
  ana = await h.createTechnician(admin, 'ana');
  luis = await h.createTechnician(admin, 'luis');
}, 60_000);

afterAll(async () => {
  for (const s of sessions) await s.stop().catch((_ended: unknown) => undefined);
  await Promise.all(sessions.map((s) => s.settled()));
  await h?.close();
  await x?.stop();
});

const alive = (pid: number): boolean => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

async function until<T>(what: string, probe: () => T | null | undefined | false, timeoutMs = 15_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = probe();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

describe('participants on x11vnc', () => {
  it('a watcher gets an x11vnc of its own with -viewonly: Luis\'s keys change nothing, Ana\'s work; stopping Luis leaves Ana\'s session as it is', async () => {
    const session = new HelpSession(
      { serverUrl: h.server.url, clientKey: null, display: x.display, x11vncPath: 'x11vnc', requester: { requesterName: 'Pat Participant', username: 'pat', hostname: 'pat-pc', os: 'Linux' } },
      createTransport({ ca: null, proxy: { httpProxy: null, httpsProxy: null, noProxy: '' } }),
    );
    sessions.push(session);
    await session.requestHelp('Two technicians, one screen');
    const id = session.snapshot.ticketId!;
    await ana.post(`/api/v1/tickets/${id}/accept`).expect(200);
    await reach(session, 'technician_offered');
    await session.allow(false);
    await reach(session, 'waiting_for_viewer');
    const mainPid = session.x11vncPid!;
    const anaViewer = await openRfbViewer(ana, h.server.url, id);
    expect(anaViewer.channel).toBe(String(id));
    await reach(session, 'in_session');

    // Ana invites Luis to watch; he accepts; the user is asked by name, and allows.
    const invited = await ana.post(`/api/v1/tickets/${id}/invitations`, { technicianId: luis.id, mode: 'view' }).expect(201);
    await luis.post(`/api/v1/invitations/${invited.body.id}/accept`).expect(200);
    const asked = await until('the question', () => windowState(session.snapshot).people.find((p) => p.question));
    expect(asked).toMatchObject({ technicianId: luis.id, question: 'Ana invites Luis to watch your screen.' });
    expect(session.legs.map((l) => l.channel)).toEqual([String(id)]); // nothing opens before the user allows
    await session.consent.allow(luis.id);
    const channel = `${id}.p${invited.body.id}`;
    await until('Luis\'s leg', () => session.legs.find((l) => l.channel === channel && l.up && session.x11vncPidOf(channel) !== null));
    const luisPid = session.x11vncPidOf(channel)!;
    expect(luisPid).not.toBe(mainPid);
    expect(readFileSync(`/proc/${luisPid}/cmdline`, 'utf8').split('\0')).toContain('-viewonly');
    expect(readFileSync(`/proc/${mainPid}/cmdline`, 'utf8').split('\0')).not.toContain('-viewonly');
    const luisViewer = await openRfbViewer(luis, h.server.url, id);
    expect(luisViewer.channel).toBe(channel);
    // Both see the same desktop: the xterm's colour where it is.
    expect(await luisViewer.pixel(60, 60)).toEqual(x.xtermRgb);
    expect(await anaViewer.pixel(60, 60)).toEqual(x.xtermRgb);

    // Ana puts the pointer on the xterm (keys go where the pointer is); Luis types, then Ana.
    anaViewer.pointer(120, 70);
    await new Promise((r) => setTimeout(r, 300));
    luisViewer.pointer(600, 600, 1);
    luisViewer.pointer(600, 600, 0);
    luisViewer.type('luis was here\n');
    await new Promise((r) => setTimeout(r, 1_000));
    anaViewer.type('ana was here\n');
    await until('Ana\'s line', () => x.typed().includes('ana was here'));
    expect(x.typed()).not.toContain('luis');
    expect(windowState(session.snapshot).people).toEqual([{ technicianId: luis.id, name: 'Luis', question: null, line: 'Luis: watching', notice: null }]);

    // The user stops Luis: his viewer is closed, his x11vnc gone; Ana's session goes on.
    await session.consent.stop(luis.id);
    expect(await luisViewer.closed).toBeGreaterThanOrEqual(4000);
    await until('Luis\'s x11vnc to exit', () => !alive(luisPid));
    await until('Luis\'s leg to go', () => session.legs.every((l) => l.channel !== channel));
    expect(session.snapshot.state).toBe('in_session');
    expect(alive(mainPid)).toBe(true);
    anaViewer.type('ana again\n');
    await until('Ana\'s second line', () => x.typed().includes('ana again'));

    await session.stop();
    await until('the main x11vnc to exit', () => !alive(mainPid));
  }, 90_000);
});
