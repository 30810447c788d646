// Where audit lines go (syslog, a file), and how a sink says what it dropped:
// counted for the metrics (helpdesk_audit_lines_dropped_total) and logged, at
// most once every 10 s with the number since the last word.
import type { Logger } from '../../../lib/logger.ts';
import type { AuditLine } from './audit-line.ts';

export interface LineSink {
  readonly name: 'syslog' | 'file';
  /** Takes a line without waiting; one that does not fit its queue is dropped and counted. */
  offer(line: AuditLine): void;
  readonly sent: number;
  readonly dropped: number;
  readonly queued: number;
  close(waitMs?: number): Promise<void>;
}

const REPORT_EVERY_MS = 10_000;

export class DropReport {
  count = 0;
  #unreported = 0;
  #timer: NodeJS.Timeout | null = null;
  readonly #log: Logger;
  readonly #sink: string;

  constructor(log: Logger, sink: string) {
    this.#log = log;
    this.#sink = sink;
  }

  add(n: number): void {
    this.count += n;
    this.#unreported += n;
    if (this.#timer) return;
    this.flush();
    this.#timer = setTimeout(() => {
      this.#timer = null;
      if (this.#unreported) this.flush();
    }, REPORT_EVERY_MS);
    this.#timer.unref();
  }

  flush(): void {
    if (!this.#unreported) return;
    this.#log.error({ sink: this.#sink, dropped: this.#unreported, droppedInAll: this.count }, 'audit lines dropped: the queue is full (the database still has every audit row)');
    this.#unreported = 0;
  }
}
