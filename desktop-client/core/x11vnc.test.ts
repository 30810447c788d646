// Stopping x11vnc must never leave it behind. Real x11vnc was seen here stuck
// in its own SIGTERM handler (a futex wait with SIGTERM blocked); a stand-in
// that ignores SIGTERM reproduces that on demand (the one fake in this file).
import { describe, expect, it } from 'vitest';
import { chmodSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startX11vnc } from './x11vnc.ts';

describe('startX11vnc', () => {
  it('escalates to SIGKILL when SIGTERM is ignored, and resolves once the process is gone', async () => {
    const stubborn = join(mkdtempSync(join(tmpdir(), 'helpdesk-x11vnc-')), 'x11vnc');
    writeFileSync(stubborn, "#!/bin/sh\ntrap '' TERM\nwhile :; do sleep 1; done\n");
    chmodSync(stubborn, 0o755);
    const proc = await startX11vnc({ binary: stubborn, display: ':0', port: 1, viewOnly: false });
    await new Promise((r) => setTimeout(r, 200));
    const started = Date.now();
    await proc.stop(300);
    expect(Date.now() - started).toBeGreaterThanOrEqual(250);
    expect(() => process.kill(proc.pid, 0)).toThrow();
    expect(await proc.exited).toBeNull();
  });

  it('names a missing binary', async () => {
    await expect(startX11vnc({ binary: '/nonexistent/x11vnc', display: ':0', port: 1, viewOnly: false })).rejects.toMatchObject({ code: 'X11VNC_MISSING' });
  });
});
