// The repeater's pure pieces: the pairing table and the leg limits.
import { describe, expect, it } from 'vitest';
import type { Leg } from './leg.ts';
import { LegLimits } from './leg-limits.ts';
import { PairingTable } from './pairing-table.ts';

/** The table reads only a leg's ticket and side. */
const leg = (ticketId: string, side: 'desktop' | 'viewer') => ({ ticketId, side }) as unknown as Leg;

describe('PairingTable', () => {
  it('a first leg waits, the other side pairs them, in either order', () => {
    const table = new PairingTable();
    const desktop = leg('1', 'desktop');
    const viewer = leg('1', 'viewer');
    expect(table.add(viewer)).toEqual({ kind: 'waiting' });
    expect(table.add(desktop)).toEqual({ kind: 'paired', desktop, viewer });
    expect(table.ticketCount).toBe(1);
    expect([...table.legs()]).toEqual([desktop, viewer]);
  });

  it('a second leg for a side already held is a duplicate, and the first keeps its place', () => {
    const table = new PairingTable();
    const first = leg('2', 'desktop');
    table.add(first);
    const second = leg('2', 'desktop');
    expect(table.add(second)).toEqual({ kind: 'duplicate', existing: first });
    expect(table.get('2')?.desktop).toBe(first);
    // Removing the refused duplicate does not remove the one held.
    table.remove(second);
    expect(table.get('2')?.desktop).toBe(first);
  });

  it('tickets do not meet: legs of two tickets never pair', () => {
    const table = new PairingTable();
    expect(table.add(leg('3', 'desktop'))).toEqual({ kind: 'waiting' });
    expect(table.add(leg('4', 'viewer'))).toEqual({ kind: 'waiting' });
    expect(table.ticketCount).toBe(2);
  });

  it('frees a ticket\'s slot once both legs are gone', () => {
    const table = new PairingTable();
    const desktop = leg('5', 'desktop');
    const viewer = leg('5', 'viewer');
    table.add(desktop);
    table.add(viewer);
    table.remove(desktop);
    const session = table.get('5')!.sessionId;
    expect(table.get('5')).toEqual({ desktop: null, viewer, sessionId: expect.stringMatching(/^[0-9a-f-]{36}$/) });
    table.remove(viewer);
    expect(table.get('5')).toBeUndefined();
    expect(table.ticketCount).toBe(0);
    // A new desktop leg may take the side again: a new remote session.
    expect(table.add(leg('5', 'desktop'))).toEqual({ kind: 'waiting' });
    expect(table.get('5')!.sessionId).not.toBe(session);
  });
});

describe('LegLimits', () => {
  it('refuses past the per-address cap, names it, and lets the address in again after a release', () => {
    const limits = new LegLimits(10, 2);
    expect(limits.acquire('10.0.0.1')).toBeNull();
    expect(limits.acquire('10.0.0.1')).toBeNull();
    expect(limits.acquire('10.0.0.1')).toBe('TOO_MANY_LEGS_FROM_ADDRESS');
    expect(limits.acquire('10.0.0.2')).toBeNull(); // another address is not held back
    limits.release('10.0.0.1');
    expect(limits.acquire('10.0.0.1')).toBeNull();
    expect(limits.total).toBe(3);
  });

  it('refuses past the total cap whatever the address', () => {
    const limits = new LegLimits(2, 5);
    expect(limits.acquire('a')).toBeNull();
    expect(limits.acquire('b')).toBeNull();
    expect(limits.acquire('c')).toBe('TOO_MANY_LEGS');
    limits.release('a');
    expect(limits.acquire('c')).toBeNull();
  });

  it('a release of an address it never counted changes nothing', () => {
    const limits = new LegLimits(2, 1);
    limits.release('never-seen');
    expect(limits.total).toBe(0);
    expect(limits.acquire('a')).toBeNull();
    limits.release('a');
    limits.release('a');
    expect(limits.total).toBe(0);
  });
});
