// The sandboxed preload repeats the IPC channel names (it can require only
// Electron's modules): they must stay the ones protocol/ipc.ts declares.
import { describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ipcChannels } from '../protocol/ipc.ts';

describe('preload IPC channels', () => {
  it('match protocol/ipc.ts exactly', () => {
    const source = readFileSync(join(import.meta.dirname, 'preload', 'preload.cts'), 'utf8');
    const block = /const channels = \{([^}]*)\} as const;/.exec(source)?.[1] ?? '';
    const entries = Object.fromEntries([...block.matchAll(/(\w+): '([^']+)'/g)].map((m) => [m[1], m[2]]));
    expect(entries).toEqual({ ...ipcChannels });
  });
});
