// Audit lines to a syslog server (AUDIT_SYSLOG_URL): RFC 5424 messages whose
// MSG is the line's JSON, over TCP with octet-counting framing (RFC 6587 3.4.1)
// or over UDP, one datagram each (RFC 5426). A syslog that is down or slow
// never holds a request: lines wait in a bounded queue in memory while the
// connection is made again (backoff 0.5 s doubling to 30 s); past the bound
// the newest are dropped, counted and logged (the database keeps every row).
// Lines handed to a connection that then breaks may be lost: TCP syslog has
// no acknowledgement.
import { createConnection, type Socket } from 'node:net';
import { createSocket, type Socket as UdpSocket } from 'node:dgram';
import { hostname } from 'node:os';
import type { Logger } from '../../../lib/logger.ts';
import type { AuditLine } from './audit-line.ts';
import { DropReport, type LineSink } from './line-sink.ts';

const FACILITY_LOG_AUDIT = 13;
const SEVERITY = { success: 5, failure: 4 } as const; // notice, warning
const BACKOFF_FIRST_MS = 500;
const BACKOFF_MAX_MS = 30_000;
const CONNECT_TIMEOUT_MS = 5_000;
const UDP_IN_FLIGHT = 64;
const HOST = (hostname().replace(/[^\x21-\x7e]/g, '') || '-').slice(0, 255);

/** One RFC 5424 message: PRI, version 1, time, host, app, process id, MSGID (the action), no structured data, the JSON. */
export function syslogMessage(line: AuditLine): Buffer {
  const pri = FACILITY_LOG_AUDIT * 8 + SEVERITY[line.result];
  const msgId = line.action.replace(/[^\x21-\x7e]/g, '_').slice(0, 32) || '-';
  return Buffer.from(`<${pri}>1 ${line.time} ${HOST} helpdesk ${process.pid} ${msgId} - ${JSON.stringify(line)}`);
}

export class SyslogSink implements LineSink {
  readonly name = 'syslog';
  sent = 0;
  readonly #url: URL;
  readonly #queueMax: number;
  readonly #log: Logger;
  readonly #drops: DropReport;
  readonly #queue: Buffer[] = [];
  #tcp: Socket | null = null;
  #udp: UdpSocket | null = null;
  #connected = false;
  #udpInFlight = 0;
  #backoffMs = BACKOFF_FIRST_MS;
  #retry: NodeJS.Timeout | null = null;
  #closed = false;

  constructor(url: string, queueMax: number, logger: Logger) {
    this.#url = new URL(url);
    this.#queueMax = queueMax;
    this.#log = logger.child({ component: 'audit-syslog', target: url });
    this.#drops = new DropReport(this.#log, 'syslog');
  }

  get dropped(): number {
    return this.#drops.count;
  }

  get queued(): number {
    return this.#queue.length;
  }

  offer(line: AuditLine): void {
    if (this.#closed) return;
    if (this.#queue.length >= this.#queueMax) return this.#drops.add(1);
    this.#queue.push(syslogMessage(line));
    this.#pump();
  }

  #pump(): void {
    if (this.#url.protocol === 'udp:') return this.#pumpUdp();
    if (!this.#tcp && !this.#retry) return this.#connectTcp();
    const socket = this.#tcp;
    if (!socket || !this.#connected) return;
    while (this.#queue.length && !socket.writableNeedDrain) {
      const msg = this.#queue.shift()!;
      socket.write(Buffer.concat([Buffer.from(`${msg.length} `), msg]), (err) => {
        if (!err) this.sent += 1;
      });
    }
  }

  #connectTcp(): void {
    const port = Number(this.#url.port || 514);
    const socket = createConnection({ host: this.#url.hostname.replace(/^\[|\]$/g, ''), port });
    this.#tcp = socket;
    socket.setTimeout(CONNECT_TIMEOUT_MS, () => socket.destroy(new Error('no answer in time')));
    socket.setNoDelay(true);
    socket.on('connect', () => {
      socket.setTimeout(0);
      this.#connected = true;
      this.#backoffMs = BACKOFF_FIRST_MS;
      this.#log.info({}, 'audit lines go to syslog');
      this.#pump();
    });
    socket.on('drain', () => this.#pump());
    socket.on('data', () => undefined); // syslog servers send nothing; read so nothing piles up
    socket.on('error', (err) => this.#log.warn({ err: err.message, queued: this.#queue.length }, 'syslog connection failed; audit lines wait'));
    socket.on('close', () => {
      this.#tcp = null;
      this.#connected = false;
      if (this.#closed) return;
      this.#retry = setTimeout(() => {
        this.#retry = null;
        this.#pump();
      }, this.#backoffMs);
      this.#retry.unref();
      this.#backoffMs = Math.min(BACKOFF_MAX_MS, this.#backoffMs * 2);
    });
  }

  #pumpUdp(): void {
    if (!this.#udp) {
      const udp = createSocket(this.#url.hostname.includes(':') ? 'udp6' : 'udp4');
      udp.on('error', (err) => this.#log.warn({ err: err.message }, 'syslog datagram failed'));
      udp.unref();
      this.#udp = udp;
    }
    const udp = this.#udp;
    const port = Number(this.#url.port || 514);
    while (this.#queue.length && this.#udpInFlight < UDP_IN_FLIGHT) {
      const msg = this.#queue.shift()!;
      this.#udpInFlight += 1;
      udp.send(msg, port, this.#url.hostname.replace(/^\[|\]$/g, ''), (err) => {
        this.#udpInFlight -= 1;
        if (err) this.#drops.add(1);
        else this.sent += 1;
        this.#pump();
      });
    }
  }

  /** Sends what is queued for up to waitMs, then closes. */
  async close(waitMs = 1_000): Promise<void> {
    const until = Date.now() + waitMs;
    while ((this.#queue.length || this.#udpInFlight) && this.#connectedOrUdp() && Date.now() < until) await new Promise((r) => setTimeout(r, 20));
    this.#closed = true;
    if (this.#retry) clearTimeout(this.#retry);
    this.#tcp?.end();
    this.#tcp?.destroySoon();
    this.#udp?.close();
    this.#drops.flush();
  }

  #connectedOrUdp(): boolean {
    return this.#connected || this.#udp !== null;
  }
}
