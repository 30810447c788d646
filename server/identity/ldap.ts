// LDAP / Active Directory sign-in (ldapts): the service account searches the
// user (LDAP_USER_FILTER, the username escaped as RFC 4515 says), then the
// password is checked by binding as the user's DN; groups give the role
// (memberOf on the entry, as Active Directory and OpenLDAP's memberof overlay
// keep it, else a look at each group: member, uniqueMember or memberUid).
// Members of neither group are refused. Every exchange is bounded by
// LDAP_TIMEOUT_MS, so a directory that is down is a refusal in words.
import { readFileSync } from 'node:fs';
import { isIP } from 'node:net';
import type { ConnectionOptions } from 'node:tls';
import { Client, InvalidCredentialsError, type Entry } from 'ldapts';
import { AppError } from '../errors.ts';
import type { Role } from '../technicians/schema.ts';
import type { LdapOptions } from './config.ts';
import type { VouchedIdentity } from './accounts.ts';

/** RFC 4515: a value inside a filter, with its special characters as \XX. */
export function escapeFilterValue(value: string): string {
  return value.replace(/[\\*()\0]/g, (c) => `\\${c.charCodeAt(0).toString(16).padStart(2, '0')}`);
}

/** Why the directory said no, for the audit. */
export type LdapRefusal = 'unknown_user' | 'wrong_password' | 'not_in_group';

export class LdapRefused extends AppError {
  readonly reason: LdapRefusal;
  constructor(reason: LdapRefusal, error: AppError) {
    super(error.code, error.message, error.details);
    this.reason = reason;
  }
}

const first = (entry: Entry, name: string): string => {
  const v = entry[name];
  const one = Array.isArray(v) ? v[0] : v;
  return typeof one === 'string' ? one : Buffer.isBuffer(one) ? one.toString('utf8') : '';
};
const all = (entry: Entry, name: string): string[] => {
  const v = entry[name];
  return (Array.isArray(v) ? v : v === undefined ? [] : [v]).map((x) => (Buffer.isBuffer(x) ? x.toString('utf8') : String(x)));
};
const sameDn = (a: string, b: string) => a.replace(/\s*,\s*/g, ',').toLowerCase() === b.replace(/\s*,\s*/g, ',').toLowerCase();

export function createLdapDirectory(options: LdapOptions) {
  const ca = options.caFile ? readFileSync(options.caFile) : null;
  // A fresh object each time (ldapts keeps the socket in it), naming the host the certificate must match (StartTLS
  // upgrades a socket, which otherwise checks "localhost"), and SNI for a name.
  const host = new URL(options.url).hostname.replace(/^\[|\]$/g, '');
  const tlsOptions = (): ConnectionOptions => ({ host, ...(isIP(host) ? {} : { servername: host }), ...(ca ? { ca: [ca] } : {}) });
  const down = (err: unknown) =>
    new AppError('SSO_UNAVAILABLE', `The LDAP directory (${options.url}) does not answer right now (${err instanceof Error ? err.message : String(err)}); try again in a moment`, { provider: 'LDAP', variant: 'ldap' });
  const wrong = () => new AppError('LOGIN_FAILED', 'Wrong username or password');

  async function connect(): Promise<Client> {
    // ldapts speaks TLS from the start whenever it is given TLS options: only ldaps:// gets them here.
    const ldaps = options.url.startsWith('ldaps:');
    const ldap = new Client({ url: options.url, timeout: options.timeoutMs, connectTimeout: options.timeoutMs, ...(ldaps ? { tlsOptions: tlsOptions() } : {}) });
    if (options.startTls) await ldap.startTLS(tlsOptions());
    return ldap;
  }

  async function inGroup(ldap: Client, group: string | null, dn: string, username: string, memberOf: string[]): Promise<boolean> {
    if (!group) return false;
    if (memberOf.some((g) => sameDn(g, group))) return true;
    const filter = `(|(member=${escapeFilterValue(dn)})(uniqueMember=${escapeFilterValue(dn)})(memberUid=${escapeFilterValue(username)}))`;
    const { searchEntries } = await ldap.search(group, { scope: 'base', filter, attributes: ['dn'] });
    return searchEntries.length > 0;
  }

  async function check(username: string, password: string): Promise<VouchedIdentity> {
    const service = await connect();
    try {
      await service.bind(options.bindDn, options.bindPassword);
      const filter = options.userFilter.split('{username}').join(escapeFilterValue(username));
      const { searchEntries } = await service.search(options.userBase, { scope: 'sub', filter, sizeLimit: 2, attributes: ['dn', 'cn', 'displayName', 'mail', 'memberOf', 'preferredLanguage'] });
      if (searchEntries.length !== 1) throw new LdapRefused('unknown_user', wrong());
      const entry = searchEntries[0]!;
      const user = await connect();
      try {
        await user.bind(entry.dn, password);
      } catch (err) {
        if (err instanceof InvalidCredentialsError) throw new LdapRefused('wrong_password', wrong());
        throw err;
      } finally {
        await user.unbind();
      }
      const memberOf = all(entry, 'memberOf');
      const role: Role | null = (await inGroup(service, options.adminGroup, entry.dn, username, memberOf))
        ? 'admin'
        : (await inGroup(service, options.technicianGroup, entry.dn, username, memberOf))
          ? 'technician'
          : null;
      if (!role) throw new LdapRefused('not_in_group', new AppError('SSO_NOT_IN_GROUP', `${username} is in neither LDAP_ADMIN_GROUP nor LDAP_TECHNICIAN_GROUP: ask an administrator`));
      const lang = first(entry, 'preferredLanguage').toLowerCase().slice(0, 2);
      return {
        source: 'ldap',
        provider: 'ldap',
        providerName: 'LDAP',
        issuer: 'ldap',
        subject: username,
        username,
        displayName: first(entry, 'displayName') || first(entry, 'cn') || username,
        email: first(entry, 'mail').slice(0, 255),
        language: lang === 'en' || lang === 'es' || lang === 'zh' ? lang : null,
        role,
      };
    } finally {
      await service.unbind();
    }
  }

  return {
    /**
     * The directory's word on a username and password: the identity with its
     * role, or LdapRefused (unknown user, wrong password, in no group), or
     * SSO_UNAVAILABLE when the directory does not answer within LDAP_TIMEOUT_MS.
     */
    async verify(username: string, password: string): Promise<VouchedIdentity> {
      // An empty password is an anonymous bind, which many directories accept: never a sign-in.
      if (!password) throw new LdapRefused('wrong_password', wrong());
      let timer: NodeJS.Timeout | undefined;
      const deadline = new Promise<never>((_resolve, reject) => {
        timer = setTimeout(() => reject(new Error(`no answer within ${options.timeoutMs} ms`)), options.timeoutMs);
      });
      try {
        return await Promise.race([check(username.trim().toLowerCase(), password), deadline]);
      } catch (err) {
        if (err instanceof AppError) throw err;
        throw down(err);
      } finally {
        clearTimeout(timer);
      }
    },
  };
}

export type LdapDirectory = ReturnType<typeof createLdapDirectory>;
