// The technicians' live event stream, one per page: every script of the page
// (live.js, chat.js, files.js, the viewer) listens to this one stream.
// The browser's EventSource reconnects by itself and resumes after the last
// event it had (Last-Event-ID): the server replays what was missed, from any
// server. When the server answered an HTTP error instead (signed out, too many
// streams, the database away) the EventSource gives up: a new one is opened
// after a growing pause (1 s doubling to 30 s), resuming with ?lastEventId=.
// While away the page says so (#live-status; live.js marks body[data-live]).
// A `reset` means the server could not replay (too old, too far behind): the
// snapshot that follows replaces what the page knew.
import { t } from './i18n.js';

const NAMES = ['snapshot', 'ticket', 'desktop', 'session', 'message', 'file', 'participant', 'reset'];
const listeners = [];
const liveCallbacks = [];
let source = null;
let lastEventId = '';
let pauseMs = 1000;
let live = false;

function setLive(on) {
  live = on;
  const status = document.getElementById('live-status');
  if (!on && status) status.textContent = t('js.live.reconnecting');
  else if (on && status?.textContent === t('js.live.reconnecting')) status.textContent = '';
  if (on) for (const fn of liveCallbacks) fn();
}

function connect() {
  const url = lastEventId ? `/api/v1/events?lastEventId=${encodeURIComponent(lastEventId)}` : '/api/v1/events';
  const current = new EventSource(url);
  source = current;
  for (const name of NAMES) {
    current.addEventListener(name, (event) => {
      if (event.lastEventId) lastEventId = event.lastEventId;
    });
  }
  for (const [type, fn] of listeners) current.addEventListener(type, fn);
  // After the page's own snapshot listeners (added later to the first stream).
  current.addEventListener('snapshot', () => setTimeout(() => setLive(true), 0));
  current.addEventListener('open', () => {
    pauseMs = 1000;
    // Resuming: what was missed is replayed, no snapshot comes (unless after a reset).
    if (lastEventId) setLive(true);
  });
  current.addEventListener('error', () => {
    setLive(false);
    if (current.readyState !== EventSource.CLOSED) return; // the browser reconnects by itself
    const pause = pauseMs + Math.random() * (pauseMs / 2);
    pauseMs = Math.min(pauseMs * 2, 30000);
    setTimeout(connect, pause);
  });
}

/** The page's stream: add listeners as to an EventSource; they stay across reconnections. */
export const events = {
  addEventListener(type, fn) {
    listeners.push([type, fn]);
    source?.addEventListener(type, fn);
  },
};

/** Calls `fn` once the stream is live (its snapshot delivered, at once if it already is), and again after each reconnection. */
export function onLive(fn) {
  liveCallbacks.push(fn);
  if (live) fn();
}

connect();
