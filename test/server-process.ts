// The server as its own process (node directly, as the systemd unit runs it)
// on a fixed port and SQLite file, so a test can kill it and start it again.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ADMIN_PASSWORD, TEST_RECORDING_KEY, TEST_SECRETS_KEY } from './http-clients.ts';
import { entryArgs } from '../lib/node-entry.ts';

export interface ServerProcess {
  child: ChildProcess;
  url: string;
  output(): string;
  exited: Promise<number | null>;
}

const mainPath = fileURLToPath(new URL('../server/main.ts', import.meta.url));

export async function startServerProcess(port: number, databaseUrl: string, env: Record<string, string> = {}): Promise<ServerProcess> {
  const child = spawn(process.execPath, entryArgs(mainPath), {
    env: { PATH: process.env.PATH ?? '', PORT: String(port), HOST: '127.0.0.1', DATABASE_URL: databaseUrl, ADMIN_PASSWORD, SECRETS_KEY: TEST_SECRETS_KEY, RECORDING_KEY: TEST_RECORDING_KEY, ARGON2_MEMORY_KIB: '8192', LOG_LEVEL: 'warn', RECORD_SESSIONS: 'off', RECORDINGS_DIR: mkdtempSync(join(tmpdir(), 'hd-recordings-')), FILES_DIR: mkdtempSync(join(tmpdir(), 'hd-files-')), ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout.on('data', (d: Buffer) => (output += d.toString()));
  child.stderr.on('data', (d: Buffer) => (output += d.toString()));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const deadline = Date.now() + 30_000;
  while (!output.includes('Helpdesk is running')) {
    if (child.exitCode !== null) throw new Error(`server exited with ${child.exitCode}: ${output}`);
    if (Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`server did not start within 30 s: ${output}`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  return { child, url: `http://127.0.0.1:${port}`, output: () => output, exited };
}
