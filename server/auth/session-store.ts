// express-session's store in the product's own database (table web_sessions),
// so sessions survive restarts and work the same on SQLite and MariaDB. A
// company sign-in's session (OIDC, LDAP) ends at its `sso.expiresAt` however
// active it is: every request, and every live stream's re-check, reads the
// session through get(), which no longer finds it then.
import session from 'express-session';
import type { Knex } from 'knex';
import type { Clock } from '../clock.ts';

type Callback<T = void> = (err?: unknown, value?: T) => void;

export class KnexSessionStore extends session.Store {
  private readonly db: Knex;
  private readonly clock: Clock;
  private readonly idleMs: number;

  constructor(
    db: Knex,
    clock: Clock,
    idleMs: number,
  ) {
    super();
    this.db = db;
    this.clock = clock;
    this.idleMs = idleMs;
  }

  #expiry(sess: session.SessionData): number {
    const expires = sess.cookie?.expires;
    const idle = expires ? new Date(expires).getTime() : this.clock.now() + this.idleMs;
    return Math.min(idle, sess.sso?.expiresAt ?? Infinity);
  }

  override get(sid: string, callback: Callback<session.SessionData | null>): void {
    this.db('web_sessions')
      .where({ sid })
      .where('expires_at', '>', this.clock.now())
      .first()
      .then((row: { data: string } | undefined) => {
        const sess = row ? (JSON.parse(row.data) as session.SessionData) : null;
        callback(null, sess && !(sess.sso && sess.sso.expiresAt <= this.clock.now()) ? sess : null);
      }, callback);
  }

  override set(sid: string, sess: session.SessionData, callback?: Callback): void {
    const user = (sess as { passport?: { user?: unknown } }).passport?.user;
    const row = { sid, data: JSON.stringify(sess), expires_at: this.#expiry(sess), technician_id: typeof user === 'number' ? user : null };
    this.db('web_sessions')
      .insert(row)
      .onConflict('sid')
      .merge(['data', 'expires_at', 'technician_id'])
      .then(() => callback?.(), (err: unknown) => callback?.(err));
  }

  override touch(sid: string, sess: session.SessionData, callback?: Callback): void {
    this.db('web_sessions')
      .where({ sid })
      .update({ expires_at: this.#expiry(sess) })
      .then(() => callback?.(), (err: unknown) => callback?.(err));
  }

  override destroy(sid: string, callback?: Callback): void {
    this.db('web_sessions')
      .where({ sid })
      .delete()
      .then(() => callback?.(), (err: unknown) => callback?.(err));
  }

  /** Ends every web session of a technician (but `exceptSid`, the one that asked, when given); returns how many. */
  destroyForTechnician(technicianId: number, exceptSid: string | null = null): Promise<number> {
    const query = this.db('web_sessions').where({ technician_id: technicianId });
    if (exceptSid) query.whereNot({ sid: exceptSid });
    return query.delete();
  }

  /** Removes expired sessions; called by the server's housekeeping timer. */
  purgeExpired(): Promise<number> {
    return this.db('web_sessions').where('expires_at', '<=', this.clock.now()).delete();
  }
}
