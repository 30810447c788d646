// The viewer→desktop RFB stream, walked message by message so a recording can
// leave the technician's keystrokes out (issue 23, "private by default"): key
// events (KeyEvent 4, the QEMU extended key event 255/0) are removed whole,
// everything else is kept byte for byte, so the kept stream still parses
// message by message. ClientCutText is kept: it is text the technician pasted
// or copied, not a keystroke, but it can hold a secret all the same. It fails
// closed: at anything it does not know it keeps nothing more of the viewer's
// stream for the rest of the session and says why and where (`stopped`, for
// the recording's trailer). The walk itself is lib/rfb-client-messages.ts.
import { QEMU_EXTENDED_KEY_EVENT, RfbClientMessage, RfbClientMessages } from '../lib/rfb-client-messages.ts';

const NOT_KEPT = "the viewer's stream is not kept from here";

const isKey = (type: number, sub: number | null): boolean => type === RfbClientMessage.KEY_EVENT || (type === RfbClientMessage.QEMU && sub === QEMU_EXTENDED_KEY_EVENT);

export class ViewerStreamFilter {
  readonly #walker: RfbClientMessages;
  #keysLeftOut = 0;
  #keyEvents = 0;

  constructor(options: { keepKeys: boolean }) {
    const { keepKeys } = options;
    this.#walker = new RfbClientMessages({
      trustVersion: keepKeys,
      // A QEMU message split after its type byte may be a key: held until its submessage is known.
      passes: (type, sub) => keepKeys || !(isKey(type, sub) || (type === RfbClientMessage.QEMU && sub === null)),
      seen: (type, sub, passed) => {
        if (!isKey(type, sub)) return;
        this.#keyEvents++;
        if (!passed) this.#keysLeftOut++;
      },
    });
  }

  /** Why the viewer's stream stopped being kept (null while it is kept): words for the recording's trailer. */
  get stopped(): string | null {
    const why = this.#walker.stopped;
    return why === null ? null : `${why}: ${NOT_KEPT}`;
  }

  /** Key events left out so far (0 when keys are kept). */
  get keysLeftOut(): number {
    return this.#keysLeftOut;
  }

  /** Key events seen so far, kept or left out. */
  get keyEvents(): number {
    return this.#keyEvents;
  }

  /** Bytes of the viewer's stream held here between calls (a split header): never more than 32. */
  get bufferedBytes(): number {
    return this.#walker.bufferedBytes;
  }

  /** A piece of the desktop→viewer stream, in the order it was relayed (RFB 3.3's security type is read from it). */
  desktopPiece(piece: Buffer): void {
    this.#walker.desktopPiece(piece);
  }

  /**
   * One relayed piece of the viewer→desktop stream (any split); returns the bytes
   * to record, in order: views into `piece`, and copies of header bytes held from
   * earlier pieces. With keepKeys, that is `[piece]` itself while the stream is known.
   */
  push(piece: Buffer): Buffer[] {
    return this.#walker.push(piece);
  }
}
