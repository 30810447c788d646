// The checks and the inflater of the recording reader (recording-file.js):
// zlib's CRC-32, table-driven, and deflate-raw inflated never past the
// length a block claims, by the zlib noVNC already ships. That zlib is
// loaded by this module without holding up the modules that import it (the
// player's first modules: the file's head and tail are read, and noVNC asked
// for, while it loads); inflateExactly needs zlibReady() resolved first.

/** pako's inflate, once loaded. */
let zlib = null;
const zlibLoading = Promise.all([import('/vendor/novnc/vendor/pako/lib/zlib/inflate.js'), import('/vendor/novnc/vendor/pako/lib/zlib/zstream.js')]).then(([inflate, zstream]) => {
  zlib = { ...inflate, ZStream: zstream.default };
});
/** Resolves once inflateExactly can run. */
export const zlibReady = () => zlibLoading;

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

/** One inflate stream, reset for each block: setting one up (or zlib's reset, which allocates its code tables anew) costs more than inflating most small blocks. */
let reused = null;
let headMode = 0;

/**
 * zlib's inflateReset, keeping the stream's code tables: each deflate block
 * that uses them builds them first, as it does within one stream. (pako's
 * own reset, when the state is not the shape this knows.)
 */
function reset(strm) {
  const s = strm.state;
  if (!(s?.lendyn instanceof Int32Array) || !(s.distdyn instanceof Int32Array)) return zlib.inflateReset(strm);
  s.wsize = s.whave = s.wnext = 0;
  strm.total_in = strm.total_out = s.total = 0;
  strm.msg = '';
  Object.assign(s, { mode: headMode, last: 0, havedict: 0, dmax: 32768, head: null, hold: 0, bits: 0, sane: 1, back: -1 });
  s.lencode = s.lendyn;
  s.distcode = s.distdyn;
  return Z_OK;
}

/**
 * Inflates deflate-raw bytes to exactly `rawLength` bytes (≤ the format's bound,
 * checked by the caller), or null — synchronously, with the zlib noVNC ships
 * (pako): a long recording is thousands of small blocks, and a stream per block
 * cost milliseconds each. The output buffer is the claimed length and never
 * grows: a block inflating past its claim runs out of room and is given up.
 * With `into` (at least `rawLength` long), the bytes are inflated into it and
 * the answer is a view of it: no buffer is made per block. Once zlibReady().
 */
export function inflateExactly(stored, rawLength, into = null) {
  let strm = reused;
  if (strm) {
    if (reset(strm) !== Z_OK) return null;
  } else {
    strm = new zlib.ZStream();
    if (zlib.inflateInit2(strm, -15) !== Z_OK) return null;
    headMode = strm.state.mode; // a fresh stream waits for its header: what a reset goes back to
    reused = strm;
  }
  strm.input = stored;
  strm.next_in = 0;
  strm.avail_in = stored.length;
  strm.output = into ?? new Uint8Array(rawLength);
  strm.next_out = 0;
  strm.avail_out = rawLength;
  const status = zlib.inflate(strm, Z_FINISH);
  const output = strm.output;
  strm.input = strm.output = null; // the stream is kept for the next block, the bytes are not
  // Z_BUF_ERROR with no room left: more was coming than claimed.
  if (status !== Z_STREAM_END || strm.next_out !== rawLength) return null;
  return into ? output.subarray(0, rawLength) : output;
}
