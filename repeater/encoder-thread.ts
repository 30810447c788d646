// The recorders' side of the encoder thread (recording-encoder.ts): one
// worker per key, started with the first recording and kept referenced only
// while recordings are open, so it never holds a process open by itself.
import { Worker } from 'node:worker_threads';
import { ENCODER_ROLE, type EncoderData, type EncoderReply, type EncoderRequest } from './recording-encoder.ts';

export interface EncoderClient {
  reply(reply: EncoderReply): void;
  /** The thread died: nothing more will come. */
  lost(message: string): void;
}

export class EncoderThread {
  readonly #clients = new Map<string, EncoderClient>();
  #worker: Worker | null = null;
  private readonly data: EncoderData;

  constructor(seal: EncoderData['seal']) {
    this.data = { role: ENCODER_ROLE, seal };
  }

  attach(id: string, client: EncoderClient): void {
    this.#clients.set(id, client);
    this.#ensure().ref();
  }

  detach(id: string): void {
    if (!this.#clients.delete(id)) return;
    this.send({ type: 'forget', id });
    if (this.#clients.size === 0) this.#worker?.unref();
  }

  send(req: EncoderRequest, transfer: ArrayBuffer[] = []): void {
    this.#ensure().postMessage(req, transfer);
  }

  #ensure(): Worker {
    if (this.#worker) return this.#worker;
    const worker = new Worker(new URL('./recording-encoder-entry.mjs', import.meta.url), { workerData: this.data });
    worker.on('message', (reply: EncoderReply) => this.#clients.get(reply.id)?.reply(reply));
    const lost = (message: string) => {
      if (this.#worker !== worker) return;
      this.#worker = null;
      const clients = [...this.#clients.values()];
      this.#clients.clear();
      for (const c of clients) c.lost(message);
    };
    worker.on('error', (err) => lost(`the recording encoder failed: ${err.name}: ${err.message}`));
    worker.on('exit', (code) => lost(`the recording encoder stopped (exit code ${code})`));
    this.#worker = worker;
    return worker;
  }

  /** Stops the thread (tests, shutdown after every recording finished). */
  async close(): Promise<void> {
    const w = this.#worker;
    this.#worker = null;
    if (w) await w.terminate();
  }
}
