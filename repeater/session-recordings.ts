// The recordings a repeater has begun: started when a session pairs (if the
// server ordered one), finished after its end, and waited for at shutdown.
// One encoder thread serves them all (encoder-thread.ts); the key that seals
// them is loaded once, at start (lib/key-ring-file.ts).
import { randomUUID } from 'node:crypto';
import { loadKeyRing } from '../lib/key-ring-file.ts';
import type { KeyRing } from '../lib/sealed.ts';
import type { CloseCodeId } from '../protocol/close-codes.ts';
import type { RecordOrder } from '../protocol/repeater.ts';
import type { RepeaterLogger, RepeaterOptions, SessionRecordingResult } from './contract.ts';
import { EncoderThread } from './encoder-thread.ts';
import { RECORDING_FORMAT_VERSION } from './recording-format.ts';
import { Recorder, type RecorderOptions } from './recording-writer.ts';
import { ViewerStreamFilter } from './viewer-messages.ts';

type Options = Pick<RepeaterOptions, 'recordingsDir' | 'recordingMaxBufferBytes' | 'closeTimeoutMs' | 'recordKeystrokes' | 'recordingRequired' | 'recordingKey'>;

/** What a live recording needs from the relay: to pause it (a required recording behind) and to end it (one that cannot be written). */
export interface RecordingHooks {
  pressure(paused: boolean): void;
  broken(problem: string): void;
}

/** A session's recorder and the filter its viewer's bytes pass through. */
export class SessionRecording {
  readonly recorder: Recorder;
  readonly sessionId: string;
  readonly #filter: ViewerStreamFilter;
  readonly #keepKeys: boolean;

  constructor(recorder: Recorder, keepKeys: boolean, sessionId: string) {
    this.recorder = recorder;
    this.sessionId = sessionId;
    this.#keepKeys = keepKeys;
    this.#filter = new ViewerStreamFilter({ keepKeys });
  }

  get recordingId(): string {
    return this.recorder.recordingId;
  }

  get file(): string {
    return this.recorder.file;
  }

  /** One relayed piece; the viewer's pass the keystroke filter first. */
  record(direction: 0 | 1, piece: Buffer): void {
    if (direction === 0) {
      this.#filter.desktopPiece(piece); // RFB 3.3: the desktop's choice of security type says what the viewer sends next
      return this.recorder.record(0, piece);
    }
    for (const kept of this.#filter.push(piece)) if (kept.length > 0) this.recorder.record(1, kept);
  }

  notes(): void {
    this.recorder.viewerNotes = { keystrokes: this.#keepKeys, keysLeftOut: this.#filter.keysLeftOut, viewerStreamStopped: this.#filter.stopped };
  }
}

export class SessionRecordings {
  /** Recordings still being written. */
  readonly #finishing = new Set<Promise<unknown>>();
  readonly #encoder: EncoderThread;
  readonly #ring: KeyRing | null;

  private readonly options: Options;
  private readonly log: RepeaterLogger;
  private readonly closed: (result: SessionRecordingResult) => void;
  private readonly openSink?: RecorderOptions['openSink'];

  constructor(options: Options, log: RepeaterLogger, closed: (result: SessionRecordingResult) => void, openSink?: RecorderOptions['openSink']) {
    this.options = options;
    this.log = log;
    this.closed = closed;
    this.openSink = openSink;
    this.#ring = options.recordingKey ? this.#loadRing(options.recordingKey) : null;
    this.#encoder = new EncoderThread(this.#ring ? { keyId: this.#ring.current.id, key: new Uint8Array(this.#ring.current.key) } : null);
  }

  #loadRing(key: NonNullable<Options['recordingKey']>): KeyRing {
    const loaded = loadKeyRing({ spec: key.spec, setting: 'RECORDING_KEY', file: key.file, fileSetting: 'RECORDING_KEY_FILE', protects: 'the session recordings' });
    if (loaded.created) this.log.warn({ file: loaded.source }, 'RECORDING_KEY_FILE did not exist: created it with a new key. Back it up; without it the recordings sealed with it cannot be played');
    return loaded.ring;
  }

  start(ticketId: string, sessionId: string, startedAt: Date, order: RecordOrder, hooks: RecordingHooks): SessionRecording {
    const recordingId = randomUUID();
    const recorder = new Recorder(
      recordingId,
      {
        format: 'helpdesk-session-recording',
        version: RECORDING_FORMAT_VERSION,
        recordingId,
        ticketId,
        remoteSession: sessionId,
        startedAt: startedAt.getTime(),
        meta: order.meta,
        keystrokes: this.options.recordKeystrokes,
        encryption: this.#ring ? { alg: 'aes-256-gcm', keyId: this.#ring.current.id } : null,
      },
      {
        dir: this.options.recordingsDir,
        maxBufferBytes: this.options.recordingMaxBufferBytes,
        finishTimeoutMs: this.options.closeTimeoutMs,
        required: this.options.recordingRequired,
        encoder: this.#encoder,
        openSink: this.openSink,
        pressure: (paused) => hooks.pressure(paused),
        broken: (problem) => {
          this.log.warn({ ticketId, recordingId, problem }, 'recording cannot go on');
          hooks.broken(problem);
        },
      },
    );
    return new SessionRecording(recorder, this.options.recordKeystrokes, sessionId);
  }

  /** Closes the file with its trailer and index; `closed` hears the result (complete, dropped part-way or failed). */
  finish(recording: SessionRecording, endedAt: Date, reason: CloseCodeId): void {
    recording.notes();
    const recorder = recording.recorder;
    const done = recorder.finish({ endedAt: endedAt.getTime(), reason }).then(
      (result) => {
        if (result.state !== 'complete') this.log.warn({ ...result }, 'recording not complete');
        this.closed({ ...result, sessionId: recording.sessionId });
      },
      (err: unknown) => this.log.error({ err, recordingId: recorder.recordingId }, 'finishing a recording failed'),
    );
    this.#finishing.add(done);
    void done.finally(() => this.#finishing.delete(done));
  }

  /** Resolves once every recording begun has been finished; then the encoder thread stops. */
  async idle(): Promise<void> {
    while (this.#finishing.size > 0) await Promise.all([...this.#finishing]);
  }

  async close(): Promise<void> {
    await this.idle();
    await this.#encoder.close();
  }
}
