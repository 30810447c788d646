// The ticket state machine's table, move by move.
import { describe, expect, it } from 'vitest';
import { activeStatuses, closedStatuses, connectableStatuses, nextStatus, ticketActions, ticketMoves, ticketStatuses, type TicketAction, type TicketStatus } from './state-machine.ts';

describe('nextStatus', () => {
  it('follows the flow: requested → accepted → approved → in_session → ended → resolved', () => {
    const path: [TicketStatus, TicketAction, TicketStatus][] = [
      ['requested', 'accept', 'accepted'],
      ['accepted', 'approve', 'approved'],
      ['approved', 'start_session', 'in_session'],
      ['in_session', 'end', 'ended'],
      ['ended', 'resolve', 'resolved'],
    ];
    for (const [from, action, to] of path) expect(nextStatus(from, action), `${from} --${action}→`).toBe(to);
  });

  it('sends a held ticket back to the queue on decline, release and requeue, each from where it may', () => {
    expect(nextStatus('accepted', 'decline')).toBe('requested');
    expect(nextStatus('approved', 'decline')).toBeNull(); // the user already allowed: ending is theirs, not declining
    expect(nextStatus('accepted', 'release')).toBe('requested');
    expect(nextStatus('approved', 'release')).toBe('requested');
    expect(nextStatus('in_session', 'release')).toBeNull(); // a live session is ended, not released
    for (const from of ['accepted', 'approved', 'in_session'] as const) expect(nextStatus(from, 'requeue')).toBe('requested');
  });

  it('refuses every move the table does not list, and nothing leaves a closed ticket', () => {
    let legal = 0;
    for (const from of ticketStatuses) {
      for (const action of ticketActions) {
        const to = nextStatus(from, action);
        if (ticketMoves[action].from.includes(from)) {
          expect(to).toBe(ticketMoves[action].to);
          legal += 1;
        } else expect(to, `${from} --${action}→`).toBeNull();
      }
    }
    expect(legal).toBe(Object.values(ticketMoves).reduce((n, m) => n + m.from.length, 0));
    for (const from of closedStatuses) for (const action of ticketActions) expect(nextStatus(from, action)).toBeNull();
    expect(nextStatus('requested', 'end')).toBeNull();
    expect(nextStatus('expired', 'accept')).toBeNull();
  });

  it('a ticket is connectable only once the user allowed, and held only between accept and the end', () => {
    expect([...connectableStatuses].sort()).toEqual(['approved', 'in_session']);
    expect([...activeStatuses].sort()).toEqual(['accepted', 'approved', 'in_session']);
  });
});
