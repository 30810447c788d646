// The viewer's WebSocket, opened as soon as its token is minted, while noVNC
// is still loading (issue 31: "Open viewer" → first frame waited for the
// module graph, then for the connection). It is handed to RFB as noVNC's "raw
// channel"; what arrives before RFB takes it (the desktop's RFB greeting) is
// kept and given to RFB in order once it listens. The page's first connection
// is opened earlier still, by first-connection.js in the page's head, and
// adopted here (takeFirstConnection). No noVNC import here.

/** Messages kept until RFB listens: the greeting and little more (a bound all the same). */
const MAX_EARLY_MESSAGES = 64;

export class EarlySocket {
  /** Whether it opened, and the close event's code: for a viewer made after either happened. */
  opened = false;
  closedCode = null;
  #ws;
  #early = [];
  #onmessage = null;

  /** @param {string | { ws: WebSocket, messages: MessageEvent[], opened: boolean, closedCode: number | null, release(): void }} urlOrStarted a URL to open, or a socket first-connection.js opened */
  constructor(urlOrStarted) {
    const started = typeof urlOrStarted === 'string' ? null : urlOrStarted;
    this.#ws = started ? started.ws : new WebSocket(urlOrStarted);
    this.#ws.binaryType = 'arraybuffer';
    if (started) {
      // Its listeners stop here and ours start, in one task: no event is missed or heard twice.
      started.release();
      this.#early = started.messages;
      this.opened = started.opened;
      this.closedCode = started.closedCode;
    }
    this.#ws.addEventListener('message', (e) => {
      if (this.#onmessage) this.#onmessage(e);
      else if (this.#early.length < MAX_EARLY_MESSAGES) this.#early.push(e);
      else this.#ws.close(1008, 'viewer not ready');
    });
    this.#ws.addEventListener('open', () => (this.opened = true));
    this.#ws.addEventListener('close', (e) => (this.closedCode = e.code));
    this.onopen = null;
    this.onclose = null;
    this.onerror = null;
    this.#ws.addEventListener('open', (e) => this.onopen?.(e));
    this.#ws.addEventListener('close', (e) => this.onclose?.(e));
    this.#ws.addEventListener('error', (e) => this.onerror?.(e));
  }

  /** The WebSocket itself, for its open and close events. */
  get socket() {
    return this.#ws;
  }

  // noVNC's raw channel: send, close, binaryType, onerror, onmessage, onopen, protocol, readyState.
  get onmessage() {
    return this.#onmessage;
  }

  /** RFB listens: what came before is handed over after it has finished attaching (it reads an open channel's state first). */
  set onmessage(handler) {
    this.#onmessage = handler;
    if (!handler) return;
    queueMicrotask(() => {
      const early = this.#early;
      this.#early = [];
      for (const e of early) this.#onmessage?.(e);
    });
  }

  get binaryType() {
    return 'arraybuffer';
  }

  set binaryType(_alwaysArrayBuffer) {}

  get protocol() {
    return this.#ws.protocol;
  }

  get readyState() {
    return ['connecting', 'open', 'closing', 'closed'][this.#ws.readyState];
  }

  send(data) {
    this.#ws.send(data);
  }

  close(code, reason) {
    this.#ws.close(code, reason);
  }
}

/**
 * The connection first-connection.js started with the page, once: a promise of
 * the minted token's view and its socket (rejected as the page's own mint would
 * be), or null afterwards and when the page started none.
 */
export function takeFirstConnection() {
  const first = window.helpdeskFirstConnection ?? null;
  window.helpdeskFirstConnection = null;
  return first && first.then(({ minted, started }) => ({ minted, early: new EarlySocket(started) }));
}
