// The technicians' live event stream, one per page: every script of the page
// (live.js, chat.js, files.js) listens to this one EventSource.
export const events = new EventSource('/api/v1/events');

let live = false;
events.addEventListener('snapshot', () => {
  live = true;
});

/** Calls `fn` once the stream has delivered its snapshot (at once if it already has), and again after each reconnection. */
export function onLive(fn) {
  if (live) fn();
  events.addEventListener('snapshot', () => fn());
}
