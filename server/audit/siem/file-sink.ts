// Audit lines appended to a file (AUDIT_LOG_FILE), one JSON object a line, for
// a log shipper to follow (rotate it with logrotate's copytruncate). Writes
// never wait: past the queue's bound (lines not yet on disk) new lines are
// dropped and counted; after a failed write the file is opened again at the
// next line.
import { createWriteStream, mkdirSync, type WriteStream } from 'node:fs';
import { dirname } from 'node:path';
import type { Logger } from '../../../lib/logger.ts';
import type { AuditLine } from './audit-line.ts';
import { DropReport, type LineSink } from './line-sink.ts';

export class FileSink implements LineSink {
  readonly name = 'file';
  sent = 0;
  #pending = 0;
  #stream: WriteStream | null = null;
  readonly #path: string;
  readonly #queueMax: number;
  readonly #log: Logger;
  readonly #drops: DropReport;

  constructor(path: string, queueMax: number, logger: Logger) {
    this.#path = path;
    this.#queueMax = queueMax;
    this.#log = logger.child({ component: 'audit-file', file: path });
    this.#drops = new DropReport(this.#log, 'file');
  }

  get dropped(): number {
    return this.#drops.count;
  }

  get queued(): number {
    return this.#pending;
  }

  offer(line: AuditLine): void {
    if (this.#pending >= this.#queueMax) return this.#drops.add(1);
    const stream = (this.#stream ??= this.#open());
    this.#pending += 1;
    stream.write(`${JSON.stringify(line)}\n`, (err) => {
      this.#pending -= 1;
      if (err) this.#drops.add(1);
      else this.sent += 1;
    });
  }

  #open(): WriteStream {
    mkdirSync(dirname(this.#path), { recursive: true });
    const stream = createWriteStream(this.#path, { flags: 'a', mode: 0o640 });
    stream.on('error', (err) => {
      this.#log.error({ err: err.message }, 'the audit log file could not be written; reopened at the next line');
      if (this.#stream === stream) this.#stream = null;
    });
    return stream;
  }

  async close(waitMs = 1_000): Promise<void> {
    const stream = this.#stream;
    this.#stream = null;
    if (stream) await Promise.race([new Promise<void>((resolve) => stream.end(() => resolve())), new Promise((r) => setTimeout(r, waitMs).unref())]);
    this.#drops.flush();
  }
}
