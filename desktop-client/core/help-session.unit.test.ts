// HelpSession on its own: a fake transport answers the desktop API and feeds
// the ticket's event stream, a fake tunnel stands in for x11vnc and the
// repeater. The whole flow with real parts is help-session.test.ts; this one
// pins the state machine's decisions, each in isolation.
import { afterEach, describe, expect, it } from 'vitest';
import { CloseCode } from '../../protocol/close-codes.ts';
import { DesktopError } from './errors.ts';
import { reach, start, stopAll, toWaitingForViewer } from './fake-help-server.test-helpers.ts';

afterEach(stopAll);

describe('HelpSession (fake transport and tunnel)', () => {
  it('asks once, shares the screen, re-arms without asking again when the viewer leaves, and ends in words', async () => {
    const { server, tunnels, session } = await toWaitingForViewer(true);
    expect(server.posted('/api/v1/help-requests')[0]!.body).toMatchObject({ requesterName: 'Eva', description: 'The printer does not print' });
    expect(session.snapshot).toMatchObject({ technicianName: 'Ana', recorded: true, viewOnly: false });
    // The user saw "This session will be recorded" before allowing: the approval says so.
    expect(server.posted('/approve').map((c) => c.body)).toEqual([{ viewOnly: false, screen: null, recordingNoticeShown: true }]);
    expect(tunnels).toHaveLength(1);
    expect(tunnels[0]!.opened).toBe(true);
    expect(tunnels[0]!.options.url).toBe('ws://repeater.test/wsServer?token=t1');

    server.push('connection', { state: 'paired', reason: null });
    await reach(session, 'in_session');

    // The viewer left: a fresh token and tunnel, no new consent.
    tunnels[0]!.drop(CloseCode.VIEWER_LEFT);
    await reach(session, 'connecting');
    await reach(session, 'waiting_for_viewer');
    expect(tunnels[0]!.closed).toBe(true);
    expect(tunnels).toHaveLength(2);
    expect(tunnels[1]!.options.url).toBe('ws://repeater.test/wsServer?token=t2');
    expect(server.posted('/approve')).toHaveLength(1);

    tunnels[1]!.drop(CloseCode.ENDED_BY_TECHNICIAN);
    await reach(session, 'ended');
    expect(session.snapshot.endReason).toBe('ENDED_BY_TECHNICIAN');
    expect(tunnels[1]!.closed).toBe(true);
  });

  it('a tunnel that fails here ends the session with its error, and the server is told', async () => {
    const { server, tunnels, session } = await toWaitingForViewer();
    tunnels[0]!.drop(0, new DesktopError('VNC_FAILED', 'x11vnc stopped'));
    await reach(session, 'ended');
    expect(session.snapshot.endReason).toBe('VNC_FAILED');
    expect(session.snapshot.error).toMatchObject({ code: 'VNC_FAILED' });
    await new Promise((r) => setTimeout(r, 20));
    expect(server.posted('/end')).toHaveLength(1);
  });

  it('a code the repeater does not own (1006) is a lost desktop leg: it re-arms', async () => {
    const { tunnels, session } = await toWaitingForViewer();
    tunnels[0]!.drop(1006);
    await reach(session, 'connecting');
    await reach(session, 'waiting_for_viewer');
    expect(tunnels).toHaveLength(2);
  });

  it('declining for good says so to the server and waits for another technician; a ticket sent back to the queue stops the sharing', async () => {
    const { server, session } = start();
    await session.requestHelp('Mail is stuck');
    await new Promise((r) => setTimeout(r, 50));
    server.ticket({ status: 'accepted', technician: { displayName: 'Ana' } });
    await reach(session, 'technician_offered');
    await session.decline(true);
    expect(session.snapshot.state).toBe('waiting_for_technician');
    expect(server.posted('/decline').map((c) => c.body)).toEqual([{ dontAskAgain: true }]);

    server.ticket({ status: 'accepted', technician: { displayName: 'Ben' } });
    await reach(session, 'technician_offered');
    expect(session.snapshot.technicianName).toBe('Ben');
  });

  it('the server sends the ticket back to the queue mid-session: the tunnel closes and the request waits again', async () => {
    const { server, tunnels, session } = await toWaitingForViewer();
    server.ticket({ status: 'requested', technician: null });
    await reach(session, 'waiting_for_technician');
    expect(tunnels[0]!.closed).toBe(true);
    expect(session.snapshot.technicianName).toBeNull();
  });
});
