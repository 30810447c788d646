// Service-level clocks (issue 29): each waiting request with a topic shows
// its wait against its target ("4 min of 5 min"), kept live here every second;
// past the target it is marked (words and colour, not colour alone). When the
// server finds a request waiting too long it says so on the stream (only to
// its team and administrators): a technician who turned notifications on gets
// the browser notification, as for a new request.
import { events } from './events.js';
import { t } from './i18n.js';

/** "45 s", "4 min", "1 h 5 min". */
export function waitText(ms) {
  const seconds = Math.max(0, Math.floor(ms / 1000));
  if (seconds < 60) return t('js.wait.seconds', { n: seconds });
  const minutes = Math.floor(seconds / 60);
  if (minutes < 60) return t('js.wait.minutes', { n: minutes });
  return t('js.wait.hours', { h: Math.floor(minutes / 60), m: minutes % 60 });
}

function updateClocks() {
  const now = Date.now();
  for (const clock of document.querySelectorAll('.sla[data-target-ms]')) {
    const waited = now - Number(clock.dataset.createdAt);
    const target = Number(clock.dataset.targetMs);
    const late = clock.dataset.late === 'true' || waited > target;
    if (late) clock.dataset.late = 'true';
    const text = t(late ? 'js.wait.late' : 'js.wait.of', { waited: waitText(waited), target: waitText(target) });
    if (clock.textContent !== text) clock.textContent = text;
  }
}

function notifyLate(ticket) {
  if (localStorage.getItem('hd.notify') !== 'on' || !('Notification' in window) || Notification.permission !== 'granted') return;
  const lang = document.documentElement.lang.slice(0, 2);
  const names = ticket.routing && ticket.routing.topic ? ticket.routing.topic.names : null;
  const topic = names ? (names[lang] ?? names.en) : '';
  const note = new Notification(t('js.live.waitingTooLongTitle', { id: ticket.id }), { body: t('js.live.waitingTooLong', { id: ticket.id, requester: ticket.requesterName, topic }), tag: `late-${ticket.id}` });
  note.addEventListener('click', () => {
    window.focus();
    location.href = '/queue';
  });
}

events.addEventListener('ticket', (event) => {
  const { ticket, action } = JSON.parse(event.data);
  if (action === 'waiting_too_long') notifyLate(ticket);
});

updateClocks();
setInterval(updateClocks, 1000);
// The queue's rows are drawn again by live.js: their clocks are set at once.
document.addEventListener('hd:refreshed', updateClocks);
