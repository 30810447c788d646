// A real OpenLDAP directory for a test: Debian's slapd started as its own
// process on a loopback port, from a slapd.conf written into a temporary
// directory (mdb backend), filled with slapadd from a small LDIF. Stopped by
// its pid (the handle this helper spawned), never by name.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort, stopProcess, waitForPort } from './processes.ts';

export const LDAP_SUFFIX = 'dc=helpdesk,dc=test';
export const LDAP_SERVICE_DN = `cn=helpdesk-service,ou=services,${LDAP_SUFFIX}`;
export const LDAP_SERVICE_PASSWORD = 'service-password-123';
export const LDAP_ADMINS = `cn=helpdesk-admins,ou=groups,${LDAP_SUFFIX}`;
export const LDAP_TECHNICIANS = `cn=helpdesk-technicians,ou=groups,${LDAP_SUFFIX}`;

export interface DirectoryUser {
  uid: string;
  cn: string;
  password: string;
  mail?: string;
  groups: ('admins' | 'technicians')[];
}

export interface Slapd {
  url: string;
  port: number;
  /** With `tls`: the ldaps:// URL, and the PEM of the self-signed certificate both listeners use (its CA). */
  ldapsUrl: string | null;
  caFile: string | null;
  /** The environment a server needs to sign in against this directory. */
  env: Record<string, string>;
  stop(): Promise<void>;
  /** Starts it again on the same port and data (after stop). */
  start(): Promise<void>;
  /** Freezes the process (SIGSTOP): it still accepts connections, answers nothing; resume() thaws it. */
  pause(): void;
  resume(): void;
  /** Removes the temporary directory (after stop). */
  remove(): void;
}

function ldif(users: DirectoryUser[]): string {
  const entries = [
    `dn: ${LDAP_SUFFIX}\nobjectClass: dcObject\nobjectClass: organization\ndc: helpdesk\no: Helpdesk test`,
    `dn: ou=people,${LDAP_SUFFIX}\nobjectClass: organizationalUnit\nou: people`,
    `dn: ou=groups,${LDAP_SUFFIX}\nobjectClass: organizationalUnit\nou: groups`,
    `dn: ou=services,${LDAP_SUFFIX}\nobjectClass: organizationalUnit\nou: services`,
    `dn: ${LDAP_SERVICE_DN}\nobjectClass: person\ncn: helpdesk-service\nsn: service\nuserPassword: ${LDAP_SERVICE_PASSWORD}`,
    ...users.map((u) => `dn: uid=${u.uid},ou=people,${LDAP_SUFFIX}\nobjectClass: inetOrgPerson\nuid: ${u.uid}\ncn: ${u.cn}\nsn: ${u.cn.split(' ').pop()}\ndisplayName: ${u.cn}\n${u.mail ? `mail: ${u.mail}\n` : ''}userPassword: ${u.password}`),
    ...(['admins', 'technicians'] as const).map((g) => {
      const members = users.filter((u) => u.groups.includes(g)).map((u) => `member: uid=${u.uid},ou=people,${LDAP_SUFFIX}`);
      // groupOfNames needs a member: the service account stands in for an empty group.
      return `dn: ${g === 'admins' ? LDAP_ADMINS : LDAP_TECHNICIANS}\nobjectClass: groupOfNames\ncn: helpdesk-${g}\n${(members.length ? members : [`member: ${LDAP_SERVICE_DN}`]).join('\n')}`;
    }),
  ];
  return `${entries.join('\n\n')}\n`;
}

export async function startSlapd(users: DirectoryUser[], options: { tls?: boolean } = {}): Promise<Slapd> {
  const dir = mkdtempSync(join(tmpdir(), 'hd-slapd-'));
  mkdirSync(join(dir, 'db'));
  const caFile = options.tls ? join(dir, 'cert.pem') : null;
  if (caFile) {
    // A self-signed certificate for 127.0.0.1: it is its own CA.
    const made = spawnSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '1', '-subj', '/CN=127.0.0.1', '-addext', 'subjectAltName=IP:127.0.0.1', '-keyout', join(dir, 'key.pem'), '-out', caFile], { encoding: 'utf8' });
    if (made.status !== 0) throw new Error(`openssl failed: ${made.stderr}`);
  }
  const conf = join(dir, 'slapd.conf');
  writeFileSync(
    conf,
    [
      'include /etc/ldap/schema/core.schema',
      'include /etc/ldap/schema/cosine.schema',
      'include /etc/ldap/schema/inetorgperson.schema',
      'include /etc/ldap/schema/nis.schema',
      'modulepath /usr/lib/ldap',
      'moduleload back_mdb',
      `pidfile ${join(dir, 'slapd.pid')}`,
      `argsfile ${join(dir, 'slapd.args')}`,
      ...(caFile ? [`TLSCertificateFile ${caFile}`, `TLSCertificateKeyFile ${join(dir, 'key.pem')}`] : []),
      'database mdb',
      `suffix "${LDAP_SUFFIX}"`,
      `rootdn "cn=root,${LDAP_SUFFIX}"`,
      `directory ${join(dir, 'db')}`,
      'maxsize 16777216',
      'access to attrs=userPassword by anonymous auth by * none',
      'access to * by users read by * none',
      '',
    ].join('\n'),
  );
  writeFileSync(join(dir, 'data.ldif'), ldif(users));
  const added = spawnSync('slapadd', ['-f', conf, '-l', join(dir, 'data.ldif')], { encoding: 'utf8' });
  if (added.status !== 0) throw new Error(`slapadd failed: ${added.stderr}`);
  const port = await freePort();
  const url = `ldap://127.0.0.1:${port}`;
  const tlsPort = caFile ? await freePort() : 0;
  const ldapsUrl = caFile ? `ldaps://127.0.0.1:${tlsPort}` : null;
  let child: ChildProcess | null = null;
  const start = async () => {
    // -d 0: stay in the foreground (the handle is slapd itself), logging nothing.
    child = spawn('slapd', ['-f', conf, '-h', [`${url}/`, ...(ldapsUrl ? [`${ldapsUrl}/`] : [])].join(' '), '-d', '0'], { stdio: ['ignore', 'ignore', 'pipe'] });
    await waitForPort(port, 'slapd', child);
    if (ldapsUrl) await waitForPort(tlsPort, 'slapd (ldaps)', child);
  };
  await start();
  return {
    url,
    port,
    ldapsUrl,
    caFile,
    env: {
      LDAP_URL: url,
      LDAP_BIND_DN: LDAP_SERVICE_DN,
      LDAP_BIND_PASSWORD: LDAP_SERVICE_PASSWORD,
      LDAP_USER_BASE: `ou=people,${LDAP_SUFFIX}`,
      LDAP_USER_FILTER: '(&(objectClass=inetOrgPerson)(uid={username}))',
      LDAP_ADMIN_GROUP: LDAP_ADMINS,
      LDAP_TECHNICIAN_GROUP: LDAP_TECHNICIANS,
    },
    stop: () => stopProcess(child),
    pause: () => void child?.kill('SIGSTOP'),
    resume: () => void child?.kill('SIGCONT'),
    start,
    remove: () => rmSync(dir, { recursive: true, force: true }),
  };
}
