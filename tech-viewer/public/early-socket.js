// The viewer's WebSocket, opened as soon as its token is minted, while noVNC
// is still loading (issue 31: "Open viewer" → first frame waited for the
// module graph, then for the connection). It is handed to RFB as noVNC's "raw
// channel"; what arrives before RFB takes it (the desktop's RFB greeting) is
// kept and given to RFB in order once it listens. No noVNC import here.

/** Messages kept until RFB listens: the greeting and little more (a bound all the same). */
const MAX_EARLY_MESSAGES = 64;

export class EarlySocket {
  /** Whether it opened, and the close event's code: for a viewer made after either happened. */
  opened = false;
  closedCode = null;
  #ws;
  #early = [];
  #onmessage = null;

  constructor(url) {
    this.#ws = new WebSocket(url);
    this.#ws.binaryType = 'arraybuffer';
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
