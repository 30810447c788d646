// Canned replies in the technician's chat (issue 29): the ticket's replies
// (its team's and every team's, {user} and {technician} already filled in by
// the server) as buttons under the message box; a click inserts one. Typing
// "/" at the start of the message filters them by title; Enter inserts the
// first that matches, Escape leaves the text as it is. Text only, never HTML.
import { t } from './i18n.js';

const root = document.querySelector('[data-chat]');
const box = document.getElementById('canned');
const input = root?.querySelector('form textarea');
if (root && box && input) {
  const list = box.querySelector('.canned-list');
  const none = box.querySelector('.canned-none');
  let replies = [];
  let shortcut = false;

  const insert = (reply) => {
    // A "/title" being typed is replaced; otherwise the reply goes where the cursor is.
    if (shortcut) input.value = '';
    const at = input.selectionStart ?? input.value.length;
    input.value = `${input.value.slice(0, at)}${reply.body}${input.value.slice(input.selectionEnd ?? at)}`;
    shortcut = false;
    show('');
    input.focus();
    input.setSelectionRange(at + reply.body.length, at + reply.body.length);
  };

  const show = (query) => {
    const q = query.toLowerCase();
    const shown = replies.filter((r) => r.title.toLowerCase().includes(q));
    list.replaceChildren(
      ...shown.map((r) => {
        const li = document.createElement('li');
        const button = document.createElement('button');
        button.type = 'button';
        button.className = 'small';
        button.textContent = r.title;
        button.setAttribute('aria-label', t('js.canned.insertNamed', { title: r.title }));
        button.title = r.body;
        button.addEventListener('click', () => insert(r));
        li.append(button);
        return li;
      }),
    );
    none.textContent = shown.length ? '' : t('js.canned.none');
    none.hidden = shown.length > 0;
    return shown;
  };

  input.addEventListener('input', () => {
    const typed = /^\/(\S*)$/.exec(input.value);
    shortcut = typed !== null;
    if (shortcut) box.open = true;
    show(typed ? typed[1] : '');
  });
  input.addEventListener('keydown', (event) => {
    if (!shortcut) return;
    if (event.key === 'Enter') {
      const first = show(/^\/(\S*)$/.exec(input.value)?.[1] ?? '')[0];
      if (!first) return;
      event.preventDefault();
      insert(first);
    } else if (event.key === 'Escape') {
      shortcut = false;
      box.open = false;
      show('');
    }
  });

  const res = await fetch(`/api/v1/tickets/${root.dataset.chat}/canned-replies`, { credentials: 'same-origin' });
  if (res.ok) {
    replies = (await res.json()).cannedReplies;
    box.hidden = replies.length === 0;
    show('');
  }
  root.dataset.canned = String(replies.length);
}
