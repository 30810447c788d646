// Every audit row this server commits, as one JSON line to the SIEM: syslog
// (AUDIT_SYSLOG_URL) and/or a file (AUDIT_LOG_FILE). Rows are heard after
// their commit (after-commit.ts), in commit order, named with their ticket's
// user and computer (audit-line.ts), and offered to each sink, which never
// makes anyone wait (bounded queues; what overflows is counted and logged).
// With several servers, each ships the rows it wrote: every row once.
// Listeners (the metrics) hear each event with its ticket's facts too.
import type { Knex } from 'knex';
import type { Logger } from '../../../lib/logger.ts';
import { onAuditCommitted, type CommittedAudit } from '../after-commit.ts';
import { auditLine, createFactsReader, type TicketFacts } from './audit-line.ts';
import { FileSink } from './file-sink.ts';
import type { LineSink } from './line-sink.ts';
import { SyslogSink } from './syslog-sink.ts';

export interface AuditShippingOptions {
  /** tcp://host:port or udp://host:port (null: no syslog). */
  syslogUrl: string | null;
  /** A file to append the lines to (null: none). */
  file: string | null;
  /** Lines each sink (and the reading of facts before them) holds at most. */
  queueMax: number;
}

export type AuditHeard = (event: CommittedAudit, ticket: TicketFacts | null) => void;

export type AuditShipping = ReturnType<typeof startAuditShipping>;

export function startAuditShipping({ db, logger, options }: { db: Knex; logger: Logger; options: AuditShippingOptions }) {
  const log = logger.child({ component: 'audit-shipping' });
  const sinks: LineSink[] = [];
  if (options.syslogUrl) sinks.push(new SyslogSink(options.syslogUrl, options.queueMax, logger));
  if (options.file) sinks.push(new FileSink(options.file, options.queueMax, logger));
  const facts = createFactsReader(db);
  const listeners: AuditHeard[] = [];
  const pending: CommittedAudit[] = [];
  /** Events dropped before a line was made (the facts' queue was full): each sink counts them as its own drops. */
  let droppedEarly = 0;
  let pumping: Promise<void> | null = null;
  /** host:port, once the server listens: rows committed before wait for it (the first start's, a few). */
  let server: string | null = null;

  const pump = async (): Promise<void> => {
    while (pending.length) {
      const e = pending.shift()!;
      let ticket: TicketFacts | null = null;
      let technician: string | null = null;
      // Only what a line (or the queue-wait metric) names is read.
      if (sinks.length || e.action === 'ticket.accept') {
        try {
          ticket = await facts.ticket(e.ticketId);
          if (sinks.length) technician = await facts.technician(e.technicianId, Date.now());
        } catch (err) {
          log.warn({ err: (err as Error).message, auditId: e.id }, 'the facts of an audit line could not be read; sent without them');
        }
      }
      for (const listener of listeners) listener(e, ticket);
      if (!sinks.length) continue;
      const line = auditLine(e, { ticket, technician }, server!);
      for (const sink of sinks) sink.offer(line);
    }
  };

  const unsubscribe = onAuditCommitted(db, (e) => {
    if (pending.length >= options.queueMax) {
      droppedEarly += 1;
      log.error({ auditId: e.id, action: e.action }, 'audit line dropped: too many wait for their facts (the database has the row)');
      return;
    }
    pending.push(e);
    kick();
  });

  function kick(): void {
    if (server === null) return;
    pumping ??= pump().finally(() => {
      pumping = null;
    });
  }

  return {
    /** The server's name in the lines (host:port), known once it listens: lines go from then on. */
    named(name: string): void {
      server = name;
      kick();
    },
    /** Hears each committed audit event, with its ticket's facts when read. */
    listen(listener: AuditHeard): void {
      listeners.push(listener);
    },
    /** Per sink: lines sent, dropped (counted from start), waiting now. */
    stats(): { sink: LineSink['name']; sent: number; dropped: number; queued: number }[] {
      return sinks.map((s) => ({ sink: s.name, sent: s.sent, dropped: s.dropped + droppedEarly, queued: s.queued }));
    },
    async close(): Promise<void> {
      unsubscribe();
      await Promise.race([pumping, new Promise((r) => setTimeout(r, 1_000).unref())]);
      await Promise.all(sinks.map((s) => s.close()));
    },
  };
}
