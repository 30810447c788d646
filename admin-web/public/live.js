// Live updates for the admin web over Server-Sent Events (no polling): the
// queue counter in the title and the navigation, the queue table and the
// dashboard strip, and "My tickets". Fragments are re-rendered by the server
// (one template, escaped once) and swapped in; the pages work without this.
import { events, onLive } from './events.js';
import { beep } from './sound.js';
import { t, ageText } from './i18n.js';
// The waiting requests' clocks against their targets, and the notice of one waiting too long (issue 29).
import './wait-clocks.js';

const page = document.body.dataset.page;
const me = Number(document.body.dataset.me);
const baseTitle = document.title;
const queued = new Set();
let refreshing = null;
let refreshAgain = false;
let refreshGeneration = 0;

function setCount() {
  const n = queued.size;
  document.title = n > 0 ? `(${n}) ${baseTitle}` : baseTitle;
  const badge = document.getElementById('queue-count');
  if (badge) badge.textContent = n > 0 ? String(n) : '';
}

function announce(text) {
  const status = document.getElementById('live-status');
  if (status) status.textContent = text;
}

/** Fetches this page again and swaps in the named parts. */
async function refresh(selectors) {
  // Responses can arrive out of order: only the newest request is applied.
  const generation = ++refreshGeneration;
  // Marked as a part's read: it must not take the flash meant for the page the browser goes to next.
  const res = await fetch(location.pathname + location.search, { headers: { accept: 'text/html', 'x-live-refresh': '1' }, credentials: 'same-origin' });
  if (res.redirected || !res.ok) return;
  const html = await res.text();
  if (generation !== refreshGeneration) return;
  const doc = new DOMParser().parseFromString(html, 'text/html');
  // A live alert (a decline) is the page's, not the server's copy: it stays when its part is swapped.
  const alert = document.getElementById('live-alert');
  // So is the flash the page was shown with ("You accepted ticket #3…"): the server gives it once, to the page.
  const pageFlash = document.getElementById('page-flash');
  for (const selector of selectors) {
    const fresh = doc.querySelector(selector);
    const current = document.querySelector(selector);
    if (!fresh || !current) continue;
    const before = new Set([...current.querySelectorAll('[data-ticket-id]')].map((r) => r.dataset.ticketId));
    const focus = focusPlace(current);
    current.replaceWith(fresh);
    if (focus) restoreFocus(fresh, focus);
    for (const row of fresh.querySelectorAll('tr[data-ticket-id]')) {
      if (!before.has(row.dataset.ticketId)) row.classList.add('fresh');
    }
  }
  if (alert && !alert.isConnected) {
    // The fresh copy's notice of the same decline would say it twice: the live alert stays instead.
    if (alert.dataset.ticketId) document.querySelector(`#declined-notices [data-ticket-id="${CSS.escape(alert.dataset.ticketId)}"]`)?.remove();
    document.getElementById('main')?.prepend(alert);
  }
  if (pageFlash && !pageFlash.isConnected) document.getElementById('main')?.prepend(pageFlash);
  // Parts drawn by other scripts (invitations) are drawn again into the fresh copy.
  document.dispatchEvent(new CustomEvent('hd:refreshed'));
}

const FOCUSABLE = 'a[href], button, input, select, textarea, [tabindex]';

/** Where focus is inside a part about to be replaced: its id, or its row and place among the row's controls. */
function focusPlace(container) {
  const active = document.activeElement;
  if (!active || active === document.body || !container.contains(active)) return null;
  if (active.id) return { id: active.id };
  const row = active.closest('[data-ticket-id]');
  const scope = row ?? container;
  return { ticketId: row?.dataset.ticketId ?? null, index: [...scope.querySelectorAll(FOCUSABLE)].indexOf(active) };
}

/** Puts focus back on the same control in the fresh part (or on the part itself when the row is gone). */
function restoreFocus(fresh, place) {
  let target = place.id ? document.getElementById(place.id) : null;
  if (!target && !place.id) {
    const scope = place.ticketId ? fresh.querySelector(`[data-ticket-id="${CSS.escape(place.ticketId)}"]`) : fresh;
    target = scope ? scope.querySelectorAll(FOCUSABLE)[place.index] ?? null : null;
  }
  if (target) target.focus({ preventScroll: true });
  else {
    if (!fresh.hasAttribute('tabindex')) fresh.setAttribute('tabindex', '-1');
    fresh.focus({ preventScroll: true });
  }
}

const PARTS = page === '/queue' ? ['#queue-body', '#queue-empty', '.dashboard'] : page === '/mine' ? ['#main'] : page === '/sessions' ? ['#sessions-live'] : [];

/**
 * Reads the page's parts again at once — no timer: a request showed in an open
 * queue ~120 ms late behind a 100 ms debounce. Events that come while a read is
 * on its way ask for one more read after it (its copy may predate them), so a
 * burst costs two reads, never one per event.
 */
function scheduleRefresh() {
  if (!PARTS.length) return;
  if (refreshing) {
    refreshAgain = true;
    return;
  }
  refreshing = refresh(PARTS)
    .catch((_networkAway) => undefined) // the stream's reconnection reads the parts again
    .finally(() => {
      refreshing = null;
      if (refreshAgain) {
        refreshAgain = false;
        scheduleRefresh();
      }
    });
}

/** A browser notification for a new request, when the technician turned them on and the browser allows. */
function notify(ticket) {
  if (localStorage.getItem('hd.notify') !== 'on' || !('Notification' in window) || Notification.permission !== 'granted') return;
  const note = new Notification(t('js.live.notifyTitle', { id: ticket.id }), { body: `${ticket.requesterName} · ${ticket.hostname}\n${ticket.description}`, tag: `ticket-${ticket.id}` });
  note.addEventListener('click', () => {
    window.focus();
    location.href = '/queue';
  });
}

/** Says something that needs the technician's attention, where they look (not only to screen readers). */
function alertBox(text, ticketId) {
  let box = document.getElementById('live-alert');
  if (!box) {
    box = document.createElement('p');
    box.id = 'live-alert';
    box.className = 'flash error';
    box.setAttribute('role', 'alert');
    document.getElementById('main')?.prepend(box);
  }
  box.textContent = text;
  box.dataset.ticketId = String(ticketId);
}

function onTicket(event) {
  const { ticket, action, previousStatus, previousTechnicianId } = JSON.parse(event.data);
  const wasQueued = queued.has(ticket.id);
  if (ticket.status === 'requested') queued.add(ticket.id);
  else queued.delete(ticket.id);
  setCount();
  if (action === 'decline' && previousTechnicianId === me) {
    alertBox(t('js.live.declined', { requester: ticket.requesterName, id: ticket.id }), ticket.id);
  } else if (ticket.status === 'requested' && !wasQueued) {
    beep();
    announce(t('js.live.newRequest', { id: ticket.id, requester: ticket.requesterName }));
    if (action === 'created') notify(ticket);
  } else if (wasQueued && ticket.status !== 'requested') {
    const other = ticket.technician && ticket.technician.id !== me;
    announce(action === 'accept' ? (other ? t('js.live.acceptedBy', { id: ticket.id, technician: ticket.technician.displayName }) : t('js.live.accepted', { id: ticket.id })) : t('js.live.left', { id: ticket.id, status: ticket.status }));
  }
  if (page === '/queue' && (ticket.status === 'requested' || previousStatus === 'requested' || previousStatus === null)) scheduleRefresh();
  if (page === '/queue' && (ticket.status === 'in_session' || previousStatus === 'in_session' || ticket.status === 'resolved')) scheduleRefresh();
  if (page === '/mine' || page === '/sessions') scheduleRefresh();
}

function updateAges() {
  const now = Date.now();
  for (const row of document.querySelectorAll('tr[data-created-at]')) {
    const cell = row.querySelector('.age');
    if (!cell) continue;
    cell.textContent = ageText(Number(row.dataset.createdAt), now);
  }
}

const notifyToggle = document.getElementById('notify-toggle');
if (notifyToggle) {
  const blocked = document.getElementById('notify-blocked');
  const supported = 'Notification' in window;
  notifyToggle.disabled = !supported;
  notifyToggle.checked = supported && localStorage.getItem('hd.notify') === 'on' && Notification.permission === 'granted';
  blocked.hidden = !supported || Notification.permission !== 'denied';
  notifyToggle.addEventListener('change', async () => {
    if (notifyToggle.checked && Notification.permission !== 'granted') {
      const answer = await Notification.requestPermission();
      blocked.hidden = answer !== 'denied';
      if (answer !== 'granted') notifyToggle.checked = false;
    }
    localStorage.setItem('hd.notify', notifyToggle.checked ? 'on' : 'off');
  });
}

const sound = document.getElementById('sound-toggle');
if (sound) {
  sound.checked = localStorage.getItem('hd.sound') === 'on';
  sound.addEventListener('change', () => localStorage.setItem('hd.sound', sound.checked ? 'on' : 'off'));
}

events.addEventListener('snapshot', (event) => {
  const { queue } = JSON.parse(event.data);
  queued.clear();
  for (const t of queue) queued.add(t.id);
  setCount();
  // What changed between this page's render and the stream's start came before the snapshot, as no event:
  // the page's parts are read again (a desktop that connected meanwhile left "Open viewer" hidden on My tickets).
  if (page === '/mine' || page === '/queue' || page === '/sessions') scheduleRefresh();
});
// Live: after the snapshot, or once a reconnected stream resumes (it replays what was missed, no snapshot).
onLive(() => {
  document.body.dataset.live = 'on';
});
events.addEventListener('ticket', onTicket);
events.addEventListener('desktop', () => page === '/mine' && scheduleRefresh());
events.addEventListener('session', () => (page === '/mine' || page === '/sessions') && scheduleRefresh());
// Someone joined, left, was allowed or took over: My tickets and Live sessions show it.
events.addEventListener('participant', () => (page === '/mine' || page === '/sessions') && scheduleRefresh());
// A message changes the unread counts on the queue and "My tickets".
events.addEventListener('message', (event) => {
  const { message } = JSON.parse(event.data);
  if (page === '/queue' || page === '/mine') {
    scheduleRefresh();
    if (message.from === 'user') beep();
  }
});
events.addEventListener('error', () => {
  document.body.dataset.live = 'reconnecting';
});
// Updates were missed and could not be replayed: the snapshot follows, and the page's parts are fetched again.
events.addEventListener('reset', () => {
  announce(t('js.live.reset'));
  scheduleRefresh();
});
setInterval(updateAges, 30000);
