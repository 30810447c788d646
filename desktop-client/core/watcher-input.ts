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

/** The viewer→server half of a watcher's connection, after the security result. */
export class WatcherInput extends Transform {
  readonly #walker = new RfbClientMessages({ trustVersion: false, passes: (type) => WATCHER_PASSES.has(type), seen: (_type, _sub, passed) => this.#count(passed) }, { from: 'client-init' });
  /** Messages left out so far (tests, diagnostics). */
  dropped = 0;

  override _transform(chunk: Buffer, _encoding: BufferEncoding, done: TransformCallback): void {
    for (const piece of this.#walker.push(chunk)) if (piece.length > 0) this.push(piece);
    const stopped = this.#walker.stopped;
    if (stopped) return done(new DesktopError('VNC_FAILED', `The watcher's viewer sent what this client does not pass on (${stopped}): its connection was closed`));
    done();
  }

  #count(passed: boolean): void {
    if (!passed) this.dropped++;
  }
}
