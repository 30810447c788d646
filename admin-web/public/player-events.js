// The viewer→desktop stream of a recording, followed as RFB client messages
// (the repeater never parses RFB; the player does): the handshake (version,
// security type, a VNC-auth response, ClientInit), then each message by its
// length. Pointer and key events are told as they complete; anything not
// understood stops the parse quietly (the screen still plays). Fed a record
// at a time, in order, holding only a message's worth of bytes.

const need = (b, at, n) => at + n <= b.length;
const u16 = (b, at) => (b[at] << 8) | b[at + 1];

export class ClientMessages {
  #pending = new Uint8Array(0);
  #phase = 'version';
  #minor = 8;
  #skip = 0;
  stopped = false;

  /** `on.pointer(ms, mask, x, y)`, `on.key(ms, down)`. */
  constructor(on) {
    this.on = on;
  }

  push(ms, bytes) {
    if (this.stopped) return;
    if (this.#skip > 0) {
      const n = Math.min(this.#skip, bytes.length);
      this.#skip -= n;
      bytes = bytes.subarray(n);
      if (bytes.length === 0) return;
    }
    let b = bytes;
    if (this.#pending.length > 0) {
      b = new Uint8Array(this.#pending.length + bytes.length);
      b.set(this.#pending);
      b.set(bytes, this.#pending.length);
    }
    let at = 0;
    for (let used = this.#one(b, at, ms); used > 0; used = this.#one(b, at, ms)) at += used;
    if (this.#skip > 0) {
      // A long message (cut text) runs past these bytes: skip the rest of it as it comes.
      const n = Math.min(this.#skip, b.length - at);
      this.#skip -= n;
      at += n;
    }
    this.#pending = this.stopped ? new Uint8Array(0) : b.slice(at);
  }

  /** Bytes taken by the next step at `at`, 0 when more are needed. */
  #one(b, at, ms) {
    switch (this.#phase) {
      case 'version': {
        if (!need(b, at, 12)) return 0;
        this.#minor = Number(new TextDecoder().decode(b.subarray(at + 8, at + 11)));
        this.#phase = this.#minor >= 7 ? 'security' : 'auth33';
        return 12;
      }
      case 'security': {
        if (!need(b, at, 1)) return 0;
        const type = b[at];
        if (type === 2) {
          this.#phase = 'auth';
          return 1;
        }
        if (type !== 1) return this.#stop(); // other security types are not followed
        this.#phase = 'init';
        return 1;
      }
      case 'auth':
        if (!need(b, at, 16)) return 0;
        this.#phase = 'init';
        return 16; // VNC authentication's response
      case 'auth33':
        // RFB 3.3: the server chose; a VNC-auth response is 16 bytes before ClientInit, None is nothing.
        if (!need(b, at, 17)) return 0;
        this.#phase = b[at + 16] <= 1 && b[at] > 1 ? 'auth' : 'init';
        return this.#one(b, at, ms);
      case 'init':
        if (!need(b, at, 1)) return 0;
        this.#phase = 'messages';
        return 1;
      default:
        return this.#message(b, at, ms);
    }
  }

  #message(b, at, ms) {
    if (!need(b, at, 1)) return 0;
    const type = b[at];
    let len;
    switch (type) {
      case 0: len = 20; break;
      case 2: if (!need(b, at, 4)) return 0; len = 4 + 4 * u16(b, at + 2); break;
      case 3: len = 10; break;
      case 4: len = 8; break;
      case 5: len = 6; break;
      case 6: {
        if (!need(b, at, 8)) return 0;
        const length = Math.abs(new DataView(b.buffer, b.byteOffset + at + 4, 4).getInt32(0));
        const here = Math.min(length, b.length - at - 8);
        this.#skip = length - here;
        return 8 + here;
      }
      case 150: len = 10; break;
      case 248: if (!need(b, at, 9)) return 0; len = 9 + b[at + 8]; break;
      case 250: len = 4; break;
      case 251: if (!need(b, at, 8)) return 0; len = 8 + 16 * b[at + 6]; break;
      case 255: if (!need(b, at, 2)) return 0; len = b[at + 1] === 0 ? 12 : 4; break;
      default: return this.#stop();
    }
    if (!need(b, at, len)) return 0;
    if (type === 5) this.on.pointer?.(ms, b[at + 1], u16(b, at + 2), u16(b, at + 4));
    else if (type === 4) this.on.key?.(ms, b[at + 1] === 1);
    else if (type === 255 && b[at + 1] === 0) this.on.key?.(ms, u16(b, at + 2) === 1);
    return len;
  }

  #stop() {
    this.stopped = true;
    return 0;
  }
}
