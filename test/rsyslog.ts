// A real rsyslog (Debian's rsyslogd) for a test: its own configuration file
// and work directory in a temp dir, TCP (imtcp, octet-counted frames) and UDP
// (imudp) on one loopback port, every message it receives written to a file as
// "PRI APP-NAME MSGID MSG". Run in the foreground (-n) as a child of the test,
// stopped by its pid; started again on the same port.
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort, stopProcess, waitForPort } from './processes.ts';

export interface ReceivedLine {
  pri: number;
  app: string;
  msgId: string;
  /** The message: the audit line's JSON, parsed. */
  json: Record<string, any>;
}

export interface Rsyslog {
  port: number;
  dir: string;
  /** Every message received so far, in order. */
  lines(): ReceivedLine[];
  stop(): Promise<void>;
  start(): Promise<void>;
}

export const RSYSLOGD = '/usr/sbin/rsyslogd';

export async function startRsyslog(): Promise<Rsyslog> {
  const dir = mkdtempSync(join(tmpdir(), 'hd-rsyslog-'));
  const port = await freePort();
  const out = join(dir, 'received.log');
  const conf = join(dir, 'rsyslog.conf');
  writeFileSync(
    conf,
    [
      `global(workDirectory="${dir}" maxMessageSize="64k")`,
      'module(load="imtcp")',
      'module(load="imudp")',
      'template(name="line" type="string" string="%pri% %app-name% %msgid% %msg%\\n")',
      `ruleset(name="audit") { action(type="omfile" file="${out}" template="line") }`,
      `input(type="imtcp" port="${port}" address="127.0.0.1" ruleset="audit")`,
      `input(type="imudp" port="${port}" address="127.0.0.1" ruleset="audit")`,
      '',
    ].join('\n'),
  );
  let child: ChildProcess | null = null;
  let output = '';
  const handle: Rsyslog = {
    port,
    dir,
    lines() {
      if (!existsSync(out)) return [];
      return readFileSync(out, 'utf8')
        .split('\n')
        .filter(Boolean)
        .map((line) => {
          const [, pri, app, msgId, msg] = /^(\d+) (\S+) (\S+) (.*)$/.exec(line) ?? [];
          return { pri: Number(pri), app: app!, msgId: msgId!, json: JSON.parse(msg!.trim()) as Record<string, any> };
        });
    },
    async start() {
      child = spawn(RSYSLOGD, ['-n', '-f', conf, '-i', join(dir, 'rsyslogd.pid')], { stdio: ['ignore', 'pipe', 'pipe'] });
      child.stdout!.on('data', (d: Buffer) => (output += d.toString()));
      child.stderr!.on('data', (d: Buffer) => (output += d.toString()));
      await waitForPort(port, `rsyslogd (${output})`, child, 10_000);
    },
    async stop() {
      await stopProcess(child);
      child = null;
    },
  };
  await handle.start();
  return handle;
}
