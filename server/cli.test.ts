// The technicians CLI, run as a real process on a real SQLite file.
import { describe, expect, it } from 'vitest';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { freshDatabase } from '../test/databases.ts';

const run = promisify(execFile);

describe('technicians CLI', () => {
  it('creates, lists, disables and resets technicians, and explains mistakes', async () => {
    const database = await freshDatabase('sqlite');
    const env = { ...process.env, DATABASE_URL: `sqlite:${database.client === 'sqlite' ? database.filename : ''}`, ARGON2_MEMORY_KIB: '8192' };
    const cli = (...args: string[]) => run('npx', ['tsx', 'server/cli.ts', ...args], { env });
    const created = await cli('create', 'ana', '--name', 'Ana Ruiz');
    expect(created.stdout).toMatch(/Created technician "ana"\. Password \(shown once\): \S{20}/);
    await cli('disable', 'ana');
    expect((await cli('list')).stdout).toMatch(/ana\s+technician\s+disabled Ana Ruiz/);
    const reset = await cli('reset-password', 'ana', '--password', 'a-long-new-password');
    expect(reset.stdout).toMatch(/Password of ana reset\.$/m);
    await expect(cli('disable', 'nobody')).rejects.toMatchObject({ stderr: expect.stringMatching(/No technician "nobody"/) });
    await expect(cli('create', 'x y', '--password', 'short')).rejects.toMatchObject({ stderr: expect.stringMatching(/username.*password|password.*username/s) });
    // Passwords everyone guesses first are refused here too, in words.
    await expect(cli('reset-password', 'ana', '--password', 'aaaaaaaaaaaa')).rejects.toMatchObject({ stderr: expect.stringMatching(/one character repeated/) });
    await expect(cli('create', 'bea', '--name', 'Bea', '--password', 'password1234')).rejects.toMatchObject({ stderr: expect.stringMatching(/too common/) });
  }, 60_000);
});
