// The /tech page: waits for the user's approval if needed, mints a viewer
// token, connects through the Viewer module and says in words what happens.
import { Viewer } from './viewer.js';
import { messages, format } from './messages.en.js';

const body = document.body;
const ticketId = Number(body.dataset.ticketId);
const requester = body.dataset.requester;
const csrf = document.querySelector('meta[name="csrf-token"]').content;
const screen = document.getElementById('screen');
const stateEl = document.getElementById('state');
const viewOnlyNote = document.getElementById('view-only-note');
const buttons = {
  cad: document.getElementById('btn-cad'),
  scale: document.getElementById('btn-scale'),
  fullscreen: document.getElementById('btn-fullscreen'),
  disconnect: document.getElementById('btn-disconnect'),
  reconnect: document.getElementById('btn-reconnect'),
  end: document.getElementById('btn-end'),
  clip: document.getElementById('btn-clip'),
};

let viewer = null;
let closeIds = null;
let status = body.dataset.status;

// A restart of the server or the repeater, or a dropped network, is ridden
// through: the viewer reconnects by itself with backoff (saying so) for up to
// RETRY_WINDOW_MS, then leaves it to the Reconnect button.
const RETRY_REASONS = new Set(['SHUTDOWN', 'REPEATER_LOST', 'SERVER_RESTARTED', 'NETWORK', 'DESKTOP_LOST', 'VIEWER_LOST']);
const RETRY_WINDOW_MS = 120_000;
let retry = null;
let retryTimer = null;

function scheduleRetry(words) {
  retry ??= { attempt: 0, until: Date.now() + RETRY_WINDOW_MS };
  if (Date.now() > retry.until) {
    retry = null;
    return false;
  }
  const delayMs = Math.min(8_000, 1_000 * 2 ** retry.attempt++);
  showState('reconnecting', format(messages.state.reconnecting, { reason: words, seconds: Math.round(delayMs / 1000) }));
  clearTimeout(retryTimer);
  retryTimer = setTimeout(() => void connect(), delayMs);
  return true;
}

function showState(state, text) {
  stateEl.dataset.state = state;
  stateEl.textContent = text;
  const live = state === 'connected';
  buttons.disconnect.hidden = state === 'ended' || state === 'awaitingApproval' || state === 'reconnecting';
  buttons.reconnect.hidden = state !== 'ended' && state !== 'reconnecting';
  for (const b of [buttons.cad, buttons.clip]) b.disabled = !live || (viewer?.viewOnly ?? false);
}

async function api(path, method = 'GET') {
  const res = await fetch(path, { method, headers: { 'x-csrf-token': csrf, accept: 'application/json' }, credentials: 'same-origin' });
  const data = await res.json().catch(() => ({}));
  if (!res.ok) throw Object.assign(new Error(data.error?.message ?? `HTTP ${res.status}`), { code: data.error?.code });
  return data;
}

async function loadCloseIds() {
  const table = await api('/tech-assets/close-codes.json');
  return Object.fromEntries(Object.entries(table).map(([id, code]) => [code, id]));
}

async function connect() {
  showState('connecting', messages.state.connecting);
  closeIds ??= await loadCloseIds();
  let minted;
  try {
    minted = await api(`/api/v1/tickets/${ticketId}/viewer-token`, 'POST');
  } catch (err) {
    // The server is away (restarting) or its database is: try again shortly.
    const transient = !err.code || err.code === 'DATABASE_UNAVAILABLE' || err.code === 'INTERNAL';
    if (transient && scheduleRetry(messages.reasons.SHUTDOWN)) return;
    if (err.code === 'ILLEGAL_TRANSITION') {
      const detail = await api(`/api/v1/tickets/${ticketId}`).catch(() => null);
      const s = detail?.ticket?.status ?? 'closed';
      return showState('ended', format(messages.state.ended, { reason: format(messages.reasons.NOT_CONNECTABLE, { status: s.replace('_', ' ') }) }));
    }
    return showState('ended', format(messages.errors.mint, { message: err.message }));
  }
  viewOnlyNote.hidden = !minted.viewOnly;
  viewOnlyNote.textContent = minted.viewOnly ? messages.viewOnly : '';
  body.dataset.viewOnly = String(minted.viewOnly);
  screen.replaceChildren();
  viewer = new Viewer(screen, minted.url, { viewOnly: minted.viewOnly, closeIds });
  viewer.addEventListener('state', (event) => {
    const { state, reason, detail } = event.detail;
    if (state === 'connected') {
      retry = null;
      showState('connected', format(messages.state.connected, { requester }));
      viewer.focus();
    } else if (state === 'ended') {
      const words = format(messages.reasons[reason] ?? messages.reasons.NETWORK, { detail: detail ?? '' });
      stateEl.dataset.reason = reason;
      // While reconnecting, a repeater that is not back yet refuses like a bad token.
      if ((RETRY_REASONS.has(reason) || (retry && reason === 'TOKEN_REFUSED')) && scheduleRetry(words)) return;
      showState('ended', format(messages.state.ended, { reason: words }));
    } else {
      showState(state, messages.state[state]);
    }
  });
}

function awaitApproval() {
  showState('awaitingApproval', messages.state.awaitingApproval);
  const events = new EventSource('/api/v1/events');
  events.addEventListener('ticket', (e) => {
    const { ticket } = JSON.parse(e.data);
    if (ticket.id !== ticketId) return;
    status = ticket.status;
    if (status === 'approved' || status === 'in_session') {
      events.close();
      void connect();
    } else if (status !== 'accepted') {
      events.close();
      showState('ended', format(messages.state.ended, { reason: format(messages.reasons.NOT_CONNECTABLE, { status: status.replace('_', ' ') }) }));
    }
  });
}

buttons.cad.addEventListener('click', () => viewer?.sendCtrlAltDel());
buttons.clip.addEventListener('click', () => viewer?.pasteText(document.getElementById('clip-text').value));
buttons.scale.addEventListener('click', () => {
  const fit = buttons.scale.getAttribute('aria-pressed') !== 'true';
  buttons.scale.setAttribute('aria-pressed', String(fit));
  buttons.scale.textContent = fit ? 'Scale to fit' : '1:1';
  viewer?.setScale(fit ? 'fit' : 'native');
});
buttons.fullscreen.addEventListener('click', () => {
  if (document.fullscreenElement) void document.exitFullscreen();
  else void screen.requestFullscreen?.();
});
buttons.disconnect.addEventListener('click', () => viewer?.disconnect());
buttons.reconnect.addEventListener('click', () => {
  clearTimeout(retryTimer);
  retry = null;
  void connect();
});
buttons.end.addEventListener('click', async () => {
  try {
    await api(`/api/v1/tickets/${ticketId}/end`, 'POST');
  } catch (err) {
    stateEl.textContent = format(messages.errors.end, { message: err.message });
  }
});

if (status === 'approved' || status === 'in_session') void connect();
else awaitApproval();
