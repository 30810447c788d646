// The player's background read of the whole recording (player-scan.js), in a
// module worker: told { type: 'start', url, size, first, file } once, it reads
// the file by Range as the page does (the first bytes are the page's: no
// second request from byte 0), and posts { type: 'damaged', report } as it
// meets damage, then { type: 'done', keys, pointerEvents, lastMs } or
// { type: 'failed', message }. { type: 'pause' } and { type: 'resume' }: the
// page seeks, and wants the machine's time for it meanwhile.
import { aTurn, scanRecording } from './player-scan.js';
import { httpSource, rangeFetcher } from './recording-source.js';

let paused = null;
/** A turn of the worker's own event loop (its messages are read), and the pause, if one was asked for. */
const turn = async () => {
  await aTurn();
  while (paused) await paused.promise;
};

async function start({ url, size, first, file }) {
  try {
    const source = httpSource({ size, first, fetchRange: rangeFetcher(url, { size }) }, { chunk: 1024 * 1024 });
    const result = await scanRecording(source, file, { damaged: (report) => self.postMessage({ type: 'damaged', report }), turn });
    self.postMessage({ type: 'done', ...result });
  } catch (err) {
    self.postMessage({ type: 'failed', message: err instanceof Error ? err.message : String(err) });
  }
}

self.onmessage = ({ data }) => {
  if (data.type === 'start') void start(data);
  else if (data.type === 'pause' && !paused) {
    let resolve;
    paused = { promise: new Promise((r) => (resolve = r)), resolve: () => resolve() };
  }
  else if (data.type === 'resume' && paused) {
    paused.resolve();
    paused = null;
  }
};
