// Small behaviours every page shares: a confirmation before a form that
// cannot be undone is sent (forms with data-confirm), and Copy buttons
// (data-copy names the element whose text is copied). Without JavaScript the
// forms are sent as they are.
import { t } from './i18n.js';

// The browser's time zone, for the server to draw times in when the reader chose none on the profile.
const browserZone = Intl.DateTimeFormat().resolvedOptions().timeZone;
if (browserZone && !document.cookie.split('; ').includes(`hd.tz=${encodeURIComponent(browserZone)}`)) {
  document.cookie = `hd.tz=${encodeURIComponent(browserZone)}; path=/; max-age=31536000; samesite=lax`;
}

let dialog = null;

function confirmDialog() {
  if (dialog) return dialog;
  dialog = document.createElement('dialog');
  dialog.className = 'confirm';
  dialog.setAttribute('aria-labelledby', 'confirm-title');
  dialog.setAttribute('aria-describedby', 'confirm-text');
  dialog.innerHTML = '<form method="dialog"><h2 id="confirm-title"></h2><p id="confirm-text"></p><div class="actions-row"><button value="cancel" id="confirm-cancel"></button><button value="ok" id="confirm-ok" class="danger"></button></div></form>';
  dialog.querySelector('#confirm-title').textContent = t('js.confirm.title');
  document.body.append(dialog);
  return dialog;
}

/** Asks, in a modal dialog; resolves true when confirmed. Cancel is the default (Escape, Enter on it). */
export function ask(text, okLabel) {
  const d = confirmDialog();
  d.querySelector('#confirm-text').textContent = text;
  d.querySelector('#confirm-ok').textContent = okLabel;
  d.querySelector('#confirm-cancel').textContent = t('js.confirm.cancel');
  d.returnValue = '';
  return new Promise((resolve) => {
    d.addEventListener('close', () => resolve(d.returnValue === 'ok'), { once: true });
    d.showModal();
    d.querySelector('#confirm-cancel').focus();
  });
}

document.addEventListener('submit', async (event) => {
  const form = event.target;
  if (!(form instanceof HTMLFormElement) || !form.dataset.confirm || form.dataset.confirmed === 'yes') return;
  event.preventDefault();
  const submitter = event.submitter;
  if (await ask(form.dataset.confirm, form.dataset.confirmOk ?? 'OK')) {
    form.dataset.confirmed = 'yes';
    form.requestSubmit(submitter ?? undefined);
  } else {
    submitter?.focus();
  }
});

document.addEventListener('click', async (event) => {
  const button = event.target instanceof Element ? event.target.closest('[data-copy]') : null;
  if (!button) return;
  const source = document.querySelector(button.dataset.copy);
  const text = source ? ('value' in source ? source.value : source.textContent) : '';
  let status = button.parentElement.querySelector('.copy-status');
  if (!status) {
    status = document.createElement('span');
    status.className = 'copy-status';
    status.setAttribute('role', 'status');
    button.after(status);
  }
  try {
    await navigator.clipboard.writeText(text);
    status.textContent = ` ${t('js.copy.done')}`;
  } catch {
    status.textContent = ` ${t('js.copy.failed')}`;
  }
});
