// The whole recording read once, for what the seek bar shows (key presses),
// how many pointer events there are, and what a file without an index does
// not say up front (its length, any damaged block). The player runs it in a
// worker (player-scan-worker.js), so that reading and inflating thousands of
// blocks never takes the page's thread from playback and seeking; where a
// worker cannot start, in the page, giving the page a turn every few ms.
import { BlockWalker, forEachRecord } from './recording-file.js';
import { ClientMessages } from './player-events.js';
import { httpSource } from './recording-source.js';

/** A turn of the event loop (the page's, or the worker's: its messages are read): a task, not a clamped timer. */
export const aTurn = () =>
  new Promise((resolve) => {
    const channel = new MessageChannel();
    channel.port1.onmessage = () => resolve();
    channel.port2.postMessage(0);
  });

/**
 * Walks every block of `file` ({ version, dataStart, index }) through
 * `source` (recording-source.js); `on.damaged(report)` for each damaged
 * block; `on.turn()` (optional) is awaited every `turnAfterMs` (a turn for
 * the page, or for the worker's messages: a pause while a seek runs). Resolves to
 * { keys: ms of each key press, pointerEvents, lastMs }.
 */
export async function scanRecording(source, file, on = {}, turnAfterMs = 10) {
  const walker = new BlockWalker(source, file, 0, { reuse: true }); // each block's records are read at once
  const keys = [];
  let pointerEvents = 0;
  let lastMs = 0;
  const events = new ClientMessages({ pointer: () => (pointerEvents += 1), key: (ms, down) => down && keys.push(ms) });
  let since = performance.now();
  for (let got = await walker.next(); got.type !== 'end'; got = await walker.next()) {
    if (got.type === 'damaged') on.damaged?.(got);
    else {
      lastMs = Math.max(lastMs, got.lastMs);
      forEachRecord(got.raw, (dir, ms, data) => dir === 1 && events.push(ms, data));
    }
    if (on.turn && performance.now() - since > turnAfterMs) {
      await on.turn();
      since = performance.now();
    }
  }
  return { keys, pointerEvents, lastMs };
}

/**
 * A module worker, started at once (its script is asked for before what the
 * page asks for next), or null where workers cannot start. `worker.broken`
 * resolves if it fails (its script does not load: no module workers).
 */
export function startWorker(url) {
  let worker;
  try {
    worker = new Worker(url, { type: 'module' });
  } catch {
    return null;
  }
  worker.broken = new Promise((resolve) =>
    worker.addEventListener('error', (event) => {
      event.preventDefault();
      resolve();
    }),
  );
  return worker;
}

/**
 * The whole file read once (scanRecording), in `worker` (startWorker's, of
 * player-scan-worker.js); in the page when there is none or
 * it does not start: { result (as scanRecording's), hold(yes) }. `hold(true)`
 * while a seek runs: the read waits for it. `damaged(report)` as damage is met.
 */
export function startScan(url, http, file, damaged, worker) {
  let held = null;
  const hold = (yes) => {
    worker?.postMessage({ type: yes ? 'pause' : 'resume' });
    if (yes && !held) {
      let resolve;
      held = { promise: new Promise((r) => (resolve = r)), resolve: () => resolve() };
    } else if (!yes) {
      held?.resolve();
      held = null;
    }
  };
  const turn = async () => {
    await aTurn();
    while (held) await held.promise;
  };
  const result = new Promise((resolve, reject) => {
    const inPage = () => scanRecording(httpSource(http, { chunk: 1024 * 1024 }), file, { damaged, turn }).then(resolve, reject);
    if (!worker) return inPage();
    worker.onmessage = ({ data }) => {
      if (data.type === 'damaged') return damaged(data.report);
      worker.terminate();
      worker = null;
      if (data.type === 'done') resolve(data);
      else reject(new Error(data.message));
    };
    void worker.broken.then(() => {
      if (!worker) return;
      worker.terminate();
      worker = null;
      inPage(); // the worker did not start: the page reads it, a turn at a time
    });
    worker.postMessage({ type: 'start', url, size: http.size, first: http.first, file });
  });
  return { result, hold };
}
