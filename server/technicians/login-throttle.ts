// Failed logins (wrong passwords and wrong codes alike), counted two ways, both
// in the database so that every server agrees:
// - per account *and* address (login_throttle): guesses from one address lock
//   that address out of the account, never the owner elsewhere;
// - per account from every address together (login_account_throttle): past
//   accountMaxFailures attempts from addresses that never logged in to the
//   account, each further attempt from such an address waits a delay that
//   doubles from one second up to accountMaxDelayMs, and is turned away
//   unchecked (429 LOGIN_SLOWED) meanwhile. Addresses the account logged in
//   from in the last 90 days (login_known_addresses) are spared; a success
//   clears the count. So guessing from many addresses slows to one attempt per
//   delay, while the owner at a usual address is never slowed, and from a new
//   one waits at most accountMaxDelayMs between attempts.
import type { Knex } from 'knex';
import { AppError } from '../errors.ts';
import type { Clock } from '../clock.ts';
import type { ActorContext } from '../audit/actor.ts';
import { insertAuditEvent } from '../audit/store.ts';
import type { TechnicianRow } from './store.ts';

export interface LoginLimits {
  /** Failures from one address before that address is locked out of the account. */
  maxFailures: number;
  /** Longest lock of one address. */
  lockoutMs: number;
  /** Attempts on one account from new addresses, together, before each further one waits. */
  accountMaxFailures: number;
  /** Longest wait between attempts on a slowed account. */
  accountMaxDelayMs: number;
}

/** What administrators see of an account's failed logins. */
export interface LoginTrouble {
  /** Failed logins counted now (they reset on a success from the same address). */
  failedLogins: number;
  /** Addresses from which this account is locked right now. */
  lockedAddresses: number;
  /** When the last failure happened, if any. */
  lastFailureAt: number | null;
  /** Until when the longest lock lasts, if any address is locked now. */
  lockedUntil: number | null;
  /** Until when attempts from new addresses wait (the per-account ceiling), if they do now. */
  slowedUntil: number | null;
}

/** The first lock after maxFailures lasts this long; each further failure doubles it, up to lockoutMs. */
const FIRST_LOCK_MS = 60_000;
/** The first wait past the account's ceiling; each further attempt doubles it, up to accountMaxDelayMs. */
const FIRST_DELAY_MS = 1_000;
/** An account's count is forgotten after this long without an attempt from a new address. */
const ACCOUNT_QUIET_MS = 3_600_000;
/** An address the account logged in from stays "known" (spared the account's delay) this long. */
const KNOWN_ADDRESS_MS = 90 * 24 * 3_600_000;
/** Attempts that lose the race to count themselves this many times in a row are turned away (others are guessing right now). */
const CLAIM_TRIES = 5;

/** "14 minutes", "40 seconds": how long until a lock ends, in words. */
export function waitInWords(ms: number): string {
  const seconds = Math.max(1, Math.ceil(ms / 1000));
  if (seconds < 60) return `${seconds} second${seconds === 1 ? '' : 's'}`;
  const minutes = Math.ceil(seconds / 60);
  return `${minutes} minute${minutes === 1 ? '' : 's'}`;
}

/** A login attempt is audited under the username tried, from its address. */
export const loginContext = (name: string, remoteAddress: string): ActorContext => ({ actor: { type: 'system', name }, remoteAddress });

const addressKey = (remoteAddress: string) => (remoteAddress || 'unknown').slice(0, 64);

/** This address's failures on the account, read before a check. */
export type AddressThrottle = { failures: number; locked_until: number | null } | undefined;

interface AccountRow {
  technician_id: number;
  failures: number;
  last_failure_at: number;
  delayed_until: number | null;
}

export type LoginThrottle = ReturnType<typeof createLoginThrottle>;

export function createLoginThrottle({ db, clock, limits }: { db: Knex; clock: Clock; limits: LoginLimits }) {
  const slowed = (waitMs: number) =>
    new AppError('LOGIN_SLOWED', `Too many failed logins on this account: wait ${waitInWords(waitMs)} and try again`, { retryAfterMs: waitMs, seconds: Math.max(1, Math.ceil(waitMs / 1000)) });

  async function isKnown(technicianId: number, remoteAddress: string): Promise<boolean> {
    const known = (await db('login_known_addresses').where({ technician_id: technicianId, address: addressKey(remoteAddress) }).first('last_success_at')) as { last_success_at: number } | undefined;
    return known !== undefined && Number(known.last_success_at) > clock.now() - KNOWN_ADDRESS_MS;
  }

  return {
    /** Refuses an address locked out of this account (423 ACCOUNT_LOCKED); returns its count for recordFailure. */
    async checkAddress(row: TechnicianRow, remoteAddress: string): Promise<AddressThrottle> {
      const now = clock.now();
      const throttle = (await db('login_throttle').where({ technician_id: row.id, address: addressKey(remoteAddress) }).first()) as AddressThrottle;
      if (throttle?.locked_until != null && Number(throttle.locked_until) > now) {
        const waitMs = Number(throttle.locked_until) - now;
        await insertAuditEvent(db, now, loginContext(row.username, remoteAddress), 'login.failed', { technicianId: Number(row.id) }, { reason: 'locked' });
        throw new AppError('ACCOUNT_LOCKED', `Too many failed logins from your address: try again in ${waitInWords(waitMs)}`, { retryAfterMs: waitMs, minutes: Math.max(1, Math.ceil(waitMs / 60_000)) });
      }
      return throttle;
    },

    /**
     * The per-account ceiling, before any password or code is checked: an
     * attempt from an address the account never logged in from is counted
     * first (a success clears it), by a compare-and-set on the account's row,
     * so attempts arriving at once on several servers each count; one arriving
     * while the account's delay runs is turned away unchecked (LOGIN_SLOWED).
     */
    async admit(row: TechnicianRow, remoteAddress: string): Promise<void> {
      const technicianId = Number(row.id);
      if (await isKnown(technicianId, remoteAddress)) return;
      for (let tries = 0; tries < CLAIM_TRIES; tries++) {
        const now = clock.now();
        const current = (await db('login_account_throttle').where({ technician_id: technicianId }).first()) as AccountRow | undefined;
        if (!current) {
          await db('login_account_throttle').insert({ technician_id: technicianId, failures: 0, last_failure_at: 0, delayed_until: null }).onConflict('technician_id').ignore();
          continue;
        }
        if (current.delayed_until != null && Number(current.delayed_until) > now) throw slowed(Number(current.delayed_until) - now);
        const quiet = Number(current.last_failure_at) < now - ACCOUNT_QUIET_MS;
        const failures = (quiet ? 0 : Number(current.failures)) + 1;
        const past = failures - limits.accountMaxFailures;
        const delayMs = past > 0 ? Math.min(limits.accountMaxDelayMs, FIRST_DELAY_MS * 2 ** Math.min(past - 1, 40)) : 0;
        const claimed = await db('login_account_throttle')
          .where({ technician_id: technicianId, failures: current.failures, last_failure_at: current.last_failure_at })
          .update({ failures, last_failure_at: now, delayed_until: delayMs ? now + delayMs : null });
        if (claimed !== 1) continue;
        if (delayMs) await insertAuditEvent(db, now, loginContext(row.username, remoteAddress), 'login.slowed', { technicianId }, { failures, durationMs: delayMs });
        return;
      }
      throw slowed(FIRST_DELAY_MS);
    },

    /** A wrong password or code: counted against this address (the account's count was taken by admit). */
    async recordFailure(row: TechnicianRow, remoteAddress: string, throttle: AddressThrottle, reason: string): Promise<void> {
      const now = clock.now();
      const failures = Number(throttle?.failures ?? 0) + 1;
      const lockMs = failures >= limits.maxFailures ? Math.min(limits.lockoutMs, FIRST_LOCK_MS * 2 ** (failures - limits.maxFailures)) : 0;
      await db('login_throttle')
        .insert({ technician_id: row.id, address: addressKey(remoteAddress), failures, locked_until: lockMs ? now + lockMs : null, last_failure_at: now })
        .onConflict(['technician_id', 'address'])
        .merge(['failures', 'locked_until', 'last_failure_at']);
      await insertAuditEvent(db, now, loginContext(row.username, remoteAddress), lockMs ? 'login.locked' : 'login.failed', { technicianId: Number(row.id) }, { reason, failures, ...(lockMs ? { lockedForMs: lockMs } : {}) });
    },

    /** A completed login: this address's failures and the account's count are cleared, and the address is known from now on. */
    async succeeded(row: TechnicianRow, remoteAddress: string): Promise<void> {
      const now = clock.now();
      const pair = { technician_id: row.id, address: addressKey(remoteAddress) };
      await db('login_throttle').where(pair).delete();
      await db('login_account_throttle').where({ technician_id: row.id }).delete();
      await db('login_known_addresses').insert({ ...pair, last_success_at: now }).onConflict(['technician_id', 'address']).merge(['last_success_at']);
    },

    /** Clears an account's counts (Unlock, a password reset); `forgetAddresses` also forgets where it logged in from. */
    async clear(trx: Knex, technicianId: number, forgetAddresses = false): Promise<number> {
      const cleared = await trx('login_throttle').where({ technician_id: technicianId }).delete();
      await trx('login_account_throttle').where({ technician_id: technicianId }).delete();
      if (forgetAddresses) await trx('login_known_addresses').where({ technician_id: technicianId }).delete();
      return cleared;
    },

    /** Failed logins, address locks and account delays of every account (administrators' view). */
    async trouble(): Promise<Map<number, LoginTrouble>> {
      const now = clock.now();
      const rows = (await db('login_throttle').select('technician_id', 'failures', 'locked_until', 'last_failure_at')) as {
        technician_id: number;
        failures: number;
        locked_until: number | null;
        last_failure_at: number;
      }[];
      const byId = new Map<number, LoginTrouble>();
      const of = (id: number) => byId.get(id) ?? { failedLogins: 0, lockedAddresses: 0, lastFailureAt: null, lockedUntil: null, slowedUntil: null };
      for (const r of rows) {
        const id = Number(r.technician_id);
        const t = of(id);
        t.failedLogins += Number(r.failures);
        if (r.locked_until !== null && Number(r.locked_until) > now) {
          t.lockedAddresses += 1;
          t.lockedUntil = Math.max(t.lockedUntil ?? 0, Number(r.locked_until));
        }
        t.lastFailureAt = Math.max(t.lastFailureAt ?? 0, Number(r.last_failure_at));
        byId.set(id, t);
      }
      const delayed = (await db('login_account_throttle').where('delayed_until', '>', now).select('technician_id', 'delayed_until')) as AccountRow[];
      for (const r of delayed) byId.set(Number(r.technician_id), { ...of(Number(r.technician_id)), slowedUntil: Number(r.delayed_until) });
      return byId;
    },
  };
}
