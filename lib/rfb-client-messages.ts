// An RFB client→server stream (RFC 6143), walked message by message without
// gathering any: each item — the handshake's ProtocolVersion, security choice
// and answer, ClientInit, then every client message — is passed on byte for
// byte or left out whole, as a policy says, so what passes still parses
// message by message. It fails closed: at anything it does not know (a
// protocol version, a security type, a message type or a QEMU submessage) it
// passes nothing more, for good, and says why and where (`stopped`).
//
// Users: the repeater's recording (repeater/viewer-messages.ts leaves the
// technician's key events out) and the desktop client (a watcher's input is
// dropped before it reaches the user's own VNC server).
//
// What it knows is what noVNC (the only viewer) sends, checked against RFC 6143
// and node_modules/@novnc/novnc/core/rfb.js (RFB.messages):
//   handshake  "RFB 003.003\n" | "RFB 003.007\n" | "RFB 003.008\n" (12), then
//              3.7/3.8: the chosen security type (1): 1 None, 2 VNC auth + a
//              16-byte response; 3.3: the server chose (a u32 after its own
//              version, learnt through desktopPiece): 1 None, 2 VNC auth's
//              16-byte response; then ClientInit (1)
//   0 SetPixelFormat 20              2 SetEncodings 4 + 4·u16@2
//   3 FramebufferUpdateRequest 10    4 KeyEvent 8                      (a key)
//   5 PointerEvent 6, or 7 when the mask's marker bit 0x80 is set (noVNC's
//     extendedPointerEvent, ExtendedMouseButtons; its plain one clears the bit)
//   6 ClientCutText 8 + |s32@4| (negative: extended clipboard)
//   150 EnableContinuousUpdates 10   248 ClientFence 9 + u8@8
//   250 xvp 4                        251 SetDesktopSize 8 + 16·u8@6
//   255 QEMU: submessage 0, the extended key event, 12 (a key); others unknown
// A message's bytes are never gathered: only its header (at most 12 bytes,
// the ProtocolVersion) is copied aside while it is split across pieces; the
// rest of the message is passed on (or skipped) as views into the piece, so a
// 100 MiB ClientCutText streams through.

export const RfbClientMessage = {
  SET_PIXEL_FORMAT: 0,
  SET_ENCODINGS: 2,
  FRAMEBUFFER_UPDATE_REQUEST: 3,
  KEY_EVENT: 4,
  POINTER_EVENT: 5,
  CLIENT_CUT_TEXT: 6,
  ENABLE_CONTINUOUS_UPDATES: 150,
  CLIENT_FENCE: 248,
  XVP: 250,
  SET_DESKTOP_SIZE: 251,
  QEMU: 255,
} as const;
/** The QEMU submessage that is a key (the extended key event). */
export const QEMU_EXTENDED_KEY_EVENT = 0;

/** Which client messages pass. The handshake and ClientInit always pass. */
export interface RfbClientPolicy {
  /**
   * Whether a message of `type` passes. `sub` is the QEMU submessage (type
   * 255); while it is not known yet (a header split after its type byte) it is
   * null and the answer must hold whatever it turns out to be (false holds the
   * bytes until it is known). Pure: it may be asked more than once per message.
   */
  passes(type: number, sub: number | null): boolean;
  /** Pass a ProtocolVersion's bytes before they are known to be one followed here (else they wait for all 12). */
  trustVersion: boolean;
  /** Told once per message, when its header is complete. */
  seen?(type: number, sub: number | null, passed: boolean): void;
}

/** Room for the longest header read (the ProtocolVersion, 12 bytes). */
const HEAD_ROOM = 32;
const VERSION_BYTES = 12;
const VNC_AUTH_RESPONSE_BYTES = 16;
const SECURITY_NONE = 1;
const SECURITY_VNC_AUTH = 2;
/** What the desktop sends first: its ProtocolVersion, then (RFB 3.3) the security type it chose, a u32. */
const DESKTOP_OPENING_BYTES = 16;

const Phase = { VERSION: 0, SECURITY: 1, SCHEME_33: 2, CLIENT_INIT: 3, MESSAGES: 4, STOPPED: 5 } as const;
type Phase = (typeof Phase)[keyof typeof Phase];

/** The header bytes a client message needs before its length is known (the type byte alone for fixed lengths). */
function headerBytes(type: number): number {
  switch (type) {
    case 2: return 4;
    case 5: return 2;
    case 6: return 8;
    case 248: return 9;
    case 251: return 8;
    case 255: return 2;
    default: return 1;
  }
}

export class RfbClientMessages {
  readonly #policy: RfbClientPolicy;
  #phase: Phase;
  /** The current item's header, copied here as it arrives (it may be split across pieces). */
  readonly #head = Buffer.alloc(HEAD_ROOM);
  #headLength = 0;
  /** Header bytes from earlier pieces not returned yet: whether the item is kept was not known then. */
  #held = 0;
  /** Bytes of the current item after its header still to come, and whether they are kept. */
  #left = 0;
  #leftKept = true;
  /** Where the current piece starts in the viewer's stream, and where the current item starts. */
  #offset = 0;
  #itemAt = 0;
  /** The current item's length and fate, set by #evaluate. */
  #itemLength = 0;
  #itemKept = true;
  #stopped: string | null = null;
  readonly #desktop = Buffer.alloc(DESKTOP_OPENING_BYTES);
  #desktopLength = 0;

  /** `from: 'client-init'`: the handshake happened elsewhere (the desktop client's bridge ran it), the stream starts at ClientInit. */
  constructor(policy: RfbClientPolicy, options: { from?: 'version' | 'client-init' } = {}) {
    this.#policy = policy;
    this.#phase = options.from === 'client-init' ? Phase.CLIENT_INIT : Phase.VERSION;
  }

  /** Why the stream stopped passing (null while it passes): what was not known, and at which byte. */
  get stopped(): string | null {
    return this.#stopped;
  }

  /** Bytes of the viewer's stream held here between calls (a split header): never more than HEAD_ROOM. */
  get bufferedBytes(): number {
    return this.#headLength;
  }

  /**
   * A piece of the desktop→viewer stream, in the order it was relayed. Only its
   * first 16 bytes are read (RFB 3.3's security type); the rest costs a compare.
   */
  desktopPiece(piece: Buffer): void {
    if (this.#desktopLength >= DESKTOP_OPENING_BYTES) return;
    const n = Math.min(DESKTOP_OPENING_BYTES - this.#desktopLength, piece.length);
    piece.copy(this.#desktop, this.#desktopLength, 0, n);
    this.#desktopLength += n;
  }

  /**
   * One piece of the client→server stream (any split); returns the bytes that
   * pass, in order: views into `piece`, and copies of header bytes held from
   * earlier pieces. When everything passes, that is `[piece]` itself while the stream is known.
   */
  push(piece: Buffer): Buffer[] {
    if (this.#phase === Phase.STOPPED) return [];
    const out: Buffer[] = [];
    const end = piece.length;
    const flush = (from: number, to: number): void => {
      if (to > from) out.push(from === 0 && to === end ? piece : piece.subarray(from, to));
    };
    let at = 0;
    /** The first byte of the run of kept bytes not yet added to `out`. */
    let runStart = 0;
    /** Where the current item's bytes in this piece begin. */
    let itemStart = 0;
    while (at < end) {
      if (this.#left > 0) {
        const n = Math.min(this.#left, end - at);
        if (!this.#leftKept) {
          flush(runStart, at);
          runStart = at + n;
        }
        at += n;
        this.#left -= n;
        continue;
      }
      if (this.#headLength === 0) {
        itemStart = at;
        this.#itemAt = this.#offset + at;
      }
      // Gather the header: its first byte(s) say how much of it there is.
      let need = this.#needed();
      while (this.#headLength < need && at < end) {
        this.#head[this.#headLength++] = piece[at++]!;
        if (this.#headLength === 1) need = this.#needed();
      }
      if (this.#headLength < need) {
        // The piece ends inside the header: its bytes go out now if the item is kept whatever follows.
        if (!this.#keptWhateverFollows()) {
          flush(runStart, itemStart);
          runStart = end;
          this.#held = this.#headLength;
        }
        break;
      }
      if (!this.#evaluate()) {
        flush(runStart, itemStart);
        this.#headLength = 0;
        this.#held = 0;
        this.#phase = Phase.STOPPED;
        return out;
      }
      if (this.#itemKept) {
        if (this.#held > 0) out.push(Buffer.from(this.#head.subarray(0, this.#held)));
      } else {
        flush(runStart, itemStart);
        runStart = at;
      }
      this.#left = this.#itemLength - this.#headLength;
      this.#leftKept = this.#itemKept;
      this.#headLength = 0;
      this.#held = 0;
    }
    flush(runStart, end);
    this.#offset += end;
    return out;
  }

  /** How many header bytes the current item needs, given what has been gathered. */
  #needed(): number {
    if (this.#phase === Phase.VERSION) return VERSION_BYTES;
    if (this.#phase !== Phase.MESSAGES || this.#headLength === 0) return 1;
    return headerBytes(this.#head[0]!);
  }

  /** Whether a header cut short by the end of a piece belongs to an item that is kept however it ends. */
  #keptWhateverFollows(): boolean {
    if (this.#phase === Phase.VERSION) return this.#policy.trustVersion; // not yet known to be RFB
    if (this.#phase !== Phase.MESSAGES) return true;
    return this.#policy.passes(this.#head[0]!, null);
  }

  /** Reads a complete header: sets the item's length and fate and the next phase, or says why it stops (false). */
  #evaluate(): boolean {
    const head = this.#head;
    this.#itemKept = true;
    switch (this.#phase) {
      case Phase.VERSION: {
        const version = head.toString('latin1', 0, VERSION_BYTES);
        this.#itemLength = VERSION_BYTES;
        if (version === 'RFB 003.003\n') this.#phase = Phase.SCHEME_33;
        else if (version === 'RFB 003.007\n' || version === 'RFB 003.008\n') this.#phase = Phase.SECURITY;
        else return this.#stop(`unknown protocol version ${JSON.stringify(version)} at byte 0`);
        return true;
      }
      case Phase.SECURITY: {
        const type = head[0]!;
        if (type === SECURITY_NONE) this.#itemLength = 1;
        else if (type === SECURITY_VNC_AUTH) this.#itemLength = 1 + VNC_AUTH_RESPONSE_BYTES;
        else return this.#stop(`unknown security type ${type} at byte ${this.#itemAt}`);
        this.#phase = Phase.CLIENT_INIT;
        return true;
      }
      case Phase.SCHEME_33: {
        // RFB 3.3: the desktop chose the security type; this byte begins the answer to it.
        if (this.#desktopLength < DESKTOP_OPENING_BYTES) {
          return this.#stop(`RFB 3.3: the viewer went on at byte ${this.#itemAt} before the desktop's security type was seen`);
        }
        const type = this.#desktop.readUInt32BE(VERSION_BYTES);
        if (type === SECURITY_NONE) {
          this.#itemLength = 1; // this byte is the ClientInit
          this.#phase = Phase.MESSAGES;
        } else if (type === SECURITY_VNC_AUTH) {
          this.#itemLength = VNC_AUTH_RESPONSE_BYTES;
          this.#phase = Phase.CLIENT_INIT;
        } else {
          return this.#stop(`unknown RFB 3.3 security type ${type} before byte ${this.#itemAt}`);
        }
        return true;
      }
      case Phase.CLIENT_INIT:
        this.#itemLength = 1;
        this.#phase = Phase.MESSAGES;
        return true;
      default:
        return this.#message();
    }
  }

  #message(): boolean {
    const head = this.#head;
    const type = head[0]!;
    switch (type) {
      case 0: this.#itemLength = 20; break;
      case 2: this.#itemLength = 4 + 4 * head.readUInt16BE(2); break;
      case 3: this.#itemLength = 10; break;
      case 4: this.#itemLength = 8; break;
      case 5: this.#itemLength = head[1]! & 0x80 ? 7 : 6; break;
      case 6: this.#itemLength = 8 + Math.abs(head.readInt32BE(4)); break;
      case 150: this.#itemLength = 10; break;
      case 248: this.#itemLength = 9 + head[8]!; break;
      case 250: this.#itemLength = 4; break;
      case 251: this.#itemLength = 8 + 16 * head[6]!; break;
      case 255:
        if (head[1] !== 0) return this.#stop(`unknown QEMU client message ${head[1]} at byte ${this.#itemAt}`);
        this.#itemLength = 12;
        break;
      default:
        return this.#stop(`unknown client message type ${type} at byte ${this.#itemAt}`);
    }
    const sub = type === 255 ? head[1]! : null;
    this.#itemKept = this.#policy.passes(type, sub);
    this.#policy.seen?.(type, sub, this.#itemKept);
    return true;
  }

  #stop(why: string): false {
    this.#stopped = why;
    return false;
  }
}
