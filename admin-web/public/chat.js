// The conversation with the user on the ticket page and beside the viewer:
// messages arrive live (the technicians' event stream), are sent with fetch,
// and are always put on the page as text (textContent), never as HTML.
import { fmt, t } from './i18n.js';
import { events, onLive } from './events.js';
import { beep } from './sound.js';

const root = document.querySelector('[data-chat]');
if (root) {
  const ticketId = Number(root.dataset.chat);
  const log = root.querySelector('.chat-log');
  const form = root.querySelector('form');
  const input = root.querySelector('textarea');
  const status = root.querySelector('.chat-status');
  const csrf = document.querySelector('meta[name="csrf-token"]')?.getAttribute('content') ?? '';
  const seen = new Set([...log.querySelectorAll('li[data-id]')].map((li) => Number(li.dataset.id)));
  let lastId = Math.max(0, ...seen);

  const timeOf = (at) => fmt.time(at);

  const markRead = () => {
    void fetch(`/api/v1/tickets/${ticketId}/messages/read`, {
      method: 'POST',
      credentials: 'same-origin',
      headers: { 'content-type': 'application/json', 'x-csrf-token': csrf },
      body: JSON.stringify({ lastReadId: lastId }),
    });
  };

  const add = (m) => {
    if (seen.has(m.id)) return;
    seen.add(m.id);
    lastId = Math.max(lastId, m.id);
    const li = document.createElement('li');
    li.dataset.id = String(m.id);
    li.dataset.from = m.from;
    const who = document.createElement('strong');
    who.textContent = m.from === 'user' ? t('js.chat.user', { name: m.authorName }) : m.authorName;
    const time = document.createElement('time');
    time.textContent = timeOf(m.at);
    const text = document.createElement('p');
    text.textContent = m.text;
    li.append(who, ' ', time, text);
    log.append(li);
    log.scrollTop = log.scrollHeight;
    root.querySelector('.chat-empty')?.remove();
    if (m.from === 'user') {
      if (status) status.textContent = t('js.chat.newMessage', { name: m.authorName });
      beep(660, 0.1);
    }
  };

  events.addEventListener('message', (event) => {
    const e = JSON.parse(event.data);
    if (e.ticketId !== ticketId) return;
    add(e.message);
    if (document.visibilityState === 'visible') markRead();
  });
  onLive(() => {
    root.dataset.live = 'on';
  });
  // Messages were missed and could not be replayed: read the conversation again (what is shown stays).
  events.addEventListener('reset', async () => {
    const res = await fetch(`/api/v1/tickets/${ticketId}/messages`, { credentials: 'same-origin' });
    if (res.ok) (await res.json()).messages.forEach(add);
  });

  form?.addEventListener('submit', async (event) => {
    event.preventDefault();
    const text = input.value;
    const button = form.querySelector('button');
    button.disabled = true;
    try {
      const res = await fetch(`/api/v1/tickets/${ticketId}/messages`, {
        method: 'POST',
        credentials: 'same-origin',
        headers: { 'content-type': 'application/json', 'x-csrf-token': csrf },
        body: JSON.stringify({ text }),
      });
      const body = await res.json().catch((_notJson) => null);
      if (!res.ok) {
        if (status) status.textContent = body?.error?.message ?? t('js.chat.notSent', { status: res.status });
        return;
      }
      add(body.message);
      input.value = '';
      if (status) status.textContent = '';
    } finally {
      button.disabled = false;
      input.focus();
    }
  });
  if (lastId > 0) markRead();
}
