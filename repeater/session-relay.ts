// Relays a paired session's messages both ways, unchanged, with backpressure:
// when the sink's outgoing buffer passes the high-water mark, the source is
// paused (its socket is no longer read, so TCP pushes back on the sender) until
// the sink has flushed below half of it.
import type { Leg } from './leg.ts';

export class SessionRelay {
  bytesDesktopToViewer = 0;
  bytesViewerToDesktop = 0;
  readonly startedAt = new Date();

  constructor(
    readonly desktop: Leg,
    readonly viewer: Leg,
    private readonly highWaterMarkBytes: number,
  ) {}

  /** Wires both directions and resumes both legs; bytes read while waiting flow first. */
  start(): void {
    this.#pipe(this.desktop, this.viewer, (n) => (this.bytesDesktopToViewer += n));
    this.#pipe(this.viewer, this.desktop, (n) => (this.bytesViewerToDesktop += n));
    this.desktop.ws.resume();
    this.viewer.ws.resume();
  }

  #pipe(source: Leg, sink: Leg, count: (bytes: number) => void): void {
    const highWater = this.highWaterMarkBytes;
    const lowWater = highWater >>> 1;
    const sinkWs = sink.ws;
    const sourceWs = source.ws;
    // One callback per direction (not per message): runs when a send has been
    // handed to the kernel, which is when the sink's buffer shrinks.
    const sinkOnSent = (): void => {
      if (source.heldForBackpressure && sinkWs.bufferedAmount <= lowWater) {
        source.heldForBackpressure = false;
        source.alive = true;
        if (source.state === 'paired') sourceWs.resume();
      }
    };
    sourceWs.on('message', (data: Buffer, isBinary: boolean) => {
      if (sinkWs.readyState !== sinkWs.OPEN) return;
      count(data.length);
      sinkWs.send(data, { binary: isBinary }, sinkOnSent);
      if (!source.heldForBackpressure && sinkWs.bufferedAmount > highWater) {
        source.heldForBackpressure = true;
        sourceWs.pause();
      }
    });
  }
}
