// Failed logins (wrong passwords and wrong codes alike), counted two ways, both
// in the database so that every server agrees:
// - per account *and* address (login_throttle): guesses from one address lock
//   that address out of the account, never the owner elsewhere;
// - per account from every address together (login_account_throttle): past
//   accountMaxFailures attempts from addresses that never logged in to the
//   account, each further attempt from such an address waits a delay that
//   doubles from one second up to accountMaxDelayMs, and is turned away
//   unchecked (429 LOGIN_SLOWED) meanwhile. Addresses the account logged in
//   from in the last 90 days, and browsers it logged in from (a device token,
//   server/auth/device.ts), are spared (login_known_addresses); a completed
//   login clears the count. A login is admitted once for both its steps: the
//   code step claims its password step's admission (one code per admission).
//   So guessing from many addresses slows to one attempt per delay, while the
//   owner at a usual address or browser is never slowed; elsewhere, once the
//   guessing stops, the owner waits at most accountMaxDelayMs.
import type { Knex } from 'knex';
import { AppError } from '../errors.ts';
import type { Clock } from '../clock.ts';
import type { ActorContext } from '../audit/actor.ts';
import { insertAuditEvent } from '../audit/store.ts';
import { sha256 } from '../../lib/crypto.ts';
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
/** A remembered browser's row beside the addresses: its token, hashed (a database read gives no usable cookie). */
const deviceKey = (device: string) => `device:${sha256(device).slice(0, 56)}`;

/** An attempt's admission past the per-account ceiling: the count and time it left on the account's row (what its code step claims). */
export interface Admission {
  failures: number;
  at: number;
}

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

  /** Whether the account logged in from this address, or this browser, in the last 90 days. */
  async function isKnown(technicianId: number, remoteAddress: string, device: string | null): Promise<boolean> {
    const keys = [addressKey(remoteAddress), ...(device ? [deviceKey(device)] : [])];
    const known = (await db('login_known_addresses').where({ technician_id: technicianId }).whereIn('address', keys).where('last_success_at', '>', clock.now() - KNOWN_ADDRESS_MS).first('address')) as { address: string } | undefined;
    return known !== undefined;
  }

  /** Moves the account's row from an admission's mark to another, if no other attempt was admitted since (compare-and-set). */
  async function moveMark(technicianId: number, from: Admission, to: Admission): Promise<boolean> {
    const moved = await db('login_account_throttle').where({ technician_id: technicianId, failures: from.failures, last_failure_at: from.at }).update({ failures: to.failures, last_failure_at: to.at });
    return moved === 1;
  }

  return {
    /** Refuses an address locked out of this account (423 ACCOUNT_LOCKED). */
    async checkAddress(row: TechnicianRow, remoteAddress: string): Promise<void> {
      const now = clock.now();
      const throttle = (await db('login_throttle').where({ technician_id: row.id, address: addressKey(remoteAddress) }).first('locked_until')) as { locked_until: number | null } | undefined;
      if (throttle?.locked_until != null && Number(throttle.locked_until) > now) {
        const waitMs = Number(throttle.locked_until) - now;
        await insertAuditEvent(db, now, loginContext(row.username, remoteAddress), 'login.failed', { technicianId: Number(row.id) }, { reason: 'locked' });
        throw new AppError('ACCOUNT_LOCKED', `Too many failed logins from your address: try again in ${waitInWords(waitMs)}`, { retryAfterMs: waitMs, minutes: Math.max(1, Math.ceil(waitMs / 60_000)) });
      }
    },

    /**
     * The per-account ceiling, before any password or code is checked: an
     * attempt from an address the account never logged in from is counted
     * first (a success clears it), by a compare-and-set on the account's row,
     * so attempts arriving at once on several servers each count; one arriving
     * while the account's delay runs is turned away unchecked (LOGIN_SLOWED).
     * Returns the admission's mark (null: a known address or browser, spared).
     */
    async admit(row: TechnicianRow, remoteAddress: string, device: string | null): Promise<Admission | null> {
      const technicianId = Number(row.id);
      if (await isKnown(technicianId, remoteAddress, device)) return null;
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
        return { failures, at: now };
      }
      throw slowed(FIRST_DELAY_MS);
    },

    /**
     * A right password whose code is still to come: its admission is given
     * back (the count goes down by one), so the owner's own password never
     * lengthens the delay; the delay it started stands, held for its code.
     * Returns the mark the code step claims (null: another attempt came between).
     */
    async giveBack(technicianId: number, admission: Admission): Promise<Admission | null> {
      const back = { failures: admission.failures - 1, at: admission.at };
      return (await moveMark(technicianId, admission, back)) ? back : null;
    },

    /**
     * The code step of an admitted login claims that admission, counted now:
     * one code per admission, by a compare-and-set, so codes sent at once on
     * one pending login cannot share it. False when it was claimed already or
     * another attempt was admitted since (the code is then admitted anew).
     */
    claim(technicianId: number, admission: Admission): Promise<boolean> {
      return moveMark(technicianId, admission, { failures: admission.failures + 1, at: Math.max(clock.now(), admission.at + 1) });
    },

    /**
     * A wrong password or code, counted against this address (the account's
     * count was taken by admit) by an atomic increment, so failures arriving
     * at once each count; the lock follows from the count read back.
     */
    async recordFailure(row: TechnicianRow, remoteAddress: string, reason: string): Promise<void> {
      const now = clock.now();
      const pair = { technician_id: row.id, address: addressKey(remoteAddress) };
      await db('login_throttle').insert({ ...pair, failures: 0, locked_until: null, last_failure_at: now }).onConflict(['technician_id', 'address']).ignore();
      await db('login_throttle').where(pair).update({ failures: db.raw('failures + 1'), last_failure_at: now });
      const failures = Number(((await db('login_throttle').where(pair).first('failures')) as { failures: number } | undefined)?.failures ?? 1);
      const lockMs = failures >= limits.maxFailures ? Math.min(limits.lockoutMs, FIRST_LOCK_MS * 2 ** (failures - limits.maxFailures)) : 0;
      if (lockMs) {
        await db('login_throttle')
          .where(pair)
          .andWhere((q) => void q.whereNull('locked_until').orWhere('locked_until', '<', now + lockMs))
          .update({ locked_until: now + lockMs });
      }
      await insertAuditEvent(db, now, loginContext(row.username, remoteAddress), lockMs ? 'login.locked' : 'login.failed', { technicianId: Number(row.id) }, { reason, failures, ...(lockMs ? { lockedForMs: lockMs } : {}) });
    },

    /** A completed login: this address's failures and the account's count are cleared, and the address and browser are known from now on. */
    async succeeded(row: TechnicianRow, remoteAddress: string, device: string | null): Promise<void> {
      const now = clock.now();
      const pair = { technician_id: row.id, address: addressKey(remoteAddress) };
      await db('login_throttle').where(pair).delete();
      await db('login_account_throttle').where({ technician_id: row.id }).delete();
      const known = [pair, ...(device ? [{ technician_id: row.id, address: deviceKey(device) }] : [])].map((k) => ({ ...k, last_success_at: now }));
      await db('login_known_addresses').insert(known).onConflict(['technician_id', 'address']).merge(['last_success_at']);
    },

    /** Clears an account's counts (Unlock, a password reset); `forgetAddresses` also forgets where (and in which browsers) it logged in. */
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
