// The files of one help request, both ways: offered to the user (accepted into
// a folder with its SHA-256 checked, never overwriting, or refused) and sent by
// the user. Each file is reported in its latest state, once per state.
import { ignoreCodes } from '../../lib/expected.ts';
import type { TicketFile } from '../../protocol/events.ts';
import { createHash } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { mkdir, open, rename, unlink } from 'node:fs/promises';
import { extname, join } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { DesktopApi } from './api-client.ts';
import { DesktopError } from './errors.ts';

export class HelpFiles {
  readonly #files = new Map<string, TicketFile>();
  private readonly api: DesktopApi;
  private readonly emit: (file: TicketFile) => void;

  constructor(api: DesktopApi, emit: (file: TicketFile) => void) {
    this.api = api;
    this.emit = emit;
  }

  get files(): TicketFile[] {
    return [...this.#files.values()];
  }

  /**
   * Accepts a file offered to the user and saves it in `dir` under its own
   * name, never overwriting (name (1).ext, …); its SHA-256 is checked against
   * the server's. Resolves with where it was saved.
   */
  async accept(id: string, dir: string): Promise<string> {
    const offered = this.#files.get(id);
    if (!offered || offered.direction !== 'to_user') throw new DesktopError('SERVER_REFUSED', `No file ${id} was offered to you`);
    const file = await this.api.acceptFile(id);
    this.set(file);
    await mkdir(dir, { recursive: true });
    const path = await freePath(dir, file.name);
    const partial = `${path}.part`;
    const hash = createHash('sha256');
    const body = Readable.fromWeb((await this.api.downloadFile(id)) as import('node:stream/web').ReadableStream<Uint8Array>);
    body.on('data', (chunk: Buffer) => hash.update(chunk));
    try {
      await pipeline(body, createWriteStream(partial, { flags: 'wx' }));
      const digest = hash.digest('hex');
      if (digest !== file.sha256) throw new DesktopError('SERVER_REFUSED', `The file ${file.name} arrived damaged (SHA-256 ${digest}, expected ${file.sha256}); it was not saved`);
      await rename(partial, path);
    } catch (err) {
      await unlink(partial).catch(ignoreCodes('ENOENT')); // nothing written yet: nothing to remove
      throw err;
    }
    return path;
  }

  async refuse(id: string): Promise<void> {
    this.set(await this.api.refuseFile(id));
  }

  /** Sends a file from this computer to the technicians. */
  async send(path: string): Promise<TicketFile> {
    const file = await this.api.sendFile(path);
    this.set(file);
    return file;
  }

  /** Files offered while the stream was away (errors: as HelpChat.catchUp). */
  catchUp(): void {
    this.api.files().then(
      (list) => list.forEach((f) => this.set(f)),
      () => undefined,
    );
  }

  set(f: TicketFile): void {
    const known = this.#files.get(f.id);
    if (known && known.state === f.state) return;
    this.#files.set(f.id, f);
    this.emit(f);
  }
}

/** A path in `dir` for `name` that nothing occupies yet: name.ext, name (1).ext, … */
async function freePath(dir: string, name: string): Promise<string> {
  const ext = extname(name);
  const stem = name.slice(0, name.length - ext.length);
  for (let n = 0; n < 1000; n++) {
    const candidate = join(dir, n === 0 ? name : `${stem} (${n})${ext}`);
    try {
      const handle = await open(candidate, 'wx');
      await handle.close();
      await unlink(candidate);
      return candidate;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    }
  }
  throw new DesktopError('SERVER_REFUSED', `There are already 1000 files named like ${name} in ${dir}`);
}
