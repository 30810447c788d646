// The history as CSV: rows written as the client takes them. Each page of the
// search (read by cursor) is written only once the response has drained the
// one before, and reading stops when the client goes away, so a 100,000-row
// export holds one page in memory however slow the reader.
import type { Writable } from 'node:stream';
import type { TicketView } from '../protocol/events.ts';
import { utcText as timeText } from './page-helpers.ts';

/** The last line of an export a word search cut short (server/history/history-store.ts historyAll). */
export const STOPPED_LINE = 'Export stopped here: these words rarely appear together and the search read its share of the history; narrow it with dates to export older tickets.';

const HEADER = ['ticket', 'created', 'status', 'requester', 'username', 'computer', 'system', 'technician', 'accepted', 'ended', 'resolved', 'end_reason', 'problem', 'resolution'];

export function csvRow(r: TicketView): string {
  return csvLine([r.id, timeText(r.createdAt), r.status, r.requesterName, r.username, r.hostname, r.os, r.technician?.displayName ?? '', timeText(r.acceptedAt), timeText(r.endedAt), timeText(r.resolvedAt), r.endReason ?? '', r.description, r.resolution ?? '']);
}

/** Writes the header and every page's rows to `out` (a response, or any writable), waiting for 'drain' whenever it is full. */
export async function writeHistoryCsv(out: Writable, pages: AsyncGenerator<TicketView[], { stopped: boolean } | void>): Promise<void> {
  let gone = false;
  const onClose = () => {
    gone = true;
  };
  out.on('close', onClose);
  try {
    if (!out.write(`\uFEFF${csvLine(HEADER)}`)) await drained(out);
    for (;;) {
      const next = await pages.next();
      if (gone || out.destroyed) break;
      if (next.done) {
        // A search cut short says so in its last line, the record ending where it was stopped.
        if (next.value?.stopped) out.write(csvLine([STOPPED_LINE]));
        break;
      }
      if (!out.write(next.value.map(csvRow).join(''))) await drained(out);
    }
  } finally {
    out.off('close', onClose);
    await pages.return(undefined);
  }
  if (!gone && !out.destroyed) out.end();
}

/** Resolves on 'drain', or on 'close' (the client left: the loop then stops). */
function drained(out: NodeJS.EventEmitter): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      out.off('drain', done);
      out.off('close', done);
      resolve();
    };
    out.on('drain', done);
    out.on('close', done);
  });
}

/**
 * One CSV row (RFC 4180), safe to open in a spreadsheet (OWASP "CSV
 * Injection"): a cell that starts, after any spaces, with = + - @, a tab or a
 * carriage return, or their full-width forms (＝ ＋ － ＠, which some
 * spreadsheets read as formulas too), gets a leading apostrophe; a cell with a
 * separator any spreadsheet may split on (, ; tab), a quote or a line break is
 * quoted.
 */
export function csvLine(cells: (string | number)[]): string {
  return `${cells
    .map((c) => {
      let s = String(c);
      if (/^\s*[=+\-@\t\r\uff1d\uff0b\uff0d\uff20]/.test(s)) s = `'${s}`;
      return /[",;\t\r\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
    })
    .join(',')}\r\n`;
}
