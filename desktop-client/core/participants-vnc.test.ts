// Participants (issue 26) on a `vnc://` source with every part real: a Wayland
// desktop (sway, headless) served by wayvnc on loopback, the server and its
// repeater, the desktop core, and RFB viewers for Ana (control) and Luis
// (invited to watch). wayvnc has no view-only switch per connection: the
// client drops a watcher's keys and pointer before they reach it. sway's key
// bindings paint the background: "x" red, "y" green — so a key that got
// through shows on the desktop.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ADMIN_PASSWORD, startHarness, type Harness, type Tech } from '../../test/server-harness.ts';
import { startWaylandDesktop, type WaylandDesktop } from '../../test/wayland.ts';
import { reach } from '../../test/help-session-helpers.ts';
import { HelpSession } from './help-session.ts';
import { createTransport } from './transport.ts';
import { openRfbViewer, type RfbViewer } from './rfb-viewer.test-helpers.ts';

const RED: [number, number, number] = [0xaa, 0x22, 0x00];
const GREEN: [number, number, number] = [0x22, 0xaa, 0x00];

let h: Harness;
let desktop: WaylandDesktop;
let ana: Tech;
let luis: Tech;
let session: HelpSession | null = null;

beforeAll(async () => {
  [h, desktop] = await Promise.all([
    startHarness('sqlite', { MAX_ACTIVE_TICKETS_PER_TECH: '20' }),
    startWaylandDesktop({ extraConfig: 'bindsym x output * bg #aa2200 solid_color\nbindsym y output * bg #22aa00 solid_color\n' }),
  ]);
  const admin = await h.login('admin', ADMIN_PASSWORD);
  ana = await h.createTechnician(admin, 'ana');
  luis = await h.createTechnician(admin, 'luis');
}, 60_000);

afterAll(async () => {
  await session?.stop().catch((_ended: unknown) => undefined);
  await session?.settled();
  await h?.close();
  await desktop?.stop();
});

async function colourBecomes(viewer: RfbViewer, rgb: [number, number, number], timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const now = await viewer.pixel(400, 300);
    if (now.every((c, i) => Math.abs(c - rgb[i]!) <= 2)) return;
    if (Date.now() > deadline) throw new Error(`the desktop stayed ${now.join(',')}, never ${rgb.join(',')}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

describe('participants on a vnc:// source (wayvnc on sway)', () => {
  it('the watcher\'s keys and pointer are dropped by the client (the desktop does not change), the holder\'s work', async () => {
    session = new HelpSession(
      {
        serverUrl: h.server.url,
        clientKey: null,
        display: ':0',
        x11vncPath: 'x11vnc',
        requester: { requesterName: 'Wanda Wayland', username: 'wanda', hostname: 'wl-pc', os: 'Linux' },
        source: { kind: 'vnc', host: '127.0.0.1', port: desktop.port, password: null },
      },
      createTransport({ ca: null, proxy: { httpProxy: null, httpsProxy: null, noProxy: '' } }),
    );
    await session.requestHelp('Two technicians on Wayland');
    const id = session.snapshot.ticketId!;
    await ana.post(`/api/v1/tickets/${id}/accept`).expect(200);
    await reach(session, 'technician_offered');
    await session.allow(false);
    await reach(session, 'waiting_for_viewer');
    const anaViewer = await openRfbViewer(ana, h.server.url, id);
    await reach(session, 'in_session');
    await colourBecomes(anaViewer, desktop.rgb);

    const invited = await ana.post(`/api/v1/tickets/${id}/invitations`, { technicianId: luis.id, mode: 'view' }).expect(201);
    await luis.post(`/api/v1/invitations/${invited.body.id}/accept`).expect(200);
    await expect.poll(() => session!.snapshot.participants.map((p) => p.state)).toEqual(['waiting_user']);
    await session.consent.allow(luis.id);
    const channel = `${id}.p${invited.body.id}`;
    await expect.poll(() => session!.legs.find((l) => l.channel === channel), { timeout: 10_000 }).toMatchObject({ viewOnly: true, up: true });
    expect(session.x11vncPidOf(channel)).toBeNull(); // the user's own server serves: nothing started
    const luisViewer = await openRfbViewer(luis, h.server.url, id);
    expect(luisViewer.channel).toBe(channel);
    expect(await luisViewer.pixel(400, 300)).toEqual(await anaViewer.pixel(400, 300)); // the same desktop

    // Luis presses "x" (red) and clicks about: dropped here, the desktop stays as it was.
    luisViewer.pointer(400, 300, 1);
    luisViewer.pointer(410, 310, 0);
    luisViewer.type('x');
    await new Promise((r) => setTimeout(r, 1_500));
    expect(await anaViewer.pixel(400, 300)).toEqual(desktop.rgb);
    // Ana presses "y" (green): it reaches the desktop, and both see it.
    anaViewer.type('y');
    await colourBecomes(anaViewer, GREEN);
    await colourBecomes(luisViewer, GREEN);
    await new Promise((r) => setTimeout(r, 1_000));
    expect(await anaViewer.pixel(400, 300)).not.toEqual(RED);
    // The watcher's connection still stands: it was only his input that was left out.
    expect(session.legs.find((l) => l.channel === channel)).toMatchObject({ up: true });

    await session.stop();
  }, 90_000);
});
