// The /tech page: waits for the user's approval if needed, mints a viewer
// token, connects through the Viewer module and says in words what happens.
// The toolbar follows the state: while a session can run it offers the
// session's controls; once the ticket has moved on (ended, resolved, declined,
// released) it offers what comes next — Resolve ticket, Back to queue.
import { t, reasonText } from '/assets/i18n.js';
import { ask } from '/assets/ui.js';
import { events } from '/assets/events.js';
import { panel } from '/assets/participants.js';
import { EarlySocket, takeFirstConnection } from './early-socket.js';
import { drawer, keysMenu, phoneKeyboard, toolbarShortcut, viewButtons, zoomStage } from './touch-controls.js';

const body = document.body;
const ticketId = Number(body.dataset.ticketId);
const me = Number(body.dataset.me);
const requester = body.dataset.requester;
const csrf = document.querySelector('meta[name="csrf-token"]').content;
const screen = document.getElementById('screen');
const stateEl = document.getElementById('state');
const viewOnlyNote = document.getElementById('view-only-note');
const $ = (id) => document.getElementById(id);
const buttons = {
  cad: $('btn-cad'),
  scale: $('btn-scale'),
  fullscreen: $('btn-fullscreen'),
  disconnect: $('btn-disconnect'),
  reconnect: $('btn-reconnect'),
  end: $('btn-end'),
  resolve: $('btn-resolve'),
  queue: $('btn-queue'),
  clip: $('btn-clip'),
  keyboard: $('btn-keyboard'),
};
const stage = zoomStage(screen, (text) => (stateEl.textContent = text));

const CONNECTABLE = new Set(['approved', 'in_session']);
let viewer = null;
let closeIds = null;
let status = body.dataset.status;
let over = false;
// Issue 26: the holder, or a participant on a channel of their own (the panel knows which).
let holder = body.dataset.holder === 'true';
let awaitingParticipant = false;
let handedToQueue = false;

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
  showState('reconnecting', t('js.viewer.reconnecting', { reason: words, seconds: Math.round(delayMs / 1000) }));
  clearTimeout(retryTimer);
  retryTimer = setTimeout(() => void connect(), delayMs);
  return true;
}

/** "Ana left; you now hold this session": said until the screen shows, before whatever the viewer's state says meanwhile. */
let promotedNotice = null;

/** Puts the state in words and shows the controls that fit it. */
function showState(state, text) {
  if (state === 'connected' || over) promotedNotice = null;
  if (promotedNotice && text !== promotedNotice) text = `${promotedNotice} ${text}`;
  stateEl.dataset.state = state;
  body.dataset.viewerState = state;
  stateEl.textContent = text;
  const live = state === 'connected';
  const running = !over && state !== 'awaitingApproval';
  // data-running, not data-live: chat.js marks its section data-live once its stream runs (the chat was hidden at the end).
  for (const el of document.querySelectorAll('[data-running]')) el.hidden = !running;
  buttons.disconnect.hidden = !running || !(state === 'connected' || state === 'waiting' || state === 'connecting');
  buttons.reconnect.hidden = !running || (state !== 'ended' && state !== 'reconnecting');
  buttons.resolve.hidden = !(over && status === 'ended');
  buttons.queue.hidden = !over;
  for (const b of [buttons.cad, buttons.clip, buttons.keyboard, ...document.querySelectorAll('#keys-menu button')]) b.disabled = !live || (viewer?.viewOnly ?? false);
  // Over: no recording runs here any more (the chat stays, to be read).
  $('recording-badge')?.toggleAttribute('hidden', over || state === 'ended');
  if (!holder) buttons.end.hidden = true; // a participant leaves from the panel
}

/** This technician's part is over while the ticket goes on (handed over, stopped, left…): say so, offer the queue. */
function leaveWith(text) {
  over = true;
  clearTimeout(retryTimer);
  retry = null;
  if (viewer) viewer.disconnect();
  showState('over', text);
  buttons.resolve.hidden = true;
  buttons.queue.focus();
}

/** The ticket has moved on: no session can run here any more; say what happened and what comes next. */
function showOver(ticket, action) {
  over = true;
  status = ticket.status;
  clearTimeout(retryTimer);
  retry = null;
  if (viewer) viewer.disconnect();
  let text;
  if (status === 'ended') text = t('js.viewer.over', { reason: reasonText(ticket.endReason ?? 'UNKNOWN') });
  else if (status === 'resolved') text = t('js.viewer.resolved', { id: ticketId });
  else if (status === 'requested' && handedToQueue) text = t('js.participants.youHandedToQueue');
  else if (status === 'requested') text = action === 'decline' ? t('js.viewer.declined', { requester }) : t('js.viewer.requeued');
  else text = t('js.viewer.closed', { reason: reasonText(ticket.endReason ?? (status === 'expired' ? 'EXPIRED' : 'CANCELLED_BY_USER')) });
  showState('over', text);
  (buttons.resolve.hidden ? buttons.queue : buttons.resolve).focus();
}

async function api(path, method = 'GET') {
  const res = await fetch(path, { method, headers: { 'x-csrf-token': csrf, accept: 'application/json' }, credentials: 'same-origin' });
  const data = await res.json().catch((_notJson) => ({}));
  if (!res.ok) throw Object.assign(new Error(data.error?.message ?? `HTTP ${res.status}`), { code: data.error?.code });
  return data;
}

/** The repeater's close codes, carried by the page. */
function loadCloseIds() {
  const table = JSON.parse(document.getElementById('close-codes').textContent);
  return Object.fromEntries(Object.entries(table).map(([id, code]) => [code, id]));
}

/** Whether the ticket still allows a session; if not, the page says what comes next. */
async function stillConnectable() {
  const detail = await api(`/api/v1/tickets/${ticketId}`).catch((_serverAway) => null);
  if (!detail) return true; // the server is away: the retry decides
  if (CONNECTABLE.has(detail.ticket.status)) return true;
  showOver(detail.ticket, null);
  return false;
}

async function connect() {
  if (over) return;
  showState('connecting', t('js.viewer.connecting'));
  closeIds ??= loadCloseIds();
  // noVNC (about 50 modules, preloaded by the page) loads while the token is minted and the socket opens.
  const loading = import('./viewer.js');
  loading.catch((_toldBelow) => null);
  let minted;
  let early = null;
  try {
    // The page's first connection was started in its head (first-connection.js); any later one mints here.
    const first = takeFirstConnection();
    if (first) ({ minted, early } = await first);
    else minted = await api(`/api/v1/tickets/${ticketId}/viewer-token`, 'POST');
  } catch (err) {
    const transient = !err.code || err.code === 'DATABASE_UNAVAILABLE' || err.code === 'INTERNAL';
    if (transient && scheduleRetry(reasonText('SHUTDOWN'))) return;
    if (err.code === 'ILLEGAL_TRANSITION' && !(await stillConnectable())) return;
    return showState('ended', t('js.viewer.mintFailed', { message: err.message }));
  }
  viewOnlyNote.hidden = !minted.viewOnly;
  viewOnlyNote.textContent = minted.viewOnly ? t('js.viewer.viewOnly') : '';
  body.dataset.viewOnly = String(minted.viewOnly);
  early ??= new EarlySocket(minted.url);
  const { Viewer } = await loading;
  if (over) return early.close();
  stage.box.replaceChildren();
  stage.reset();
  viewer = new Viewer(stage.box, early, { viewOnly: minted.viewOnly, closeIds });
  viewer.setQuality(Number($('quality').value));
  viewer.setCompression(Number($('compression').value));
  viewer.addEventListener('clipboard', (event) => {
    $('clip-remote').value = event.detail.text;
  });
  viewer.addEventListener('state', async (event) => {
    const { state, reason, detail } = event.detail;
    // A replaced viewer's late news is dropped (a new one was made for control, or on Reconnect).
    if (over || event.target !== viewer) return;
    if (state === 'connected') {
      retry = null;
      showState('connected', t('js.viewer.connected', { requester }));
      viewer.focus();
    } else if (state === 'ended') {
      const words = reasonText(reason, { detail: detail ?? '' });
      stateEl.dataset.reason = reason;
      if (reason === 'STOPPED_BY_USER') return leaveWith(t('js.participants.youWereStopped'));
      // This channel is closed for good: the ticket went to someone else.
      if (reason === 'HANDED_OVER') {
        const place = await panel.reload();
        // The list may no longer be ours to read (a former holder): then the name this page handed over to.
        const name = place.holderId !== null && place.holderId !== me ? place.holderName : (panel.handedTo ?? null);
        return leaveWith(name ? t('js.participants.youHandedOver', { name }) : t('js.viewer.ended', { reason: words }));
      }
      // A connection that may come back (the server restarting, the network; while reconnecting, a repeater
      // not back yet refuses like a bad token): said at once. The ticket is read meanwhile — from a server that
      // may be going away and slow to answer — and ends the retry if the session is over for good (showOver).
      if ((RETRY_REASONS.has(reason) || (retry && reason === 'TOKEN_REFUSED')) && scheduleRetry(words)) {
        void stillConnectable();
        return;
      }
      // The session is over for good (ended, resolved, declined…): say what comes next.
      if (reason !== 'DISCONNECTED' && !(await stillConnectable())) return;
      // Meanwhile the page may have said what happened to this technician (left, stopped, handed over): that stays.
      if (over) return;
      showState('ended', reason === 'DISCONNECTED' ? t('js.viewer.youDisconnected') : t('js.viewer.ended', { reason: words }));
    } else {
      showState(state, t(`js.viewer.${state}`));
    }
  });
}

// The ticket's moves reach the page live: approval starts the session; an end, a decline, a release end it here.
events.addEventListener('ticket', (e) => {
  const { ticket, action } = JSON.parse(e.data);
  if (ticket.id !== ticketId || over) return;
  if (action === 'handed_over' && ticket.technician?.id !== me && holder) {
    holder = false;
    return leaveWith(t('js.participants.youHandedOver', { name: ticket.technician?.displayName ?? '' }));
  }
  const before = status;
  status = ticket.status;
  if (CONNECTABLE.has(status)) {
    if (before === 'accepted') void connect();
  } else if (status !== 'accepted') {
    showOver(ticket, action);
  }
});

buttons.cad.addEventListener('click', () => viewer?.sendCtrlAltDel());
buttons.clip.addEventListener('click', () => viewer?.pasteText($('clip-text').value));
viewButtons(buttons.scale, buttons.fullscreen, screen, () => viewer);
buttons.disconnect.addEventListener('click', () => viewer?.disconnect());
buttons.reconnect.addEventListener('click', () => {
  clearTimeout(retryTimer);
  retry = null;
  void connect();
});
buttons.end.addEventListener('click', async () => {
  if (!(await ask(buttons.end.dataset.confirmText, buttons.end.dataset.confirmOk))) return;
  try {
    const { ticket } = await api(`/api/v1/tickets/${ticketId}/end`, 'POST');
    showOver(ticket, 'end');
  } catch (err) {
    stateEl.textContent = t('js.viewer.endFailed', { message: err.message });
  }
});
$('quality').addEventListener('change', (e) => viewer?.setQuality(Number(e.target.value)));
$('compression').addEventListener('change', (e) => viewer?.setCompression(Number(e.target.value)));

// Keyboard: inside the remote screen every key goes to the user's computer (Tab too).
// Ctrl+Alt+Shift+F brings focus back to the toolbar; Tab onto the screen gives it back.
toolbarShortcut($('toolbar'), () => (stateEl.dataset.focus = 'toolbar'));
phoneKeyboard(buttons.keyboard, $('phone-keys'), () => viewer);
keysMenu($('keys-menu'), () => viewer);
drawer($('btn-drawer'), $('btn-drawer-close'), $('side'));
screen.tabIndex = 0;
screen.addEventListener('focus', () => {
  if (viewer && body.dataset.viewerState === 'connected') viewer.focus();
});

// What happens to this technician in the session, as the participants panel hears it.
const selfWords = {
  handedOver: (d) => t('js.participants.youHandedOver', { name: d.name }),
  stopped: () => t('js.participants.youWereStopped'),
  left: () => t('js.participants.youLeft'),
  refused: () => t('js.participants.youRefused'),
  cancelled: () => t('js.participants.youCancelled'),
};
panel.addEventListener('self', (event) => {
  const d = event.detail;
  if (over) return;
  if (d.what === 'handedToQueue') handedToQueue = true;
  else if (selfWords[d.what]) leaveWith(selfWords[d.what](d));
  else if (d.what === 'promoted') {
    holder = true;
    promotedNotice = t('js.participants.youPromoted', { name: d.name });
    showState(stateEl.dataset.state, promotedNotice);
  } else if (d.what === 'accepted' && awaitingParticipant) {
    showState('awaitingApproval', t('js.participants.youWaiting'));
  } else if (d.what === 'allowed' && awaitingParticipant) {
    awaitingParticipant = false;
    void connect();
  } else if (d.what === 'allowed' && d.mode === 'control' && viewer?.viewOnly) {
    // The user gave this watcher control: connect again with a token that says so.
    viewer.disconnect();
    void connect();
  }
});

/** The holder connects at once; a participant once the user allowed them; anyone else is told they take no part. */
async function start() {
  // The holder (as the page was made) connects at once: the participants panel is read meanwhile.
  if (holder) return void connect();
  const place = await panel.ready;
  if (place.holder) holder = true;
  if (holder || place.mine?.state === 'connected') return void connect();
  if (place.mine && (place.mine.state === 'invited' || place.mine.state === 'waiting_user')) {
    awaitingParticipant = true;
    return showState('awaitingApproval', t(place.mine.state === 'invited' ? 'js.participants.youInvited' : 'js.participants.youWaiting'));
  }
  leaveWith(t('js.participants.youNotIn'));
}

if (CONNECTABLE.has(status)) void start();
else if (status === 'accepted') showState('awaitingApproval', t('js.viewer.awaitingApproval'));
else showOver({ status, endReason: body.dataset.endReason || null }, null);
