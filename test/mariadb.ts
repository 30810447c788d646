// A private MariaDB for tests: its own data directory, socket and loopback
// port; it can be stopped and started again on the same data (outage tests).
import { spawn, execFileSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort, stopProcess } from './processes.ts';

export interface MariaDb {
  /** mysql://helpdesk:…@127.0.0.1:PORT (no database: add /name). */
  url: string;
  stop(): Promise<void>;
  start(): Promise<void>;
  destroy(): Promise<void>;
}

function which(bin: string): string | null {
  for (const dir of (process.env.PATH ?? '').split(':').concat(['/usr/sbin', '/usr/bin'])) {
    if (existsSync(join(dir, bin))) return join(dir, bin);
  }
  return null;
}

export async function startMariaDb(): Promise<MariaDb> {
  const mariadbd = which('mariadbd');
  const installDb = which('mariadb-install-db');
  const client = which('mariadb');
  if (!mariadbd || !installDb || !client) throw new Error('mariadb-server is not installed (apt-get install mariadb-server)');
  const dataRoot = mkdtempSync(join(tmpdir(), 'helpdesk-mariadb-'));
  const datadir = join(dataRoot, 'data');
  const socket = join(dataRoot, 'mysqld.sock');
  const port = await freePort();
  const asRoot = process.getuid?.() === 0;
  execFileSync('chmod', ['755', dataRoot]);
  // mariadbd runs as mysql when we are root: it must own the folder of its socket.
  if (asRoot) execFileSync('chown', ['mysql:mysql', dataRoot]);
  execFileSync(installDb, [`--datadir=${datadir}`, ...(asRoot ? ['--user=mysql'] : []), '--auth-root-authentication-method=socket', '--skip-test-db'], { stdio: 'ignore' });
  let server: ChildProcess | null = null;
  let userCreated = false;

  const start = async (): Promise<void> => {
    const child = spawn(
      mariadbd,
      [
        '--no-defaults',
        `--datadir=${datadir}`,
        `--socket=${socket}`,
        `--port=${port}`,
        '--bind-address=127.0.0.1',
        `--pid-file=${join(dataRoot, 'mysqld.pid')}`,
        // Its temporary tables in its own folder: another process cleaning /tmp cannot delete them mid-query.
        `--tmpdir=${dataRoot}`,
        '--innodb-buffer-pool-size=64M',
        '--innodb-flush-log-at-trx-commit=2',
        '--skip-log-bin',
        // Full-text words from one letter, as SQLite's index has them (README: word search on MariaDB).
        '--innodb-ft-min-token-size=1',
        ...(asRoot ? ['--user=mysql'] : []),
      ],
      { stdio: 'ignore' },
    );
    server = child;
    const deadline = Date.now() + 60_000;
    const sql = userCreated ? 'SELECT 1' : "CREATE USER IF NOT EXISTS 'helpdesk'@'127.0.0.1' IDENTIFIED BY 'helpdesk-test'; GRANT ALL ON *.* TO 'helpdesk'@'127.0.0.1';";
    for (;;) {
      try {
        execFileSync(client, [`--socket=${socket}`, '-uroot', '-e', sql], { stdio: 'ignore' });
        userCreated = true;
        return;
      } catch (err) {
        if (Date.now() > deadline) throw new Error(`MariaDB did not start within 60 s: ${(err as Error).message}`);
        if (child.exitCode !== null) throw new Error(`mariadbd exited with ${child.exitCode}`);
        await new Promise((r) => setTimeout(r, 250));
      }
    }
  };

  const stop = async (): Promise<void> => {
    const child = server;
    server = null;
    await stopProcess(child, 30_000);
  };

  await start();
  return {
    url: `mysql://helpdesk:helpdesk-test@127.0.0.1:${port}`,
    stop,
    start,
    async destroy() {
      await stop();
      rmSync(dataRoot, { recursive: true, force: true });
    },
  };
}
