// Feeding a recording to noVNC: its own RFB, given a channel that replays the
// recorded desktop→viewer bytes instead of a WebSocket. Blocks are read in
// order as playback needs them (recording-file.js's walker over a window of
// the file with a small read-ahead) and dropped once fed; records are handed
// to RFB many at a time once it is connected (its receive queue takes
// concatenated bytes), so fast-forwarding a long recording is quick. The viewer→desktop records are
// followed for the technician's pointer (player-events.js).
import RFB from '/vendor/novnc/core/rfb.js';
import { BlockWalker } from './recording-file.js';
import { ClientMessages } from './player-events.js';

/** Desktop bytes handed to RFB at once when fast-feeding. */
const DELIVERY_BYTES = 1024 * 1024;
/** Fast-feeding gives the page a turn this often (the seek bar stays responsive). */
const YIELD_AFTER_MS = 15;
/** Bytes RFB may hold unprocessed (it waits on image decoding) before feeding waits for it. */
const BACKLOG_BYTES = 4 * 1024 * 1024;

const u32 = (b, at) => ((b[at] << 24) | (b[at + 1] << 16) | (b[at + 2] << 8) | b[at + 3]) >>> 0;
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

  close() {
    if (this.readyState === 'closed') return;
    this.readyState = 'closed';
    this.onclose?.({ code: 1000, reason: '', wasClean: true });
  }
}

export class Feeder {
  /** Every record at or before this time has been fed (-1: none yet). */
  position = -1;
  /** The technician's pointer as last recorded before `position`, or null. */
  pointer = null;
  /** The walker reached the end of the recording. */
  done = false;
  #screen;
  #file;
  #newSource;
  #hooks;
  #rfb = null;
  #channel = null;
  #walker = null;
  #events = null;
  #raw = null;
  #r = 0;
  #run = 0;
  #feeding = Promise.resolve(true);
  #attached = null;
  #connected = false;

  /** `file`: { version, dataStart, index } (recording-file.js); `newSource()`: a fresh window over the file; `hooks.damaged(report)`. */
  constructor(screen, file, newSource, hooks = {}) {
    this.#screen = screen;
    this.#file = file;
    this.#newSource = newSource;
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
    // RFB reads its handshake one message at a time (a step that sends waits for the next message): until it
    // is connected, each recorded piece is its own message, as it was on the wire; after, many go at once.
    this.#connected = false;
    this.#rfb.addEventListener('connect', () => (this.#connected = true));
    this.#channel.open();
    // RFB attaches the channel on a timer of its own, set just now: bytes delivered before that would be lost.
    this.#attached = new Promise((resolve) => setTimeout(resolve, 0));
    this.#walker = new BlockWalker(this.#newSource(), this.#file, 0);
    this.#events = new ClientMessages({ pointer: (ms, mask, x, y) => (this.pointer = { ms, mask, x, y }) });
    this.#raw = null;
    this.#r = 0;
    this.position = -1;
    this.pointer = null;
    this.done = false;
  }

  /** The time of the next desktop record in the block at hand; 'end' past the last; null when not known yet. */
  nextDesktopMs() {
    const raw = this.#raw;
    for (let r = this.#r; raw && r + 9 <= raw.length; r += 9 + u32(raw, r + 5)) if (raw[r] === 0) return u32(raw, r + 1);
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
    await this.#attached;
    let staged = [];
    let stagedBytes = 0;
    let since = performance.now();
    const flush = async () => {
      if (stagedBytes === 0) return;
      const bytes = new Uint8Array(stagedBytes);
      let at = 0;
      for (const piece of staged) {
        bytes.set(piece, at);
        at += piece.length;
      }
      staged = [];
      stagedBytes = 0;
      this.#channel.deliver(bytes.buffer);
      while (this.#backlog() > BACKLOG_BYTES && run === this.#run) await nextFrame();
    };
    while (run === this.#run) {
      const raw = this.#raw;
      if (!raw || this.#r >= raw.length) {
        if (this.done) break;
        await flush(); // what is staged shows while the next block loads
        if (run !== this.#run) return false;
        const got = await this.#walker.next();
        if (run !== this.#run) return false;
        if (got.type === 'end') this.done = true;
        else if (got.type === 'damaged') this.#hooks.damaged?.(got);
        else {
          this.#raw = got.raw;
          this.#r = 0;
        }
        continue;
      }
      const r = this.#r;
      const ms = u32(raw, r + 1);
      if (ms > target) break;
      const len = u32(raw, r + 5);
      const data = raw.subarray(r + 9, r + 9 + len);
      if (raw[r] === 0) {
        staged.push(data);
        stagedBytes += len;
        if (stagedBytes >= DELIVERY_BYTES || !this.#connected) await flush();
      } else this.#events.push(ms, data);
      this.#r = r + 9 + len;
      if (this.#r >= raw.length) this.#raw = null; // fed: dropped
      this.position = Math.max(this.position, ms);
      if (performance.now() - since > YIELD_AFTER_MS) {
        await flush();
        await yieldToPage();
        since = performance.now();
        if (run !== this.#run || stop()) return false;
      }
    }
    if (run !== this.#run) return false;
    await flush();
    if (run !== this.#run) return false;
    this.position = Math.max(this.position, target);
    return true;
  }

  /** Bytes RFB has received and not yet processed (noVNC's receive queue; 0 if it cannot be seen). */
  #backlog() {
    const sock = this.#rfb?._sock;
    return sock && typeof sock._rQlen === 'number' ? sock._rQlen - sock._rQi : 0;
  }

  dispose() {
    this.#run += 1;
    this.#rfb?.disconnect();
  }
}
