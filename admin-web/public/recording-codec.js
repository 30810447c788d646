// The checks and the inflater of the recording reader (recording-file.js):
// zlib's CRC-32, table-driven, and deflate-raw inflated never past the
// length a block claims, by the zlib noVNC already ships.
import { inflateInit2, inflate } from '/vendor/novnc/vendor/pako/lib/zlib/inflate.js';
import ZStream from '/vendor/novnc/vendor/pako/lib/zlib/zstream.js';

const Z_OK = 0;
const Z_STREAM_END = 1;
const Z_FINISH = 4;

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
 * checked by the caller), or null — synchronously, with the zlib noVNC ships
 * (pako): a long recording is thousands of small blocks, and a stream per block
 * cost milliseconds each. The output buffer is the claimed length and never
 * grows: a block inflating past its claim runs out of room and is given up.
 */
export function inflateExactly(stored, rawLength) {
  const strm = new ZStream();
  if (inflateInit2(strm, -15) !== Z_OK) return null;
  strm.input = stored;
  strm.next_in = 0;
  strm.avail_in = stored.length;
  strm.output = new Uint8Array(rawLength);
  strm.next_out = 0;
  strm.avail_out = rawLength;
  const status = inflate(strm, Z_FINISH);
  // Z_BUF_ERROR with no room left: more was coming than claimed.
  return status === Z_STREAM_END && strm.next_out === rawLength ? strm.output : null;
}
