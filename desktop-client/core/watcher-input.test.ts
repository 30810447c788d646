// A watcher's viewer→server stream on a vnc:// source, byte by byte: what a
// screen needs passes unchanged, every input message is left out whole,
// whatever the split; anything unknown closes the stream.
import { describe, expect, it } from 'vitest';
import { Readable, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { SharedClientInit, WatcherInput } from './watcher-input.ts';

const bytes = (...parts: (number[] | Buffer)[]): Buffer => Buffer.concat(parts.map((p) => Buffer.from(p)));
const u16 = (n: number) => [(n >> 8) & 0xff, n & 0xff];
const u32 = (n: number) => [(n >>> 24) & 0xff, (n >>> 16) & 0xff, (n >>> 8) & 0xff, n & 0xff];

const passes = {
  clientInit: bytes([1]),
  setPixelFormat: bytes([0, 0, 0, 0, 32, 24, 0, 1], u16(255), u16(255), u16(255), [16, 8, 0, 0, 0, 0]),
  setEncodings: bytes([2, 0], u16(3), u32(7), u32(0), u32(-312)),
  updateRequest: bytes([3, 1], u16(0), u16(0), u16(800), u16(600)),
  continuousUpdates: bytes([150, 1], u16(0), u16(0), u16(800), u16(600)),
  fence: bytes([248, 0, 0, 0], u32(0x80000003), [2, 9, 9]),
};
const dropped = {
  key: bytes([4, 1, 0, 0], u32(0x78)),
  pointer: bytes([5, 1], u16(10), u16(20)),
  extendedPointer: bytes([5, 0x81], u16(10), u16(20), [1]),
  cutText: bytes([6, 0, 0, 0], u32(6), Buffer.from('secret')),
  xvp: bytes([250, 0, 1, 4]),
  setDesktopSize: bytes([251, 0], u16(1024), u16(768), [1, 0], Buffer.alloc(16, 3)),
  qemuKey: bytes([255, 0], u16(1), u32(0x78), u32(0x2d)),
};

async function through<F extends WatcherInput | SharedClientInit = WatcherInput>(pieces: Buffer[], filter: F = new WatcherInput() as F): Promise<{ out: Buffer; error: Error | null; filter: F }> {
  const got: Buffer[] = [];
  let error: Error | null = null;
  await pipeline(
    Readable.from(pieces),
    filter,
    new Writable({
      write(chunk: Buffer, _encoding, done) {
        got.push(Buffer.from(chunk));
        done();
      },
    }),
  ).catch((err: Error) => {
    error = err;
  });
  return { out: Buffer.concat(got), error, filter };
}

describe('WatcherInput', () => {
  const stream = bytes(
    passes.clientInit,
    passes.setPixelFormat,
    dropped.key,
    passes.setEncodings,
    dropped.pointer,
    dropped.extendedPointer,
    passes.updateRequest,
    dropped.cutText,
    dropped.qemuKey,
    dropped.xvp,
    passes.continuousUpdates,
    dropped.setDesktopSize,
    passes.fence,
  );
  const expected = bytes(passes.clientInit, passes.setPixelFormat, passes.setEncodings, passes.updateRequest, passes.continuousUpdates, passes.fence);

  it('passes what a screen needs and leaves every input out whole, in one piece or byte by byte', async () => {
    for (const pieces of [[stream], [...stream].map((b) => Buffer.from([b]))]) {
      const { out, error, filter } = await through(pieces);
      expect(error).toBeNull();
      expect(out.equals(expected)).toBe(true);
      expect(filter.dropped).toBe(7);
    }
  });

  it('closes the stream at a message it does not know, passing nothing of it', async () => {
    const { out, error } = await through([bytes(passes.clientInit, passes.updateRequest, [99, 0, 0, 0], passes.updateRequest)]);
    expect(error).toMatchObject({ code: 'VNC_FAILED', message: expect.stringMatching(/unknown client message type 99 at byte 11/) });
    expect(out.equals(bytes(passes.clientInit, passes.updateRequest))).toBe(true);
    const qemu = await through([bytes(passes.clientInit, [255, 1, 0, 0])]);
    expect(qemu.error).toMatchObject({ message: expect.stringMatching(/unknown QEMU client message 1/) });
  });

  it('asks the user\'s server for a shared connection whatever the viewer asked (an exclusive one would drop everyone else)', async () => {
    for (const pieces of [[bytes([0], passes.updateRequest)], [Buffer.from([0]), passes.updateRequest], [bytes([7], passes.updateRequest)]]) {
      const { out, error } = await through(pieces);
      expect(error).toBeNull();
      expect(out.equals(bytes([1], passes.updateRequest))).toBe(true);
    }
  });
});

describe('SharedClientInit (a control leg on a vnc:// source)', () => {
  it('sets the ClientInit to shared and passes everything after it unchanged', async () => {
    const input = bytes([0], dropped.key, dropped.pointer, passes.updateRequest);
    for (const pieces of [[input], [...input].map((b) => Buffer.from([b]))]) {
      const { out, error } = await through(pieces, new SharedClientInit());
      expect(error).toBeNull();
      expect(out.equals(bytes([1], dropped.key, dropped.pointer, passes.updateRequest))).toBe(true);
    }
  });
});
