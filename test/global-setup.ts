// Starts a private MariaDB for the test run (its own data directory, socket
// and loopback port) unless TEST_MYSQL_URL names one already. The MySQL suites
// need it: under CI they fail rather than skip when it cannot start.
import { spawn, execFileSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, existsSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestProject } from 'vitest/node';

declare module 'vitest' {
  export interface ProvidedContext {
    mysqlUrl: string | null;
  }
}

let server: ChildProcess | null = null;
let dataRoot: string | null = null;

function which(bin: string): string | null {
  for (const dir of (process.env.PATH ?? '').split(':').concat(['/usr/sbin', '/usr/bin'])) {
    if (existsSync(join(dir, bin))) return join(dir, bin);
  }
  return null;
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address() as { port: number };
      s.close(() => resolve(port));
    });
    s.on('error', reject);
  });
}

async function startMariaDb(): Promise<string> {
  const mariadbd = which('mariadbd');
  const installDb = which('mariadb-install-db');
  const client = which('mariadb');
  if (!mariadbd || !installDb || !client) throw new Error('mariadb-server is not installed (apt-get install mariadb-server)');
  dataRoot = mkdtempSync(join(tmpdir(), 'helpdesk-mariadb-'));
  const datadir = join(dataRoot, 'data');
  const socket = join(dataRoot, 'mysqld.sock');
  const port = await freePort();
  const asRoot = process.getuid?.() === 0;
  execFileSync('chmod', ['755', dataRoot]);
  // mariadbd runs as mysql when we are root: it must own the folder of its socket.
  if (asRoot) execFileSync('chown', ['mysql:mysql', dataRoot]);
  execFileSync(installDb, [`--datadir=${datadir}`, ...(asRoot ? ['--user=mysql'] : []), '--auth-root-authentication-method=socket', '--skip-test-db'], { stdio: 'ignore' });
  server = spawn(
    mariadbd,
    [
      '--no-defaults',
      `--datadir=${datadir}`,
      `--socket=${socket}`,
      `--port=${port}`,
      '--bind-address=127.0.0.1',
      `--pid-file=${join(dataRoot, 'mysqld.pid')}`,
      '--innodb-buffer-pool-size=64M',
      '--innodb-flush-log-at-trx-commit=2',
      '--skip-log-bin',
      ...(asRoot ? ['--user=mysql'] : []),
    ],
    { stdio: 'ignore' },
  );
  const deadline = Date.now() + 60_000;
  for (;;) {
    try {
      execFileSync(client, [`--socket=${socket}`, '-uroot', '-e',
        "CREATE USER IF NOT EXISTS 'helpdesk'@'127.0.0.1' IDENTIFIED BY 'helpdesk-test'; GRANT ALL ON *.* TO 'helpdesk'@'127.0.0.1';"], { stdio: 'ignore' });
      break;
    } catch (err) {
      if (Date.now() > deadline) throw new Error(`MariaDB did not start within 60 s: ${(err as Error).message}`);
      if (server.exitCode !== null) throw new Error(`mariadbd exited with ${server.exitCode}`);
      await new Promise((r) => setTimeout(r, 250));
    }
  }
  return `mysql://helpdesk:helpdesk-test@127.0.0.1:${port}`;
}

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  let url = process.env.TEST_MYSQL_URL ?? null;
  if (!url) {
    try {
      url = await startMariaDb();
    } catch (err) {
      if (process.env.CI) throw err;
      console.warn(`MariaDB suites will be skipped: ${(err as Error).message}`);
    }
  }
  project.provide('mysqlUrl', url);
  return async () => {
    if (server && server.exitCode === null) {
      server.kill('SIGTERM');
      await new Promise((r) => server!.once('exit', r));
    }
    if (dataRoot) rmSync(dataRoot, { recursive: true, force: true });
  };
}
