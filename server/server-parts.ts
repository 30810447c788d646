// Small parts of server/server.ts: the session secret kept in the settings
// table, the answer to a misdirected upgrade, and noVNC's version.
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Knex } from 'knex';
import { randomToken } from '../lib/crypto.ts';

// noVNC's package.json is not exported: read it beside its entry point.
export const NOVNC_VERSION = (JSON.parse(readFileSync(join(dirname(fileURLToPath(import.meta.resolve('@novnc/novnc'))), '..', 'package.json'), 'utf8')) as { version: string }).version;

export async function storedSessionSecret(db: Knex): Promise<string> {
  const read = async () => ((await db('settings').where({ name: 'session_secret' }).first()) as { value: string } | undefined)?.value;
  const stored = await read();
  if (stored) return stored;
  // Several servers starting at once: the first one's secret wins, every one reads it back.
  await db('settings').insert({ name: 'session_secret', value: randomToken(48) }).onConflict('name').ignore();
  const secret = await read();
  if (!secret) throw new Error('the session secret could not be stored in the settings table');
  return secret;
}

/** With the repeater in its own process, an upgrade here is a misdirected client: say where to go. */
export function refuseUpgrade(repeaterUrl: string | null) {
  return (_req: unknown, socket: import('node:stream').Duplex): void => {
    socket.on('error', () => socket.destroy());
    const body = JSON.stringify({ error: { code: 'NOT_FOUND', message: `The repeater runs at ${repeaterUrl ?? 'another address'}, not on this server` } });
    socket.end(`HTTP/1.1 404 Not Found\r\nConnection: close\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`);
  };
}
