// The frame reader against `ws`'s own Receiver as the oracle: the same bytes,
// split at random points, give the same messages, pings, pongs and close — and
// invalid input the same close code and error, at the same point.
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { FrameReader, type FrameHandler } from './frame-reader.ts';
import { Utf8Stream } from './utf8-stream.ts';
import { wsModule } from './ws-validation.ts';

type Event =
  | { type: 'message'; binary: boolean; data: string }
  | { type: 'ping' | 'pong'; data: string }
  | { type: 'close'; code: number; reason: string }
  | { type: 'error'; code: number; errorCode: string };

const { kStatusCode } = wsModule<{ kStatusCode: symbol }>('constants.js');
interface WsReceiver {
  on(event: string, listener: (...args: never[]) => void): void;
  write(chunk: Buffer): boolean;
}
const Receiver = wsModule<new (options: object) => WsReceiver>('receiver.js');

/** What `ws` makes of the chunks (a server's receiver: masked frames, no extensions). */
async function throughWs(chunks: Buffer[], maxPayload: number): Promise<Event[]> {
  const events: Event[] = [];
  const receiver = new Receiver({ isServer: true, maxPayload, binaryType: 'nodebuffer' });
  let stopped = false;
  receiver.on('message', (data: Buffer, binary: boolean) => events.push({ type: 'message', binary, data: data.toString('hex') }));
  receiver.on('ping', (data: Buffer) => events.push({ type: 'ping', data: data.toString('hex') }));
  receiver.on('pong', (data: Buffer) => events.push({ type: 'pong', data: data.toString('hex') }));
  receiver.on('conclude', (code: number, reason: Buffer) => {
    stopped = true;
    events.push({ type: 'close', code, reason: reason.toString('hex') });
  });
  // Its errors come through the stream's 'error' event, a tick later; only the first counts.
  receiver.on('error', (err: Error & { code: string; [k: symbol]: number }) => {
    if (stopped) return;
    stopped = true;
    events.push({ type: 'error', code: err[kStatusCode]!, errorCode: err.code });
  });
  for (const chunk of chunks) {
    if (stopped) break;
    receiver.write(Buffer.from(chunk));
  }
  await new Promise((resolve) => setImmediate(resolve));
  return events;
}

/** What the repeater's reader makes of them, its pieces put back together into messages. */
function throughReader(chunks: Buffer[], maxPayload: number): Event[] {
  const events: Event[] = [];
  let parts: Buffer[] = [];
  let binary = false;
  const handler: FrameHandler = {
    framePiece(fin, opcode, piece) {
      if (opcode !== 0) binary = opcode === 2;
      parts.push(Buffer.from(piece));
      if (!fin) return;
      events.push({ type: 'message', binary, data: Buffer.concat(parts).toString('hex') });
      parts = [];
    },
    ping: (data) => void events.push({ type: 'ping', data: data.toString('hex') }),
    pong: (data) => void events.push({ type: 'pong', data: data.toString('hex') }),
    closeFrame: (code, reason) => void events.push({ type: 'close', code, reason: reason.toString('hex') }),
    protocolError: (code, errorCode) => void events.push({ type: 'error', code, errorCode }),
  };
  const reader = new FrameReader(handler, maxPayload);
  for (const chunk of chunks) {
    if (reader.stopped) break;
    reader.push(Buffer.from(chunk));
  }
  return events;
}

interface RawFrame {
  fin: boolean;
  rsv: number;
  opcode: number;
  masked: boolean;
  payload: Uint8Array;
  mask: Uint8Array;
  /** Length form: 0 the shortest, 1 force 16-bit, 2 force 64-bit. */
  form: number;
}

function encode(f: RawFrame): Buffer {
  const len = f.payload.length;
  const ext = f.form === 2 || len >= 65536 ? 8 : f.form === 1 || len >= 126 ? 2 : 0;
  const header = Buffer.alloc(2 + ext + (f.masked ? 4 : 0));
  header[0] = (f.fin ? 0x80 : 0) | ((f.rsv & 7) << 4) | (f.opcode & 0x0f);
  header[1] = (f.masked ? 0x80 : 0) | (ext === 0 ? len : ext === 2 ? 126 : 127);
  if (ext === 2) header.writeUInt16BE(len, 2);
  if (ext === 8) header.writeUInt32BE(len, 6);
  if (!f.masked) return Buffer.concat([header, f.payload]);
  Buffer.from(f.mask).copy(header, 2 + ext);
  return Buffer.concat([header, Buffer.from(f.payload.map((b, i) => b ^ f.mask[i & 3]!))]);
}

const mask = fc.uint8Array({ minLength: 4, maxLength: 4 });
const form = fc.integer({ min: 0, max: 2 });
const valid = (opcode: number, payload: Uint8Array, fin = true) =>
  fc.record({ mask, form }).map(({ mask: m, form: f }) => encode({ fin, rsv: 0, opcode, masked: true, payload, mask: m, form: opcode >= 8 ? 0 : f }));

const control = fc.oneof(
  fc.uint8Array({ maxLength: 125 }).chain((p) => valid(0x9, p)),
  fc.uint8Array({ maxLength: 125 }).chain((p) => valid(0xa, p)),
);

/** A whole message (text or binary) cut into 1–4 frames, controls between them. */
const message = fc
  .oneof(
    fc.string({ unit: 'binary', maxLength: 300 }).map((s) => ({ opcode: 1, bytes: Buffer.from(s) })),
    fc.uint8Array({ maxLength: 3000 }).map((b) => ({ opcode: 2, bytes: Buffer.from(b) })),
  )
  .chain(({ opcode, bytes }) =>
    fc.uniqueArray(fc.integer({ min: 0, max: bytes.length }), { maxLength: 3 }).chain((cuts) => {
      const points = [0, ...cuts.sort((a, b) => a - b), bytes.length];
      const pieces = points.slice(1).map((end, i) => bytes.subarray(points[i], end));
      return fc.tuple(
        ...pieces.map((piece, i) => valid(i === 0 ? opcode : 0, piece, i === pieces.length - 1)),
        ...pieces.map(() => fc.option(control, { nil: undefined })),
      ).map((parts) => {
        const frames = parts.slice(0, pieces.length) as Buffer[];
        const controls = parts.slice(pieces.length) as (Buffer | undefined)[];
        return Buffer.concat(frames.flatMap((f, i) => (i < frames.length - 1 && controls[i] ? [f, controls[i]] : [f])));
      });
    }),
  );

const validClose = fc
  .record({
    code: fc.oneof(fc.constantFrom(1000, 1001, 1002, 1003, 1007, 1008, 1009, 1010, 1011, 1012, 1013, 1014), fc.integer({ min: 3000, max: 4999 })),
    reason: fc.string({ unit: 'binary', maxLength: 30 }),
  })
  // 30 characters are at most 120 bytes: the reason always fits.
  .chain(({ code, reason }) => valid(0x8, Buffer.concat([Buffer.from([code >> 8, code & 0xff]), Buffer.from(reason)])));

const stream = fc
  .tuple(fc.array(fc.oneof(message, control), { maxLength: 8 }), fc.option(fc.oneof(validClose, valid(0x8, Buffer.alloc(0))), { nil: undefined }))
  .map(([items, close]) => Buffer.concat(close ? [...items, close] : items));

/** The bytes cut into reads at random points (a header, a mask or a character may be cut). */
function split(bytes: Buffer, cuts: number[]): Buffer[] {
  const points = [...new Set([0, ...cuts.map((c) => c % (bytes.length + 1)), bytes.length])].sort((a, b) => a - b);
  return points.slice(1).map((end, i) => bytes.subarray(points[i], end));
}

/** Anything a hostile client could send as a frame. */
const hostileFrame = fc
  .record({
    fin: fc.boolean(),
    rsv: fc.oneof({ weight: 4, arbitrary: fc.constant(0) }, { weight: 1, arbitrary: fc.integer({ min: 0, max: 7 }) }),
    opcode: fc.integer({ min: 0, max: 15 }),
    masked: fc.oneof({ weight: 4, arbitrary: fc.constant(true) }, { weight: 1, arbitrary: fc.boolean() }),
    payload: fc.oneof(fc.uint8Array({ maxLength: 200 }), fc.constantFrom(Uint8Array.from([0xff, 0xfe]), Uint8Array.from([0x03, 0xee]), Uint8Array.from([0x03, 0xe8, 0xc3]))),
    mask,
    form,
  })
  .map(encode);

const hugeLength = fc.constantFrom(
  Buffer.from([0x82, 0xff, 0x00, 0x20, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 1, 2, 3, 4]),
  Buffer.from([0x82, 0xff, 0x00, 0x00, 0x00, 0x00, 0x10, 0x00, 0x00, 0x00, 1, 2, 3, 4]),
);

describe('frame reader, with ws as the oracle', () => {
  it('reads random valid streams, cut at random points, exactly as ws does', async () => {
    await fc.assert(
      fc.asyncProperty(stream, fc.array(fc.nat(), { maxLength: 40 }), async (bytes, cuts) => {
        const chunks = split(bytes, cuts);
        const expected = await throughWs(chunks, 64 * 1024);
        expect(expected.some((e) => e.type === 'error')).toBe(false);
        expect(throughReader(chunks, 64 * 1024)).toEqual(expected);
      }),
      { numRuns: 400 },
    );
  });

  it('fails random invalid input with the close code and error ws gives, after the same events', async () => {
    const input = fc.tuple(
      stream,
      fc.array(fc.oneof(hostileFrame, hostileFrame, hugeLength, message), { minLength: 1, maxLength: 4 }),
      fc.array(fc.record({ at: fc.nat(), value: fc.integer({ min: 0, max: 255 }) }), { maxLength: 3 }),
      fc.array(fc.nat(), { maxLength: 20 }),
      fc.constantFrom(100, 1000, 64 * 1024),
    );
    let failures = 0;
    await fc.assert(
      fc.asyncProperty(input, async ([prefix, tail, flips, cuts, maxPayload]) => {
        const bytes = Buffer.concat([prefix, ...tail]);
        for (const f of flips) if (bytes.length > 0) bytes[f.at % bytes.length] = f.value;
        const chunks = split(bytes, cuts);
        const expected = await throughWs(chunks, maxPayload);
        if (expected.some((e) => e.type === 'error')) failures++;
        expect(throughReader(chunks, maxPayload)).toEqual(expected);
      }),
      { numRuns: 1500 },
    );
    // The generator does reach the errors it is meant to test.
    expect(failures).toBeGreaterThan(300);
  });

  it('never holds more than a control frame for a header announcing a huge payload', () => {
    const events: string[] = [];
    const reader = new FrameReader(
      {
        framePiece: (_fin, _op, piece) => void events.push(`piece ${piece.length}`),
        ping: () => undefined,
        pong: () => undefined,
        closeFrame: () => undefined,
        protocolError: (code, errorCode) => void events.push(`${code} ${errorCode}`),
      },
      16 * 1024 * 1024,
    );
    // 2^40 bytes announced: refused from the header alone, nothing allocated for it.
    reader.push(Buffer.from([0x82, 0xff, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 1, 2, 3, 4]));
    expect(events).toEqual(['1009 WS_ERR_UNSUPPORTED_MESSAGE_LENGTH']);
    expect(reader.stopped).toBe(true);
  });
});

describe('UTF-8 checked piece by piece', () => {
  it('agrees with a whole-message check for any cut of any byte string', () => {
    fc.assert(
      fc.property(fc.oneof(fc.string({ unit: 'binary' }).map((s) => Buffer.from(s)), fc.uint8Array({ maxLength: 40 }).map((b) => Buffer.from(b))), fc.array(fc.nat(), { maxLength: 10 }), (bytes, cuts) => {
        const stream = new Utf8Stream();
        let ok = true;
        for (const piece of split(bytes, cuts)) ok = stream.push(piece) && ok;
        ok = stream.end() && ok;
        expect(ok).toBe(Buffer.from(bytes.toString('utf8')).equals(bytes));
      }),
      { numRuns: 3000 },
    );
  });
});
