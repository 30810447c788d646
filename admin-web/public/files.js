// Files on the ticket page: the technician offers a file to the user (sent as
// its raw bytes, its name in ?name=); the list follows live. Names are text.
import { fmt, t } from './i18n.js';
import { events } from './events.js';

const root = document.querySelector('[data-files]');
if (root) {
  const ticketId = Number(root.dataset.files);
  const maxBytes = Number(root.dataset.maxBytes);
  const status = root.querySelector('.files-status');
  const csrf = document.querySelector('meta[name="csrf-token"]')?.getAttribute('content') ?? '';
  const labels = [...root.querySelectorAll('thead th')].map((th) => th.textContent);

  const render = (files) => {
    const body = root.querySelector('tbody');
    body.replaceChildren(
      ...files.map((f) => {
        const tr = document.createElement('tr');
        tr.dataset.fileId = f.id;
        tr.dataset.state = f.state;
        const name = document.createElement('td');
        if (f.state !== 'refused' && f.state !== 'purged') {
          const a = document.createElement('a');
          a.href = `/api/v1/tickets/${ticketId}/files/${f.id}`;
          a.setAttribute('download', '');
          a.textContent = f.name;
          name.append(a);
        } else name.textContent = f.name;
        const sha = document.createElement('code');
        sha.textContent = f.sha256;
        const cells = [f.senderName, fmt.bytes(f.size), sha, t(`js.files.state.${f.state}`)].map((content) => {
          const td = document.createElement('td');
          td.append(content);
          return td;
        });
        name.dataset.label = labels[0] ?? '';
        cells.forEach((td, i) => (td.dataset.label = labels[i + 1] ?? ''));
        tr.append(name, ...cells);
        return tr;
      }),
    );
    root.querySelector('.files-empty')?.remove();
  };

  const reload = async () => {
    const res = await fetch(`/api/v1/tickets/${ticketId}/files`, { credentials: 'same-origin' });
    if (res.ok) render((await res.json()).files);
  };

  events.addEventListener('file', (event) => {
    if (JSON.parse(event.data).ticketId === ticketId) void reload();
  });
  // Updates were missed and could not be replayed: list the files again.
  events.addEventListener('reset', () => void reload());

  root.querySelector('form.file-offer')?.addEventListener('submit', async (event) => {
    event.preventDefault();
    const file = root.querySelector('input[type=file]').files[0];
    if (!file) return;
    if (file.size > maxBytes) {
      status.textContent = t('js.files.tooLarge', { name: file.name, max: fmt.bytes(maxBytes) });
      return;
    }
    status.textContent = t('js.files.sending', { name: file.name });
    const res = await fetch(`/api/v1/tickets/${ticketId}/files?name=${encodeURIComponent(file.name)}`, {
      method: 'POST',
      credentials: 'same-origin',
      headers: { 'content-type': 'application/octet-stream', 'x-csrf-token': csrf },
      body: file,
    });
    const body = await res.json().catch((_notJson) => null);
    status.textContent = res.ok ? t('js.files.offered', { name: file.name, sha256: body.file.sha256 }) : (body?.error?.message ?? t('js.files.notSent', { status: res.status }));
    if (res.ok) await reload();
  });
}
