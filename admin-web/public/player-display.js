// Drawing a fast-fed RFB at the speed it is fed. noVNC's Display draws each
// rect as it is decoded and copies its back buffer to the visible canvas
// after every FramebufferUpdate; a seek feeds thousands of updates between
// two frames the page can show, and most of that drawing is never seen.
// While held (the feeder holds it while it feeds, player-feed.js):
//   - the copies to the visible canvas wait (the damage they cover adds up)
//     and one copy is made when the feeder lets go (before it gives the page
//     a turn, and when a feed ends);
//   - the one-line blits of raw rects (noVNC's raw decoder puts a line at a
//     time) are gathered, copied, into one putImageData per rect.
// Any other drawing (fills, copies, images, resizes, reads) first puts what
// is gathered, so the back buffer is always drawn in the order RFB asked;
// the render queue (images still decoding) is left to noVNC, and nothing is
// gathered while it holds anything.

/** Bytes gathered into one putImageData at most. */
const GATHER_BYTES = 1024 * 1024;
/** Display methods that draw or read the back buffer: what is gathered is put first. */
const ORDERED = ['fillRect', 'copyImage', 'imageRect', 'videoFrame', 'drawImage', 'resize', 'getImageData', 'toDataURL', 'toBlob', 'viewportChangePos', 'viewportChangeSize'];

/** Display methods that put pixels on the back buffer (counted: `drawn`). */
const DRAWING = new Set(['fillRect', 'copyImage', 'imageRect', 'videoFrame', 'drawImage', 'blitImage']);

/** Wraps one noVNC Display instance (its own methods, not the class's); `hold()` and `release()`. */
export function batchDrawing(display) {
  const own = {};
  for (const name of [...ORDERED, 'blitImage', 'flip']) own[name] = display[name].bind(display);
  let held = false;
  let flipWanted = false;
  /** The rect being gathered: x, y, width, rows so far, and its bytes. */
  let pending = null;
  let buffer = new Uint8Array(0);
  /** Calls that drew pixels (a FramebufferUpdate of pseudo-rects only, a cursor's shape, draws none). */
  let drawn = 0;

  const put = () => {
    if (!pending) return;
    const { x, y, width, rows } = pending;
    pending = null;
    own.blitImage(x, y, width, rows, buffer, 0);
  };

  for (const name of ORDERED) {
    display[name] = (...args) => {
      if (DRAWING.has(name)) drawn += 1;
      put();
      return own[name](...args);
    };
  }

  display.blitImage = (x, y, width, height, arr, offset, fromQueue) => {
    drawn += 1;
    const bytes = width * height * 4;
    if (!held || fromQueue || display.pending() || width * 4 > GATHER_BYTES) {
      put();
      return own.blitImage(x, y, width, height, arr, offset, fromQueue);
    }
    const joins = pending && pending.x === x && pending.width === width && pending.y + pending.rows === y && (pending.rows + height) * width * 4 <= GATHER_BYTES;
    if (!joins) {
      put();
      if (height > 1) return own.blitImage(x, y, width, height, arr, offset, fromQueue); // a whole rect at once: nothing to gather
      pending = { x, y, width, rows: 0 };
    }
    const at = pending.rows * width * 4;
    if (buffer.length < at + bytes) {
      const grown = new Uint8Array(Math.min(GATHER_BYTES, Math.max(2 * buffer.length, at + bytes, 64 * 1024)));
      grown.set(buffer.subarray(0, at));
      buffer = grown;
    }
    buffer.set(new Uint8Array(arr.buffer, arr.byteOffset + offset, bytes), at);
    pending.rows += height;
  };

  display.flip = (fromQueue) => {
    put();
    if (held) flipWanted = true;
    else own.flip(fromQueue);
  };

  /** Puts what is gathered and shows it (one copy to the visible canvas, queued behind any image still decoding). */
  const show = () => {
    put();
    if (flipWanted) {
      flipWanted = false;
      own.flip();
    }
  };

  return {
    get drawn() {
      return drawn;
    },
    /** Gather blits and hold the copies to the visible canvas. */
    hold() {
      held = true;
    },
    /** Shows what is drawn so far, held or not. */
    show,
    /** Stops holding, and shows what is drawn. */
    release() {
      held = false;
      show();
    },
  };
}
