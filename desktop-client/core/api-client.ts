// The desktop API contract, client side: one ticket, its bearer secret, and
// its live SSE stream (re-opened with backoff when it drops).
import { language } from './messages.ts';
import { desktopApiPath, desktopStreamEvents, type ChatMessage, type DesktopStreamEvent, type DesktopStreamEvents, type HelpRequestView, type TicketFile } from '../../protocol/desktop-api.ts';
import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { basename } from 'node:path';
import { Readable } from 'node:stream';
import { readSseEvents } from '../../lib/sse-reader.ts';
import { DesktopError } from './errors.ts';
import { topicsPath, type TopicsResponse } from '../../protocol/teams.ts';
import type { Transport } from './transport.ts';

export type { ChatMessage, HelpRequestView, TicketFile };

export interface RequesterFields {
  requesterName: string;
  username: string;
  hostname: string;
  os: string;
  description: string;
  /** What it is about: one of the server's topics (issue 29). */
  topicId?: number;
}

/** What to do with each event of the ticket's stream (protocol/desktop-api.ts). */
export type TicketStreamHandlers = Pick<{ [K in DesktopStreamEvent]: (data: DesktopStreamEvents[K]) => void }, 'ticket' | 'session' | 'connection'> &
  Partial<{ [K in DesktopStreamEvent]: (data: DesktopStreamEvents[K]) => void }> & {
    /** The stream is open (again, after trouble). */
    open?(): void;
  };

export class DesktopApi {
  #id: number | null = null;
  #secret: string | null = null;

  private readonly transport: Transport;
  private readonly serverUrl: string;
  private readonly clientKey: string | null;

  constructor(
    transport: Transport,
    serverUrl: string,
    clientKey: string | null,
  ) {
    this.transport = transport;
    this.serverUrl = serverUrl;
    this.clientKey = clientKey;
  }

  get ticketId(): number | null {
    return this.#id;
  }

  async create(fields: RequesterFields): Promise<HelpRequestView> {
    const body = await this.#call<{ id: number; clientSecret: string; helpRequest: HelpRequestView }>('POST', desktopApiPath, fields, {
      ...(this.clientKey ? { 'x-client-key': this.clientKey } : {}),
    });
    this.#id = body.id;
    this.#secret = body.clientSecret;
    return body.helpRequest;
  }

  approve = (viewOnly: boolean, screen: string | null = null, recordingNoticeShown = false) =>
    this.#call<HelpRequestView>('POST', this.#path('/approve'), { viewOnly, screen, recordingNoticeShown });
  decline = (dontAskAgain = false) => this.#call<HelpRequestView>('POST', this.#path('/decline'), { dontAskAgain });
  cancel = () => this.#call<HelpRequestView>('POST', this.#path('/cancel'), {});
  end = () => this.#call<HelpRequestView>('POST', this.#path('/end'), {});
  survey = (rating: number, comment: string | null) => this.#call<unknown>('POST', this.#path('/survey'), { rating, comment });
  /** The topics the user may choose from, in their language (GET /api/v1/topics, issue 29). */
  topics = async () => (await this.#call<TopicsResponse>('GET', topicsPath, undefined, this.clientKey ? { 'x-client-key': this.clientKey } : {})).topics;
  messages = async () => (await this.#call<{ messages: ChatMessage[] }>('GET', this.#path('/messages'))).messages;
  say = async (text: string) => (await this.#call<{ message: ChatMessage }>('POST', this.#path('/messages'), { text })).message;
  files = async () => (await this.#call<{ files: TicketFile[] }>('GET', this.#path('/files'))).files;
  acceptFile = async (id: string) => (await this.#call<{ file: TicketFile }>('POST', this.#path(`/files/${encodeURIComponent(id)}/accept`), {})).file;
  refuseFile = async (id: string) => (await this.#call<{ file: TicketFile }>('POST', this.#path(`/files/${encodeURIComponent(id)}/refuse`), {})).file;

  /** Sends a file to the technicians, streamed from disk. */
  async sendFile(path: string): Promise<TicketFile> {
    const { size } = await stat(path);
    const res = await this.#raw(`/files?name=${encodeURIComponent(basename(path))}`, {
      method: 'POST',
      headers: { 'content-type': 'application/octet-stream', 'content-length': String(size) },
      body: Readable.toWeb(createReadStream(path)) as ReadableStream<Uint8Array>,
      duplex: 'half',
    });
    return ((await res.json()) as { file: TicketFile }).file;
  }

  /** A file offered to the user, once accepted: its bytes as a stream. */
  async downloadFile(id: string): Promise<ReadableStream<Uint8Array>> {
    const res = await this.#raw(`/files/${encodeURIComponent(id)}`, { method: 'GET' });
    if (!res.body) throw new DesktopError('SERVER_REFUSED', 'The server sent no file');
    return res.body;
  }

  async #raw(suffix: string, init: NonNullable<Parameters<Transport['fetch']>[1]>): Promise<Response> {
    let res: Response;
    try {
      res = await this.transport.fetch(`${this.serverUrl}${this.#path(suffix)}`, { ...init, headers: { ...init.headers, 'accept-language': language, authorization: `Bearer ${this.#secret}` } });
    } catch (err) {
      throw new DesktopError('SERVER_UNREACHABLE', `Cannot reach the helpdesk server at ${this.serverUrl} (${(err as Error).message})`);
    }
    if (!res.ok) throw await refusal(res);
    return res;
  }

  desktopToken = () => this.#call<{ url: string; expiresAt: number }>('POST', this.#path('/desktop-token'), {});

  // The user's word on each participant (issue 26), and each participant channel's own desktop token.
  participantDesktopToken = (technicianId: number) => this.#call<{ url: string; expiresAt: number }>('POST', this.#participant(technicianId, '/desktop-token'), {});
  approveParticipant = (technicianId: number) => this.#call<unknown>('POST', this.#participant(technicianId, '/approve'), {});
  declineParticipant = (technicianId: number) => this.#call<unknown>('POST', this.#participant(technicianId, '/decline'), {});
  stopParticipant = (technicianId: number) => this.#call<unknown>('POST', this.#participant(technicianId, '/stop'), {});
  stopAllParticipants = () => this.#call<unknown>('POST', this.#path('/participants/stop-all'), {});

  #participant(technicianId: number, suffix: string): string {
    return this.#path(`/participants/${encodeURIComponent(String(technicianId))}${suffix}`);
  }

  /** Follows the ticket's SSE stream until the returned function is called; a reconnection resumes after the last event it had (Last-Event-ID). */
  follow(handlers: TicketStreamHandlers, onTrouble: (error: DesktopError) => void): () => void {
    const controller = new AbortController();
    let delayMs = 500;
    let lastEventId: string | null = null;
    const loop = async (): Promise<void> => {
      while (!controller.signal.aborted) {
        try {
          const res = await this.transport.fetch(`${this.serverUrl}${this.#path('/events')}`, {
            headers: { authorization: `Bearer ${this.#secret}`, accept: 'text/event-stream', ...(lastEventId ? { 'last-event-id': lastEventId } : {}) },
            signal: controller.signal,
          });
          if (!res.ok || !res.body) throw await refusal(res);
          delayMs = 500;
          handlers.open?.();
          await readSseEvents(res.body as unknown as AsyncIterable<Uint8Array>, (event, data, id) => {
            if (id !== null) lastEventId = id;
            if (!(desktopStreamEvents as readonly string[]).includes(event)) return; // a newer server's event: not ours to read
            const handler = handlers[event as DesktopStreamEvent] as ((data: unknown) => void) | undefined;
            handler?.(data);
          });
        } catch (err) {
          if (controller.signal.aborted) return;
          onTrouble(err instanceof DesktopError ? err : new DesktopError('SERVER_UNREACHABLE', `Lost the connection to the server: ${(err as Error).message}`));
        }
        if (controller.signal.aborted) return;
        await new Promise((r) => setTimeout(r, delayMs));
        delayMs = Math.min(delayMs * 2, 4_000);
      }
    };
    void loop();
    return () => controller.abort();
  }

  #path(suffix: string): string {
    if (this.#id === null) throw new DesktopError('SERVER_REFUSED', 'No help request yet');
    return `${desktopApiPath}/${this.#id}${suffix}`;
  }

  async #call<T>(method: string, path: string, body?: unknown, extraHeaders: Record<string, string> = {}): Promise<T> {
    let res: Response;
    try {
      res = await this.transport.fetch(`${this.serverUrl}${path}`, {
        method,
        headers: {
          accept: 'application/json',
          // The server words its errors in the user's language.
          'accept-language': language,
          ...(body !== undefined ? { 'content-type': 'application/json' } : {}),
          ...(this.#secret && path !== desktopApiPath ? { authorization: `Bearer ${this.#secret}` } : {}),
          ...extraHeaders,
        },
        ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
      });
    } catch (err) {
      const cause = (err as { cause?: { code?: string; message?: string } }).cause;
      throw new DesktopError('SERVER_UNREACHABLE', `Cannot reach the helpdesk server at ${this.serverUrl} (${cause?.code ?? cause?.message ?? (err as Error).message})`);
    }
    if (!res.ok) throw await refusal(res);
    return (await res.json()) as T;
  }
}

async function refusal(res: Response): Promise<DesktopError> {
  const data = (await res.json().catch((_notJson: unknown) => ({}))) as { error?: { code?: string; message?: string } };
  return new DesktopError('SERVER_REFUSED', data.error?.message ?? `The server answered HTTP ${res.status}`, { status: res.status, code: data.error?.code });
}
