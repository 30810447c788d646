// Live updates for the admin web over Server-Sent Events (no polling): the
// queue counter in the title and the navigation, the queue table and the
// dashboard strip, and "My tickets". Fragments are re-rendered by the server
// (one template, escaped once) and swapped in; the pages work without this.
import { events } from './events.js';
import { beep } from './sound.js';

const page = document.body.dataset.page;
const me = Number(document.body.dataset.me);
const baseTitle = document.title;
const queued = new Set();
let refreshTimer = null;
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
  const res = await fetch(location.pathname + location.search, { headers: { accept: 'text/html' }, credentials: 'same-origin' });
  if (res.redirected || !res.ok) return;
  const html = await res.text();
  if (generation !== refreshGeneration) return;
  const doc = new DOMParser().parseFromString(html, 'text/html');
  for (const selector of selectors) {
    const fresh = doc.querySelector(selector);
    const current = document.querySelector(selector);
    if (!fresh || !current) continue;
    const before = new Set([...current.querySelectorAll('[data-ticket-id]')].map((r) => r.dataset.ticketId));
    current.replaceWith(fresh);
    for (const row of fresh.querySelectorAll('tr[data-ticket-id]')) {
      if (!before.has(row.dataset.ticketId)) row.classList.add('fresh');
    }
  }
}

function scheduleRefresh() {
  clearTimeout(refreshTimer);
  refreshTimer = setTimeout(() => {
    const parts = page === '/queue' ? ['#queue-body', '#queue-empty', '.dashboard'] : page === '/mine' ? ['#main'] : [];
    if (parts.length) void refresh(parts);
  }, 100);
}

function onTicket(event) {
  const { ticket, action, previousStatus } = JSON.parse(event.data);
  const wasQueued = queued.has(ticket.id);
  if (ticket.status === 'requested') queued.add(ticket.id);
  else queued.delete(ticket.id);
  setCount();
  if (ticket.status === 'requested' && !wasQueued) {
    beep();
    announce(`New request #${ticket.id} from ${ticket.requesterName}`);
  } else if (wasQueued && ticket.status !== 'requested') {
    const who = ticket.technician && ticket.technician.id !== me ? ` by ${ticket.technician.displayName}` : '';
    announce(`Request #${ticket.id} ${action === 'accept' ? `accepted${who}` : ticket.status}`);
  }
  if (page === '/queue' && (ticket.status === 'requested' || previousStatus === 'requested' || previousStatus === null)) scheduleRefresh();
  if (page === '/queue' && (ticket.status === 'in_session' || previousStatus === 'in_session' || ticket.status === 'resolved')) scheduleRefresh();
  if (page === '/mine') scheduleRefresh();
}

function updateAges() {
  const now = Date.now();
  for (const row of document.querySelectorAll('tr[data-created-at]')) {
    const minutes = Math.floor((now - Number(row.dataset.createdAt)) / 60000);
    const cell = row.querySelector('.age');
    if (!cell) continue;
    cell.textContent = minutes < 1 ? 'just now' : minutes < 60 ? `${minutes} min` : minutes < 2880 ? `${Math.floor(minutes / 60)} h ${minutes % 60} min` : `${Math.floor(minutes / 1440)} d`;
  }
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
  document.body.dataset.live = 'on';
});
events.addEventListener('ticket', onTicket);
events.addEventListener('desktop', () => page === '/mine' && scheduleRefresh());
events.addEventListener('session', () => page === '/mine' && scheduleRefresh());
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
setInterval(updateAges, 30000);
