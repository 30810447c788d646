// BackgroundWork: ordered per key, parallel across keys, failures logged, idle() waits for all.
import { describe, expect, it } from 'vitest';
import { pino } from 'pino';
import { BackgroundWork } from './background.ts';

const pause = (ms: number) => new Promise((r) => setTimeout(r, ms));

function recordingLogger() {
  const lines: { msg: string; key?: string }[] = [];
  const stream = { write: (line: string) => void lines.push(JSON.parse(line) as { msg: string; key?: string }) };
  return { logger: pino({ level: 'error' }, stream), lines };
}

describe('BackgroundWork', () => {
  it('runs one key\'s work in order even when the first piece is slower, and other keys meanwhile', async () => {
    const { logger } = recordingLogger();
    const work = new BackgroundWork(logger);
    const done: string[] = [];
    work.run('ticket:1', 'slow', async () => {
      await pause(60);
      done.push('1a');
    });
    work.run('ticket:1', 'fast', () => {
      done.push('1b');
      return Promise.resolve();
    });
    work.run('ticket:2', 'other ticket', async () => {
      await pause(5);
      done.push('2a');
    });
    await work.idle();
    expect(done).toEqual(['2a', '1a', '1b']);
    expect(work.pending).toBe(0);
  });

  it('a failure is logged by name and the key\'s next piece still runs', async () => {
    const { logger, lines } = recordingLogger();
    const work = new BackgroundWork(logger);
    const done: string[] = [];
    work.run('ticket:3', 'audit row', () => Promise.reject(new Error('database away')));
    work.run('ticket:3', 'next', () => {
      done.push('next');
      return Promise.resolve();
    });
    await work.idle();
    expect(done).toEqual(['next']);
    expect(lines).toEqual([expect.objectContaining({ msg: 'background work failed: audit row', key: 'ticket:3' })]);
  });

  it('idle() also waits for work queued by work in hand', async () => {
    const { logger } = recordingLogger();
    const work = new BackgroundWork(logger);
    const done: string[] = [];
    work.run('a', 'first', async () => {
      await pause(20);
      work.run('b', 'queued later', async () => {
        await pause(20);
        done.push('b');
      });
      done.push('a');
    });
    await work.idle();
    expect(done).toEqual(['a', 'b']);
  });
});
