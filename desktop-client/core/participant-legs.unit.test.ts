// The desktop legs of participants (issue 26) with a fake desktop API and fake
// tunnels: one leg per connected participant, in its mode, re-armed on its own,
// closed when that person goes — and the main channel left alone, or closed
// without ending anything once the holder has a channel of their own.
import { afterEach, describe, expect, it } from 'vitest';
import { CloseCode } from '../../protocol/close-codes.ts';
import type { DesktopParticipantView } from '../../protocol/participants.ts';
import { reach, stopAll, toWaitingForViewer } from './fake-help-server.test-helpers.ts';
import { windowState } from './messages.ts';

afterEach(stopAll);

const luis = (patch: Partial<DesktopParticipantView> = {}): DesktopParticipantView => ({
  technicianId: 12,
  displayName: 'Luis',
  mode: 'view',
  state: 'connected',
  kind: 'invite',
  invitedBy: 'Ana',
  channel: '7.p3',
  controlRequested: false,
  ...patch,
});

const settle = () => new Promise((r) => setTimeout(r, 40));

/** Ana holds the session (in_session, main leg open). */
async function anaHolds() {
  const s = await toWaitingForViewer();
  s.server.ticket({ status: 'in_session' });
  s.server.push('connection', { state: 'paired', reason: null });
  await reach(s.session, 'in_session');
  return s;
}

describe('participant legs (fake transport and tunnels)', () => {
  it('a connected watcher gets a leg of its own, view-only, with its own token; the main leg is untouched', async () => {
    const { server, tunnels, session } = await anaHolds();
    server.ticket({ participants: [luis({ state: 'waiting_user' })] });
    await settle();
    expect(tunnels).toHaveLength(1); // asking opens nothing
    expect(windowState(session.snapshot).people).toEqual([
      { technicianId: 12, name: 'Luis', question: 'Ana invites Luis to watch your screen.', line: null, notice: null },
    ]);
    await session.consent.allow(12);
    expect(server.posted('/participants/12/approve')).toHaveLength(1);
    server.ticket({ participants: [luis()] });
    await settle();
    expect(tunnels).toHaveLength(2);
    expect(tunnels[1]!.options).toMatchObject({ url: 'ws://repeater.test/wsServer?token=p12-2', viewOnly: true });
    expect(tunnels[1]!.opened).toBe(true);
    expect(tunnels[0]!.closed).toBe(false);
    expect(session.legs).toEqual([
      { channel: '7', viewOnly: false, up: true },
      { channel: '7.p3', viewOnly: true, up: true },
    ]);
    expect(windowState(session.snapshot)).toMatchObject({ holder: 'Ana: in control', people: [{ line: 'Luis: watching', question: null }] });
  });

  it('each leg re-arms on its own; a leg the user stopped closes and stays closed; the session goes on', async () => {
    const { server, tunnels, session } = await anaHolds();
    server.ticket({ participants: [luis()] });
    await settle();
    tunnels[1]!.drop(CloseCode.VIEWER_LEFT);
    await new Promise((r) => setTimeout(r, 400));
    expect(tunnels).toHaveLength(3);
    expect(tunnels[2]!.options).toMatchObject({ viewOnly: true, url: expect.stringMatching(/token=p12-/) });
    expect(tunnels[0]!.closed).toBe(false);
    tunnels[2]!.drop(CloseCode.STOPPED_BY_USER);
    await new Promise((r) => setTimeout(r, 400));
    expect(tunnels).toHaveLength(3);
    expect(tunnels[2]!.closed).toBe(true);
    expect(session.snapshot.state).toBe('in_session');
    // Then the ticket says so: nothing more opens or closes.
    server.ticket({ participants: [luis({ state: 'stopped' })] });
    await settle();
    expect(tunnels).toHaveLength(3);
    expect(tunnels[0]!.closed).toBe(false);
  });

  it('a participant who leaves or is stopped loses their leg; a refused one never had one; a mode change re-opens in control', async () => {
    const { server, tunnels, session } = await anaHolds();
    server.ticket({ participants: [luis(), luis({ technicianId: 13, displayName: 'Marta', channel: '7.p4', state: 'waiting_user', mode: 'control' })] });
    await settle();
    expect(windowState(session.snapshot).people.map((p) => p.question)).toEqual([null, 'Ana invites Marta to take control of your screen.']);
    await session.consent.refuse(13);
    expect(server.posted('/participants/13/decline')).toHaveLength(1);
    server.ticket({ participants: [luis({ controlRequested: true }), luis({ technicianId: 13, displayName: 'Marta', channel: '7.p4', state: 'refused', mode: 'control' })] });
    await settle();
    expect(tunnels).toHaveLength(2);
    expect(windowState(session.snapshot).people.map((p) => p.question)).toEqual(['Luis asks for control of your screen.']);
    // The user grants Luis control: his leg opens again without -viewonly.
    server.ticket({ participants: [luis({ mode: 'control' })] });
    await settle();
    expect(tunnels[1]!.closed).toBe(true);
    expect(tunnels).toHaveLength(3);
    expect(tunnels[2]!.options.viewOnly).toBe(false);
    server.ticket({ participants: [luis({ mode: 'control', state: 'left' })] });
    await settle();
    expect(tunnels[2]!.closed).toBe(true);
    expect(tunnels[0]!.closed).toBe(false);
    expect(session.snapshot.state).toBe('in_session');
  });

  it('a refused participant token ends that leg only', async () => {
    const { server, tunnels, session } = await anaHolds();
    server.refusals.set(12, 409);
    server.ticket({ participants: [luis()] });
    await settle();
    expect(tunnels).toHaveLength(1);
    expect(session.legs.map((l) => l.channel)).toEqual(['7']);
    expect(session.snapshot.state).toBe('in_session');
  });

  it('a hand-over: the main leg closes (HANDED_OVER) and is not re-armed, the new holder\'s leg carries on, the ticket\'s end ends it', async () => {
    const { server, tunnels, session } = await anaHolds();
    server.ticket({ participants: [luis({ kind: 'transfer', mode: 'control', state: 'waiting_user' })] });
    await settle();
    expect(windowState(session.snapshot).people[0]!.question).toBe('Ana hands over to Luis, who would take over helping you.');
    tunnels[0]!.drop(CloseCode.HANDED_OVER);
    server.ticket({ technician: { displayName: 'Luis' }, mainChannel: false, participants: [luis({ kind: 'transfer', mode: 'control' })] });
    await new Promise((r) => setTimeout(r, 400));
    expect(tunnels).toHaveLength(2);
    expect(tunnels[1]!.options.viewOnly).toBe(false);
    expect(session.legs.map((l) => l.channel)).toEqual(['7.p3']);
    expect(session.snapshot).toMatchObject({ state: 'in_session', technicianName: 'Luis', mainChannel: false });
    server.ticket({ status: 'ended', endReason: 'ENDED_BY_TECHNICIAN' });
    await reach(session, 'ended');
    expect(tunnels[1]!.closed).toBe(true);
  });

  it('the holder drops while a participant is connected: the main leg re-arms only while the ticket keeps the main channel', async () => {
    const { server, tunnels, session } = await anaHolds();
    server.ticket({ participants: [luis({ mode: 'control' })] });
    await settle();
    // The ticket promotes Luis before the main leg's re-arm: the main channel is not asked for again.
    tunnels[0]!.drop(CloseCode.VIEWER_LEFT);
    server.ticket({ mainChannel: false, technician: { displayName: 'Luis' } });
    await new Promise((r) => setTimeout(r, 500));
    expect(tunnels).toHaveLength(2);
    expect(server.posted('/desktop-token').filter((c) => !c.path.includes('/participants/'))).toHaveLength(1);
    expect(session.snapshot.state).not.toBe('ended');
    expect(tunnels[1]!.closed).toBe(false);
  });

  it('stop everyone and stop one reach the server', async () => {
    const { server, session } = await anaHolds();
    server.ticket({ participants: [luis()] });
    await settle();
    await session.consent.stop(12);
    await session.consent.stopEveryone();
    expect(server.posted('/participants/12/stop')).toHaveLength(1);
    expect(server.posted('/participants/stop-all')).toHaveLength(1);
    expect(() => session.consent.find('nobody', () => true)).toThrow(/nobody named nobody/);
    expect(session.consent.find('luis', (p) => p.state === 'connected').technicianId).toBe(12);
  });
});
