// A thin wrapper around noVNC's RFB that re-emits typed events, so the page
// never touches the websocket. The page opens the websocket (early-socket.js,
// while noVNC loads); the viewer hands it to RFB and listens to it itself to
// learn the repeater's close code, which RFB does not report.
//
// Events (CustomEvent detail):
//   state: { state: 'connecting' | 'waiting' | 'connected' | 'ended', reason?: string, code?: number }
//   clipboard: { text: string } (the user copied text on their computer)
import RFB from '/vendor/novnc/core/rfb.js';
import keysyms from '/vendor/novnc/core/input/keysymdef.js';

export class Viewer extends EventTarget {
  #ws;
  /** noVNC's RFB; null when the socket had closed before it could be attached. */
  #rfb = null;
  #viewOnly;
  #opened = false;
  #ended = false;
  #localDisconnect = false;
  #closeIds;

  /**
   * @param {HTMLElement} target where the remote screen is drawn
   * @param {import('./early-socket.js').EarlySocket} early the socket opened on the single-use /wsClient?token=… URL
   * @param {{ viewOnly: boolean, closeIds: Record<number, string> }} options
   */
  constructor(target, early, options) {
    super();
    this.#closeIds = options.closeIds;
    this.#ws = early.socket;
    this.#ws.addEventListener('open', () => {
      this.#opened = true;
      if (!this.#ended) this.#emit({ state: 'waiting' });
    });
    this.#ws.addEventListener('close', (event) => this.#onClose(event.code));
    this.#viewOnly = options.viewOnly;
    // Closed while noVNC loaded (a refused token, say): RFB throws on a closed channel; the close is said below.
    if (this.#ws.readyState !== WebSocket.CLOSED) this.#attach(target, early);
    this.#emit({ state: 'connecting' });
    // Opened (or closed) while noVNC loaded: said once the page listens.
    queueMicrotask(() => {
      if (this.#ws.readyState === WebSocket.OPEN && !this.#opened) {
        this.#opened = true;
        this.#emit({ state: 'waiting' });
      } else if (this.#ws.readyState === WebSocket.CLOSED) {
        this.#opened = early.opened;
        this.#onClose(early.closedCode ?? 1006);
      }
    });
  }

  #attach(target, early) {
    this.#rfb = new RFB(target, early, { shared: true });
    this.#rfb.viewOnly = this.#viewOnly;
    this.#rfb.scaleViewport = true;
    this.#rfb.focusOnClick = true;
    // On a touch screen noVNC draws the remote cursor on a canvas of its own at the end of the body: a picture, not content.
    for (const c of document.querySelectorAll('body > canvas')) c.setAttribute('aria-hidden', 'true');
    this.#rfb.addEventListener('connect', () => this.#emit({ state: 'connected' }));
    // Text the user copied on their computer (the VNC server's cut text).
    this.#rfb.addEventListener('clipboard', (e) => this.dispatchEvent(new CustomEvent('clipboard', { detail: { text: e.detail.text } })));
    this.#rfb.addEventListener('securityfailure', (e) => this.#end('PROTOCOL', 0, e.detail?.reason ?? 'security failure'));
  }

  get viewOnly() {
    return this.#rfb?.viewOnly ?? this.#viewOnly;
  }

  sendCtrlAltDel() {
    if (this.#rfb && !this.#rfb.viewOnly) this.#rfb.sendCtrlAltDel();
  }

  /** Presses the keysyms in order and releases them in reverse (a chord such as Ctrl+Alt+Del, or one key). */
  sendKeys(list) {
    if (!this.#rfb || this.#rfb.viewOnly) return;
    for (const k of list) this.#rfb.sendKey(k, null, true);
    for (const k of [...list].reverse()) this.#rfb.sendKey(k, null, false);
  }

  /** Types text as key presses (a phone's keyboard gives text, not keys). */
  typeText(text) {
    for (const ch of text) this.sendKeys([ch === '\n' ? 0xff0d : keysyms.lookup(ch.codePointAt(0))]);
  }

  /** Puts text on the remote clipboard. */
  pasteText(text) {
    if (this.#rfb && !this.#rfb.viewOnly) this.#rfb.clipboardPasteFrom(text);
  }

  /** 'fit' scales the remote screen into the window; 'native' shows it 1:1 with scrollbars. */
  setScale(mode) {
    if (!this.#rfb) return;
    this.#rfb.scaleViewport = mode === 'fit';
    this.#rfb.clipViewport = mode !== 'fit';
  }

  focus() {
    this.#rfb?.focus();
  }

  /** JPEG quality (0–9) the server is asked for; noVNC's qualityLevel. */
  setQuality(level) {
    if (this.#rfb) this.#rfb.qualityLevel = level;
  }

  /** Compression effort (0–9) the server is asked for; noVNC's compressionLevel. */
  setCompression(level) {
    if (this.#rfb) this.#rfb.compressionLevel = level;
  }

  /** Leaves the session from this side only; the user's session stays open. */
  disconnect() {
    this.#localDisconnect = true;
    this.#rfb?.disconnect();
  }

  #onClose(code) {
    if (this.#localDisconnect) return this.#end('DISCONNECTED', code);
    const id = this.#closeIds[code];
    if (id) return this.#end(id, code);
    // A refused upgrade never opens: browsers report it as 1006 with no detail.
    if (!this.#opened) return this.#end('TOKEN_REFUSED', code);
    this.#end('NETWORK', code);
  }

  #end(reason, code, detail) {
    if (this.#ended) return;
    this.#ended = true;
    this.#emit({ state: 'ended', reason, code, detail });
  }

  #emit(detail) {
    this.dispatchEvent(new CustomEvent('state', { detail }));
  }
}
