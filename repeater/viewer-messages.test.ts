// The viewer's stream filter: key events left out whole, everything else kept
// byte for byte, whatever the split; the handshakes noVNC goes through; what it
// does not know stops it, and it says where; a clipboard of any size streams
// through with a header's worth held at most.
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { ViewerStreamFilter } from './viewer-messages.ts';

// ---------------------------------------------------------------- messages as noVNC builds them (core/rfb.js, RFB.messages)

const bytes = (...parts: (number[] | Buffer | Uint8Array)[]): Buffer => Buffer.concat(parts.map((p) => Buffer.from(p)));
const u16 = (n: number) => [(n >> 8) & 0xff, n & 0xff];
const u32 = (n: number) => [(n >>> 24) & 0xff, (n >>> 16) & 0xff, (n >>> 8) & 0xff, n & 0xff];
const filler = (n: number, seed = 7) => Buffer.from(Array.from({ length: n }, (_, i) => (i * 31 + seed) & 0xff));

const msg = {
  setPixelFormat: () => bytes([0, 0, 0, 0], filler(16)),
  setEncodings: (n: number) => bytes([2, 0], u16(n), filler(4 * n)),
  updateRequest: () => bytes([3, 1], filler(8)),
  key: (down: boolean, keysym: number) => bytes([4, down ? 1 : 0, 0, 0], u32(keysym)),
  pointer: (mask: number, x: number, y: number) => bytes([5, mask & 0x7f], u16(x), u16(y)),
  extendedPointer: (mask: number, x: number, y: number) => bytes([5, (mask & 0x7f) | 0x80], u16(x), u16(y), [(mask >> 7) & 3]),
  cutText: (text: Buffer, extended = false) => bytes([6, 0, 0, 0], u32(extended ? -text.length : text.length), text),
  continuousUpdates: () => bytes([150, 1], filler(8)),
  fence: (payload: Buffer) => bytes([248, 0, 0, 0], u32(0x80000003), [payload.length], payload),
  xvp: (op: number) => bytes([250, 0, 1, op]),
  setDesktopSize: (screens: number) => bytes([251, 0], u16(1024), u16(768), [screens, 0], filler(16 * screens)),
  qemuKey: (down: boolean, keysym: number, keycode: number) => bytes([255, 0], u16(down ? 1 : 0), u32(keysym), u32(keycode)),
};

const V38 = Buffer.from('RFB 003.008\n');
const V33 = Buffer.from('RFB 003.003\n');
/** RFB 3.8, security None, ClientInit (shared): what noVNC sends the desktop client's bridge and x11vnc. */
const opening = bytes(V38, [1], [1]);

/** Pushes every piece; returns what was kept, copied at once, each piece scribbled over after its call. */
function run(filter: ViewerStreamFilter, pieces: Buffer[], observe?: (out: Buffer[], piece: Buffer) => void): Buffer {
  const kept: Buffer[] = [];
  for (const piece of pieces) {
    const out = filter.push(piece);
    observe?.(out, piece);
    kept.push(Buffer.concat(out));
    piece.fill(0xee); // the filter holds no view of an old piece
    expect(filter.bufferedBytes).toBeLessThanOrEqual(32);
  }
  return Buffer.concat(kept);
}

/** `data` cut at the given points, each piece its own copy. */
function split(data: Buffer, cuts: number[]): Buffer[] {
  const points = [...new Set(cuts.map((c) => c % (data.length + 1)))].sort((a, b) => a - b);
  const pieces: Buffer[] = [];
  let from = 0;
  for (const p of [...points, data.length]) {
    pieces.push(Buffer.from(data.subarray(from, p)));
    from = p;
  }
  return pieces;
}

// ---------------------------------------------------------------- random valid streams

interface Message {
  data: Buffer;
  key: boolean;
}

const arbMessage: fc.Arbitrary<Message> = fc.oneof(
  fc.constant(0).map(() => ({ data: msg.setPixelFormat(), key: false })),
  fc.integer({ min: 0, max: 40 }).map((n) => ({ data: msg.setEncodings(n), key: false })),
  fc.constant(0).map(() => ({ data: msg.updateRequest(), key: false })),
  fc.tuple(fc.boolean(), fc.integer({ min: 0, max: 0xffffffff })).map(([d, k]) => ({ data: msg.key(d, k), key: true })),
  fc.tuple(fc.nat(0x7f), fc.nat(0xffff), fc.nat(0xffff)).map(([m, x, y]) => ({ data: msg.pointer(m, x, y), key: false })),
  fc.tuple(fc.nat(0x1ff), fc.nat(0xffff), fc.nat(0xffff)).map(([m, x, y]) => ({ data: msg.extendedPointer(m, x, y), key: false })),
  // Clipboard text may hold bytes that look like any message (a key's type byte 4 among them).
  fc.tuple(fc.uint8Array({ maxLength: 300 }), fc.boolean()).map(([t, e]) => ({ data: msg.cutText(Buffer.from(t), e), key: false })),
  fc.constant(0).map(() => ({ data: msg.continuousUpdates(), key: false })),
  fc.uint8Array({ maxLength: 64 }).map((p) => ({ data: msg.fence(Buffer.from(p)), key: false })),
  fc.integer({ min: 2, max: 4 }).map((op) => ({ data: msg.xvp(op), key: false })),
  fc.integer({ min: 0, max: 4 }).map((n) => ({ data: msg.setDesktopSize(n), key: false })),
  fc.tuple(fc.boolean(), fc.nat(), fc.nat(0xffff)).map(([d, k, c]) => ({ data: msg.qemuKey(d, k, c), key: true })),
);

const arbOpening = fc.oneof(
  fc.constant(opening),
  fc.uint8Array({ minLength: 16, maxLength: 16 }).map((response) => bytes(V38, [2], response, [0])), // VNC auth
  fc.constant(bytes(Buffer.from('RFB 003.007\n'), [1], [1])),
);

describe('ViewerStreamFilter: valid streams', () => {
  it('keeps everything but whole key messages, whatever the split, holding no view of a piece', () => {
    fc.assert(
      fc.property(arbOpening, fc.array(arbMessage, { maxLength: 60 }), fc.array(fc.nat(), { maxLength: 40 }), (open, messages, cuts) => {
        const input = bytes(open, ...messages.map((m) => m.data));
        const expected = bytes(open, ...messages.filter((m) => !m.key).map((m) => m.data));
        const filter = new ViewerStreamFilter({ keepKeys: false });
        expect(run(filter, split(input, cuts)).equals(expected)).toBe(true);
        expect(filter.stopped).toBeNull();
        expect(filter.keysLeftOut).toBe(messages.filter((m) => m.key).length);
        expect(filter.bufferedBytes).toBe(0);
      }),
      { numRuns: 400 },
    );
  });

  it('byte by byte, the same', () => {
    const messages = [msg.pointer(1, 10, 20), msg.key(true, 0x61), msg.cutText(Buffer.from('hunter2')), msg.qemuKey(true, 0x61, 0x1e), msg.extendedPointer(0x100, 3, 4), msg.qemuKey(false, 0x61, 0x1e), msg.fence(Buffer.from('ab'))];
    const input = bytes(opening, ...messages);
    const expected = bytes(opening, messages[0]!, messages[2]!, messages[4]!, messages[6]!);
    const filter = new ViewerStreamFilter({ keepKeys: false });
    expect(run(filter, split(input, Array.from({ length: input.length }, (_, i) => i))).equals(expected)).toBe(true);
    expect(filter.keysLeftOut).toBe(3);
  });

  it('with keepKeys, returns each piece itself and counts the keys it kept', () => {
    fc.assert(
      fc.property(arbOpening, fc.array(arbMessage, { maxLength: 40 }), fc.array(fc.nat(), { maxLength: 20 }), (open, messages, cuts) => {
        const filter = new ViewerStreamFilter({ keepKeys: true });
        run(filter, split(bytes(open, ...messages.map((m) => m.data)), cuts), (out, piece) => {
          expect(out).toEqual(piece.length ? [piece] : []);
          if (piece.length) expect(out[0]).toBe(piece);
        });
        expect(filter.stopped).toBeNull();
        expect(filter.keysLeftOut).toBe(0);
        expect(filter.keyEvents).toBe(messages.filter((m) => m.key).length);
      }),
      { numRuns: 200 },
    );
  });

  it('follows an RFB 3.8 handshake with VNC authentication', () => {
    const response = filler(16, 4); // starts with 4, a key event's type byte: it is not one here
    const filter = new ViewerStreamFilter({ keepKeys: false });
    const kept = run(filter, [bytes(V38), bytes([2]), bytes(response.subarray(0, 5)), bytes(response.subarray(5), [1], msg.key(true, 0x70), msg.pointer(0, 1, 1))]);
    expect(kept.equals(bytes(V38, [2], response, [1], msg.pointer(0, 1, 1)))).toBe(true);
    expect(filter.keysLeftOut).toBe(1);
    expect(filter.stopped).toBeNull();
  });

  it('follows an RFB 3.3 handshake, learning the security type the desktop chose', () => {
    for (const [scheme, answer] of [[2, filler(16, 4)], [1, Buffer.alloc(0)]] as const) {
      const filter = new ViewerStreamFilter({ keepKeys: false });
      const desktop = bytes(V33, u32(scheme), filler(16, 9), u32(0), filler(40));
      for (const b of desktop) filter.desktopPiece(Buffer.from([b]));
      const viewer = bytes(V33, answer, [0], msg.key(true, 0x70), msg.updateRequest());
      expect(run(filter, split(viewer, [5, 13, 20])).equals(bytes(V33, answer, [0], msg.updateRequest()))).toBe(true);
      expect(filter.stopped).toBeNull();
      expect(filter.keysLeftOut).toBe(1);
    }
  });

  it('holds a QEMU message split after its type byte until it knows whether it is a key', () => {
    const filter = new ViewerStreamFilter({ keepKeys: false });
    const key = msg.qemuKey(true, 0x61, 0x1e);
    expect(Buffer.concat(filter.push(bytes(opening, msg.pointer(0, 1, 2), key.subarray(0, 1)))).equals(bytes(opening, msg.pointer(0, 1, 2)))).toBe(true);
    expect(filter.bufferedBytes).toBe(1);
    expect(filter.push(bytes(key.subarray(1)))).toEqual([]);
    expect(filter.keysLeftOut).toBe(1);
  });
});

// ---------------------------------------------------------------- failing closed

describe('ViewerStreamFilter: what it does not know', () => {
  it('stops at an unknown message type, says where, and keeps nothing after, whatever the split', () => {
    const known = bytes(opening, msg.pointer(1, 2, 3), msg.key(true, 0x61));
    const input = bytes(known, [200, 1, 2, 3], msg.pointer(0, 5, 5), msg.key(false, 0x61));
    fc.assert(
      fc.property(fc.array(fc.nat(), { maxLength: 12 }), (cuts) => {
        const filter = new ViewerStreamFilter({ keepKeys: false });
        expect(run(filter, split(input, cuts)).equals(bytes(opening, msg.pointer(1, 2, 3)))).toBe(true);
        expect(filter.stopped).toBe(`unknown client message type 200 at byte ${known.length}: the viewer's stream is not kept from here`);
        expect(filter.push(msg.pointer(0, 1, 1))).toEqual([]);
      }),
    );
  });

  it('stops at a QEMU submessage other than the extended key event (and keeps none of it)', () => {
    const filter = new ViewerStreamFilter({ keepKeys: false });
    const first = bytes(opening, msg.pointer(1, 2, 3), [255]);
    expect(Buffer.concat(filter.push(first)).equals(bytes(opening, msg.pointer(1, 2, 3)))).toBe(true);
    expect(filter.push(bytes([1, 0, 0]))).toEqual([]);
    expect(filter.stopped).toMatch(/^unknown QEMU client message 1 at byte 20: /);
    expect(filter.bufferedBytes).toBe(0);
  });

  it('stops at a security type it does not follow, and at a protocol version noVNC does not send', () => {
    const tight = new ViewerStreamFilter({ keepKeys: false });
    expect(Buffer.concat(tight.push(bytes(V38, [16], [0, 0, 0, 0])))).toEqual(V38);
    expect(tight.stopped).toMatch(/^unknown security type 16 at byte 12: the viewer's stream is not kept from here$/);

    const other = new ViewerStreamFilter({ keepKeys: false });
    expect(run(other, split(bytes(Buffer.from('RFB 004.001\n'), [1, 1]), [3, 7]))).toHaveLength(0);
    expect(other.stopped).toMatch(/^unknown protocol version "RFB 004.001\\n" at byte 0: /);
  });

  it('RFB 3.3: stops when the desktop\'s choice was not seen, or is one it does not follow', () => {
    const blind = new ViewerStreamFilter({ keepKeys: false });
    expect(Buffer.concat(blind.push(bytes(V33, filler(16), [1])))).toEqual(V33);
    expect(blind.stopped).toMatch(/^RFB 3\.3: the viewer went on at byte 12 before the desktop's security type was seen: /);

    const refused = new ViewerStreamFilter({ keepKeys: false });
    refused.desktopPiece(bytes(V33, u32(0), u32(5), Buffer.from('no way')));
    expect(Buffer.concat(refused.push(bytes(V33, [1])))).toEqual(V33);
    expect(refused.stopped).toMatch(/^unknown RFB 3\.3 security type 0 before byte 12: /);
  });

  it('stops with keepKeys too: past something unknown it cannot tell a message from the next', () => {
    const filter = new ViewerStreamFilter({ keepKeys: true });
    expect(Buffer.concat(filter.push(bytes(opening, msg.key(true, 0x61), [99])))).toEqual(bytes(opening, msg.key(true, 0x61)));
    expect(filter.stopped).toMatch(/^unknown client message type 99 at byte 22: /);
    expect(filter.push(msg.key(true, 0x61))).toEqual([]);
  });
});

// ---------------------------------------------------------------- memory

describe('ViewerStreamFilter: bounded memory', () => {
  it('streams a 50 MiB ClientCutText through in 64 KiB pieces, holding at most a header', () => {
    const total = 50 * 1024 * 1024;
    const chunk = filler(64 * 1024, 4);
    for (const extended of [false, true]) {
      const filter = new ViewerStreamFilter({ keepKeys: false });
      const head = bytes(opening, msg.key(true, 0x61), [6, 0, 0, 0], u32(extended ? -total : total));
      // The header split mid-way: its first half is held, the rest follows with the text's start.
      expect(Buffer.concat(filter.push(head.subarray(0, head.length - 3)))).toEqual(bytes(opening, head.subarray(-8, -3)));
      expect(filter.bufferedBytes).toBeLessThanOrEqual(32);
      expect(Buffer.concat(filter.push(head.subarray(-3)))).toEqual(head.subarray(-3));
      let kept = 0;
      for (let sent = 0; sent < total; sent += chunk.length) {
        const out = filter.push(chunk);
        expect(out).toHaveLength(1);
        expect(out[0]).toBe(chunk); // passed through, not copied
        kept += out[0]!.length;
        expect(filter.bufferedBytes).toBeLessThanOrEqual(32);
      }
      expect(kept).toBe(total);
      const after = bytes(msg.key(false, 0x61), msg.pointer(0, 9, 9));
      expect(Buffer.concat(filter.push(after))).toEqual(msg.pointer(0, 9, 9));
      expect(filter.keysLeftOut).toBe(2);
      expect(filter.stopped).toBeNull();
    }
  });
});
