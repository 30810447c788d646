// Feeding a recording to noVNC: its own RFB, given a channel that replays the
// recorded desktop→viewer bytes instead of a WebSocket. Blocks come in order
// as playback needs them, read ahead a little (player-read.js: in pieces of
// consecutive blocks, split by direction) and dropped once fed. Once RFB is
// connected a piece's desktop bytes are handed to it as one message, their
// own buffer (RFB's receive queue takes concatenated bytes and copies them in), so
// fast-forwarding a long recording is quick; RFB draws into a held display
// (player-display.js) that reaches the screen when the page gets a turn. The
// viewer→desktop records are followed for the technician's pointer
// (player-events.js).
import RFB from '/vendor/novnc/core/rfb.js';
import { ClientMessages } from './player-events.js';
import { batchDrawing } from './player-display.js';

/** Desktop bytes handed to RFB at once at most, when not a piece's own (a feed that ends inside one). */
const DELIVERY_BYTES = 256 * 1024;
/** Fast-feeding gives the page a turn this often (the seek bar stays responsive). */
const YIELD_AFTER_MS = 15;
/** Bytes RFB may hold unprocessed (it waits on image decoding) before feeding waits for it. */
const BACKLOG_BYTES = 4 * 1024 * 1024;

/** Opening on the first frame feeds at most this many steps (each to the next desktop record or FIRST_FRAME_STEP_MS on). */
const FIRST_FRAME_STEPS = 10_000;
const FIRST_FRAME_STEP_MS = 100;

/** A turn for the page: a task, not a clamped timer. */
const yieldToPage = () =>
  new Promise((resolve) => {
    const channel = new MessageChannel();
    channel.port1.onmessage = () => resolve();
    channel.port2.postMessage(0);
  });
const nextFrame = () => new Promise((resolve) => requestAnimationFrame(() => resolve()));

/** What RFB takes instead of a WebSocket (noVNC's "raw channel"). */
class ReplayChannel {
  constructor() {
    this.binaryType = 'arraybuffer';
    this.protocol = '';
    this.readyState = 'connecting';
    this.onopen = null;
    this.onmessage = null;
    this.onclose = null;
    this.onerror = null;
  }

  open() {
    this.readyState = 'open';
    this.onopen?.(new Event('open'));
  }

  deliver(buffer) {
    if (this.readyState === 'open') this.onmessage?.({ data: buffer });
  }

  // What the player's RFB sends is what the technician's viewer sent then: already recorded.
  send() {}

  // As a WebSocket's, the close event comes after close() returns: RFB sets a disconnect timer in between, which
  // the event clears (told at once, the timer would keep the old RFB and its receive queue for seconds).
  close() {
    if (this.readyState === 'closed' || this.readyState === 'closing') return;
    this.readyState = 'closing';
    setTimeout(() => {
      this.readyState = 'closed';
      this.onclose?.({ code: 1000, reason: '', wasClean: true });
    }, 0);
  }
}

export class Feeder {
  /** Every record at or before this time has been fed (-1: none yet). */
  position = -1;
  /** The technician's pointer as last recorded before `position`, or null. */
  pointer = null;
  /** The walker reached the end of the recording. */
  done = false;
  /** FramebufferUpdates that drew pixels, finished since the last restart. */
  frames = 0;
  #screen;
  #newWalker;
  #hooks;
  #rfb = null;
  #channel = null;
  #drawing = null;
  #walker = null;
  #events = null;
  #piece = null;
  #i = 0;
  #staged = [];
  #stagedBytes = 0;
  #run = 0;
  #feeding = Promise.resolve(true);
  #attached = null;
  #connected = false;

  /** `newWalker()`: a walk over the blocks from the first (player-read.js's blockReader); `hooks.damaged(report)`. */
  constructor(screen, newWalker, hooks = {}) {
    this.#screen = screen;
    this.#newWalker = newWalker;
    this.#hooks = hooks;
    this.restart();
  }

  /** RFB from the start again (a seek back): a new connection, the blocks read again from the first. */
  restart() {
    this.#run += 1;
    if (this.#rfb) {
      this.#rfb.disconnect();
      this.#screen.replaceChildren();
    }
    this.#channel = new ReplayChannel();
    this.#rfb = new RFB(this.#screen, this.#channel, { shared: true });
    this.#rfb.viewOnly = true;
    this.#rfb.scaleViewport = true;
    this.#rfb.focusOnClick = false;
    this.#drawing = batchDrawing(this.#rfb._display);
    // RFB reads its handshake one message at a time (a step that sends waits for the next message): until it
    // is connected, each recorded piece is its own message, as it was on the wire; after, many go at once.
    this.#connected = false;
    this.#rfb.addEventListener('connect', () => (this.#connected = true));
    const update = this.#rfb._framebufferUpdate.bind(this.#rfb);
    const drawing = this.#drawing;
    let drawnBefore = 0;
    this.#rfb._framebufferUpdate = () => {
      const finished = update();
      if (finished && drawing.drawn > drawnBefore) this.frames += 1;
      if (finished) drawnBefore = drawing.drawn;
      return finished;
    };
    this.#channel.open();
    // RFB attaches the channel on a timer of its own, set just now: bytes delivered before that would be lost.
    this.#attached = new Promise((resolve) => setTimeout(resolve, 0));
    const run = this.#run;
    this.#walker = this.#newWalker();
    this.#walker.onWait = () => this.#show(run); // what is fed shows while the reading waits for the network
    this.#events = new ClientMessages({ pointer: (ms, mask, x, y) => (this.pointer = { ms, mask, x, y }) });
    this.#piece = null;
    this.#i = 0;
    this.#staged = [];
    this.#stagedBytes = 0;
    this.position = -1;
    this.pointer = null;
    this.done = false;
    this.frames = 0;
  }

  /**
   * Feeds from where it is to the desktop's first complete picture (a real
   * desktop paints some time after the handshake, at 0 ms there is nothing to
   * show) and resolves to its time; bounded by `maxMs` and FIRST_FRAME_STEPS.
   */
  async feedToFirstFrame(maxMs) {
    for (let step = 0; step < FIRST_FRAME_STEPS && this.frames === 0 && !this.done && this.position < maxMs; step++) {
      const next = this.nextDesktopMs();
      const to = typeof next === 'number' && next > this.position ? next : this.position + FIRST_FRAME_STEP_MS;
      if (!(await this.feedTo(Math.min(to, maxMs)))) break;
    }
    return Math.max(0, this.position);
  }

  /** The time of the next desktop record in the piece at hand; 'end' past the last; null when not known yet. */
  nextDesktopMs() {
    const b = this.#piece;
    for (let i = this.#i; b && i < b.count; i++) if (b.table[4 * i + 1] === 0) return b.table[4 * i];
    return this.done ? 'end' : null;
  }

  /**
   * Feeds every record up to `target` ms; `stop()` is asked between turns
   * (a newer seek). Resolves to whether `target` was reached (false: stopped,
   * or the feeder was restarted meanwhile). One feed at a time: a second
   * waits for the first.
   */
  feedTo(target, stop = () => false) {
    const feed = this.#feeding.then(() => this.#feed(target, stop));
    this.#feeding = feed.catch((_reported) => false);
    return feed;
  }

  async #feed(target, stop) {
    const run = this.#run;
    const drawing = this.#drawing;
    await this.#attached;
    drawing.hold();
    try {
      return await this.#feedHeld(run, target, stop);
    } finally {
      if (run === this.#run) this.#deliver();
      drawing.release();
    }
  }

  async #feedHeld(run, target, stop) {
    let since = performance.now();
    while (run === this.#run) {
      const b = this.#piece;
      if (!b || this.#i >= b.count) {
        if (this.done) break;
        this.#deliver(); // the piece's desktop bytes, whole: their own buffer
        if (!(await this.#drained(run))) return false;
        const got = await this.#walker.next();
        if (run !== this.#run) return false;
        if (got.type === 'end') this.done = true;
        else if (got.type === 'damaged') this.#hooks.damaged?.(got);
        else {
          this.#piece = got;
          this.#i = 0;
        }
        continue;
      }
      const at = 4 * this.#i;
      const ms = b.table[at];
      if (ms > target) break;
      const from = b.table[at + 2];
      const bytes = (b.table[at + 1] === 0 ? b.desk : b.client).subarray(from, from + b.table[at + 3]);
      this.#i += 1;
      if (this.#i >= b.count) this.#piece = null; // fed: dropped (what is staged of it goes with the staged bytes)
      this.position = Math.max(this.position, ms);
      if (b.table[at + 1] !== 0) this.#events.push(ms, bytes);
      else {
        this.#stage(bytes);
        if (this.#stagedBytes >= DELIVERY_BYTES || !this.#connected) {
          this.#deliver();
          if (!(await this.#drained(run))) return false;
        }
      }
      if (performance.now() - since > YIELD_AFTER_MS) {
        this.#show(run);
        if (!(await this.#drained(run))) return false;
        await yieldToPage(); // the page's turn shows where the feed is
        since = performance.now();
        if (run !== this.#run || stop()) return false;
      }
    }
    if (run !== this.#run) return false;
    this.#deliver();
    if (!(await this.#drained(run))) return false;
    this.position = Math.max(this.position, target);
    return true;
  }

  /** Desktop bytes to hand over; a piece that follows the last in the same buffer joins it. */
  #stage(bytes) {
    const last = this.#staged.at(-1);
    if (last && last.buffer === bytes.buffer && last.byteOffset + last.length === bytes.byteOffset) {
      this.#staged[this.#staged.length - 1] = new Uint8Array(last.buffer, last.byteOffset, last.length + bytes.length);
    } else this.#staged.push(bytes);
    this.#stagedBytes += bytes.length;
  }

  /** Hands RFB what is staged, as one message: a whole buffer as it is, else copied into one (RFB reads it at once, drawing into its held display). */
  #deliver() {
    if (this.#stagedBytes === 0) return;
    const only = this.#staged.length === 1 ? this.#staged[0] : null;
    let bytes = only;
    if (!only || only.byteOffset !== 0 || only.length !== only.buffer.byteLength) {
      bytes = new Uint8Array(this.#stagedBytes);
      let at = 0;
      for (const piece of this.#staged) {
        bytes.set(piece, at);
        at += piece.length;
      }
    }
    this.#staged = [];
    this.#stagedBytes = 0;
    this.#channel.deliver(bytes.buffer);
  }

  /** What is fed so far, delivered and on the screen (before the page gets a turn, or the feed waits for the network). */
  #show(run) {
    if (run !== this.#run) return;
    this.#deliver();
    this.#drawing.show();
  }

  /** Waits while RFB holds too much unprocessed (it waits on image decoding), with the screen shown; false when restarted meanwhile. */
  async #drained(run) {
    if (this.#backlog() <= BACKLOG_BYTES) return run === this.#run;
    this.#show(run);
    while (this.#backlog() > BACKLOG_BYTES && run === this.#run) await nextFrame();
    return run === this.#run;
  }

  /** Bytes RFB has received and not yet processed (noVNC's receive queue; 0 if it cannot be seen). */
  #backlog() {
    const sock = this.#rfb?._sock;
    return sock && typeof sock._rQlen === 'number' ? sock._rQlen - sock._rQi : 0;
  }

  dispose() {
    this.#run += 1;
    this.#walker?.stop?.();
    this.#rfb?.disconnect();
  }
}
