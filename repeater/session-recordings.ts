// The recordings a repeater has begun: started when a session pairs (if the
// server ordered one), finished after its end, and waited for at shutdown.
import { randomUUID } from 'node:crypto';
import type { CloseCodeId } from '../protocol/close-codes.ts';
import type { RecordOrder, RecordingResult } from '../protocol/repeater.ts';
import type { RepeaterLogger, RepeaterOptions } from './contract.ts';
import { RECORDING_FORMAT_VERSION, Recorder, type RecorderOptions } from './recording.ts';

export class SessionRecordings {
  /** Recordings still being written. */
  readonly #finishing = new Set<Promise<unknown>>();

  private readonly options: Pick<RepeaterOptions, 'recordingsDir' | 'recordingMaxBufferBytes' | 'closeTimeoutMs'>;
  private readonly log: RepeaterLogger;
  private readonly closed: (result: RecordingResult) => void;
  private readonly openSink?: RecorderOptions['openSink'];

  constructor(
    options: Pick<RepeaterOptions, 'recordingsDir' | 'recordingMaxBufferBytes' | 'closeTimeoutMs'>,
    log: RepeaterLogger,
    closed: (result: RecordingResult) => void,
    openSink?: RecorderOptions['openSink'],
  ) {
    this.options = options;
    this.log = log;
    this.closed = closed;
    this.openSink = openSink;
  }

  start(ticketId: string, sessionId: string, startedAt: Date, order: RecordOrder): Recorder {
    const recordingId = randomUUID();
    return new Recorder(
      recordingId,
      {
        format: 'helpdesk-session-recording',
        version: RECORDING_FORMAT_VERSION,
        recordingId,
        ticketId,
        remoteSession: sessionId,
        startedAt: startedAt.getTime(),
        meta: order.meta,
      },
      {
        dir: this.options.recordingsDir,
        maxBufferBytes: this.options.recordingMaxBufferBytes,
        finishTimeoutMs: this.options.closeTimeoutMs,
        openSink: this.openSink,
      },
    );
  }

  /** Closes the file with its trailer; `closed` hears the result (complete, dropped part-way or failed). */
  finish(recorder: Recorder, endedAt: Date, reason: CloseCodeId): void {
    const done = recorder.finish({ endedAt: endedAt.getTime(), reason }).then(
      (result) => {
        if (result.state !== 'complete') this.log.warn({ ...result }, 'recording not complete');
        this.closed(result);
      },
      (err: unknown) => this.log.error({ err, recordingId: recorder.recordingId }, 'finishing a recording failed'),
    );
    this.#finishing.add(done);
    void done.finally(() => this.#finishing.delete(done));
  }

  /** Resolves once every recording begun has been finished. */
  async idle(): Promise<void> {
    while (this.#finishing.size > 0) await Promise.all([...this.#finishing]);
  }
}
