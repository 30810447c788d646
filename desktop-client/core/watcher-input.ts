// A watcher on a `vnc://` source (issue 26): the user's own VNC server has no
// view-only switch per connection, so the client itself drops the watcher's
// input before it reaches the server. The viewer's messages are walked
// (lib/rfb-client-messages.ts) from ClientInit on (the bridge ran the handshake,
// rfb-bridge.ts); only what a screen needs passes: SetPixelFormat,
// SetEncodings, FramebufferUpdateRequest, and the two that pace updates on this
// one connection once the server offered them (EnableContinuousUpdates,
// ClientFence: without them a server that fenced would stall the picture;
// neither changes the desktop). Keys (4, QEMU 255/0), the pointer (5), the
// clipboard (6), xvp power actions (250) and SetDesktopSize (251) are left out
// whole. Fails closed: anything it does not know closes the watcher's connection.
// Every leg's ClientInit reaches the server shared (SharedClientInit for control legs).
import { Transform, type TransformCallback } from 'node:stream';
import { RfbClientMessage, RfbClientMessages } from '../../lib/rfb-client-messages.ts';
import { DesktopError } from './errors.ts';

/** The client messages a watcher's connection passes on. */
export const WATCHER_PASSES: ReadonlySet<number> = new Set([
  RfbClientMessage.SET_PIXEL_FORMAT,
  RfbClientMessage.SET_ENCODINGS,
  RfbClientMessage.FRAMEBUFFER_UPDATE_REQUEST,
  RfbClientMessage.ENABLE_CONTINUOUS_UPDATES,
  RfbClientMessage.CLIENT_FENCE,
]);

/**
 * The stream's first byte is the ClientInit's shared-flag: always 1 on the way
 * to the user's server. A 0 asks for an exclusive connection (RFC 6143 §7.3.1),
 * on which a server such as wayvnc drops every other client — one viewer could
 * end everyone else's session.
 */
function shareInit(piece: Buffer): Buffer {
  if (piece[0] === 1) return piece;
  const copy = Buffer.from(piece);
  copy[0] = 1;
  return copy;
}

/** The viewer→server half of a control leg on a vnc:// source: only the ClientInit is made shared, the rest passes as it is. */
export class SharedClientInit extends Transform {
  #initShared = false;

  override _transform(chunk: Buffer, _encoding: BufferEncoding, done: TransformCallback): void {
    if (this.#initShared || chunk.length === 0) return done(null, chunk);
    this.#initShared = true;
    done(null, shareInit(chunk));
  }
}

/** The viewer→server half of a watcher's connection, after the security result. */
export class WatcherInput extends Transform {
  readonly #walker = new RfbClientMessages({ trustVersion: false, passes: (type) => WATCHER_PASSES.has(type), seen: (_type, _sub, passed) => this.#count(passed) }, { from: 'client-init' });
  /** Messages left out so far (tests, diagnostics). */
  dropped = 0;

  #initShared = false;

  override _transform(chunk: Buffer, _encoding: BufferEncoding, done: TransformCallback): void {
    for (const piece of this.#walker.push(chunk)) {
      if (piece.length === 0) continue;
      this.push(this.#initShared ? piece : shareInit(piece));
      this.#initShared = true;
    }
    const stopped = this.#walker.stopped;
    if (stopped) return done(new DesktopError('VNC_FAILED', `The watcher's viewer sent what this client does not pass on (${stopped}): its connection was closed`));
    done();
  }

  #count(passed: boolean): void {
    if (!passed) this.dropped++;
  }
}
