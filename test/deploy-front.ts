// The nginx files of deploy/ as the tests run them: read as written, with only
// what cannot be the same on a test machine substituted — listen addresses,
// upstream addresses, certificate paths — by an explicit list that fails
// loudly when a target is missing (a changed deploy file cannot silently
// escape the test) and refuses a result that still names a non-loopback
// address or a path under /etc. TLS uses a certificate made with `openssl
// req -x509` for 127.0.0.1 at the start of the test run (global-setup.ts),
// which every test process trusts from its start (NODE_EXTRA_CA_CERTS).
import { createHash } from 'node:crypto';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { stopProcess, waitForPort } from './processes.ts';

const deployDir = resolve(import.meta.dirname, '..', 'deploy');

export interface TestCertificate {
  dir: string;
  cert: string;
  key: string;
}

/** A self-signed certificate and key for 127.0.0.1 and localhost, valid two days, in a new directory. */
export function makeTestCertificate(): TestCertificate {
  const dir = mkdtempSync(join(tmpdir(), 'hd-tls-'));
  const cert = join(dir, 'cert.pem');
  const key = join(dir, 'key.pem');
  const args = ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-days', '2', '-subj', '/CN=127.0.0.1'];
  const made = spawnSync('openssl', [...args, '-addext', 'subjectAltName=IP:127.0.0.1,DNS:localhost', '-keyout', key, '-out', cert], { encoding: 'utf8' });
  if (made.status !== 0) throw new Error(`openssl could not make the test certificate: ${made.error?.message ?? made.stderr}`);
  return { dir, cert, key };
}

/** The run's certificate (test/global-setup.ts), which this process trusts. */
export function testCertificate(): TestCertificate {
  const cert = process.env.HELPDESK_TEST_TLS_CERT;
  const key = process.env.HELPDESK_TEST_TLS_KEY;
  if (!cert || !key || process.env.NODE_EXTRA_CA_CERTS !== cert) {
    throw new Error('no test TLS certificate trusted by this process: run under a vitest config whose globalSetup is test/global-setup.ts');
  }
  return { dir: resolve(cert, '..'), cert, key };
}

/** One substitution: every occurrence of `from` (which must occur) becomes `to`. */
export type Replacement = readonly [from: string, to: string];

/** deploy/<name> with `replacements` applied; throws naming every target that is missing or anything left unsubstituted. */
export function renderDeployFile(name: string, replacements: readonly Replacement[]): string {
  let text = readFileSync(join(deployDir, name), 'utf8');
  const missing = replacements.filter(([from]) => !text.includes(from)).map(([from]) => JSON.stringify(from));
  if (missing.length) throw new Error(`deploy/${name} changed: the test substitutes ${missing.join(', ')}, which it no longer contains; update the test's replacements`);
  for (const [from, to] of replacements) text = text.split(from).join(to);
  const live = text.split('\n').filter((line) => !/^\s*#/.test(line));
  const leftovers = live.filter((line) => /\b(?!127\.0\.0\.1\b)\d{1,3}(\.\d{1,3}){3}\b|\/etc\/|^\s*listen\s+(?!127\.0\.0\.1:)/.test(line));
  if (leftovers.length) throw new Error(`deploy/${name}: lines the test does not substitute yet:\n${leftovers.join('\n')}`);
  return text;
}

export interface Nginx {
  child: ChildProcess;
  dir: string;
  /** nginx's error log so far. */
  errors(): string;
  stop(): Promise<void>;
}

/**
 * Runs nginx (as root, in the foreground, everything under a temporary
 * prefix) with `site` in its http block, as a site file is included in
 * production; resolves once it listens on every port of `ports`.
 */
export async function startNginx(site: string, ports: readonly number[]): Promise<Nginx> {
  const dir = mkdtempSync(join(tmpdir(), 'hd-nginx-'));
  for (const sub of ['body', 'proxy', 'fastcgi', 'uwsgi', 'scgi']) mkdirSync(join(dir, sub));
  writeFileSync(join(dir, 'site.conf'), site);
  writeFileSync(
    join(dir, 'nginx.conf'),
    `worker_processes 1;
pid ${dir}/nginx.pid;
error_log ${dir}/error.log warn;
daemon off;
user root;
events { worker_connections 4096; }
http {
  access_log off;
  client_body_temp_path ${dir}/body;
  proxy_temp_path ${dir}/proxy;
  fastcgi_temp_path ${dir}/fastcgi;
  uwsgi_temp_path ${dir}/uwsgi;
  scgi_temp_path ${dir}/scgi;
  include ${dir}/site.conf;
}
`,
  );
  let output = '';
  const child = spawn('nginx', ['-p', dir, '-c', join(dir, 'nginx.conf')], { stdio: ['ignore', 'ignore', 'pipe'] });
  child.stderr.on('data', (d: Buffer) => (output += d.toString()));
  const errors = () => output + (existsSync(join(dir, 'error.log')) ? readFileSync(join(dir, 'error.log'), 'utf8') : '');
  try {
    for (const port of ports) await waitForPort(port, 'nginx', child, 10_000);
  } catch (err) {
    await stopProcess(child);
    throw new Error(`${(err as Error).message}: ${errors()}`);
  }
  return { child, dir, errors, stop: () => stopProcess(child) };
}

/** Fetches `url` and hashes the body as it streams (a 50 MiB file is never held whole). */
export async function downloadHashed(url: string, headers: Record<string, string>): Promise<{ status: number; sha256: string; size: number; headers: Headers }> {
  const res = await fetch(url, { headers });
  const hash = createHash('sha256');
  let size = 0;
  for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
    hash.update(chunk);
    size += chunk.length;
  }
  return { status: res.status, sha256: hash.digest('hex'), size, headers: res.headers };
}

/** The product's default FILE_MAX_BYTES: what the front door must let through. */
export const FILE_MAX_BYTES = 50 * 1024 * 1024;
export const sha = (b: Buffer): string => createHash('sha256').update(b).digest('hex');
