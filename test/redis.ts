// A private redis-server for tests (loopback, a free port, no persistence),
// which can be stopped and started again on the same port.
import { spawn, type ChildProcess } from 'node:child_process';
import { freePort, stopProcess, waitForPort } from './processes.ts';

export interface RedisServer {
  url: string;
  stop(): Promise<void>;
  start(): Promise<void>;
}

export async function startRedis(): Promise<RedisServer> {
  const port = await freePort();
  let child: ChildProcess | null = null;
  const start = async (): Promise<void> => {
    child = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--daemonize', 'no'], { stdio: 'ignore' });
    await waitForPort(port, 'redis-server', child, 15_000);
  };
  const stop = async (): Promise<void> => {
    const running = child;
    child = null;
    await stopProcess(running);
  };
  await start();
  return { url: `redis://127.0.0.1:${port}`, stop, start };
}
