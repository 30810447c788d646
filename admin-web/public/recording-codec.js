// The checks and the inflater of the recording reader (recording-file.js):
// zlib's CRC-32, table-driven, and deflate-raw inflated by the browser's
// DecompressionStream, never past the length a block claims. No dependencies.

const INFLATE_PIECE = 4096;

const CRC_TABLE = new Uint32Array(256);
for (let n = 0; n < 256; n++) {
  let c = n;
  for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
  CRC_TABLE[n] = c >>> 0;
}

/** zlib's CRC-32 of `bytes`, continuing from `crc`. */
export function crc32(bytes, crc = 0) {
  let c = ~crc >>> 0;
  for (let i = 0; i < bytes.length; i++) c = CRC_TABLE[(c ^ bytes[i]) & 0xff] ^ (c >>> 8);
  return ~c >>> 0;
}

/**
 * Inflates deflate-raw bytes to exactly `rawLength` bytes (≤ the format's bound,
 * checked by the caller), or null. The input is fed a few KiB at a time and the
 * output read as it comes: a block inflating past its claim is given up after
 * at most one piece's worth more (deflate expands ~1000× at most), never grown into.
 */
export async function inflateExactly(stored, rawLength) {
  const out = new Uint8Array(rawLength);
  const ds = new DecompressionStream('deflate-raw');
  const writer = ds.writable.getWriter();
  const reader = ds.readable.getReader();
  let n = 0;
  let lied = false;
  const reading = (async () => {
    for (;;) {
      const { value, done } = await reader.read();
      if (done) return;
      if (n + value.length > rawLength) {
        lied = true;
        await reader.cancel();
        return;
      }
      out.set(value, n);
      n += value.length;
    }
  })();
  let failed = false;
  try {
    for (let at = 0; at < stored.length && !lied; at += INFLATE_PIECE) await writer.write(stored.subarray(at, at + INFLATE_PIECE));
    if (!lied) await writer.close();
  } catch {
    failed = true; // the reading side says why (or the block lied and was given up)
  }
  try {
    await reading;
  } catch (err) {
    if (!(err instanceof TypeError)) throw err;
    failed = true; // not deflate data, or cut off
  }
  return !failed && !lied && n === rawLength ? out : null;
}

