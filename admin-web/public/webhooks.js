// The Webhooks page: endpoints (GET /api/v1/webhooks), registering one (its
// secret shown this once with a Copy button) or changing it (PATCH), test,
// enable/disable, resume, delete (after a confirmation), and an endpoint's
// deliveries with "Send again". Calls go through api.js: the web session's
// cookie and CSRF token, the server's words on failure.
import { api } from './api.js';
import { t } from './i18n.js';
import { ask } from './ui.js';
import { formatter } from './format.js';
import { actionButton as button, cell, codeList, fillTable, headingOf, notices, rowHeader, scriptReady, showOnce } from './list-ui.js';

const root = document.documentElement;
const fmt = formatter(root.lang || 'en', root.dataset.timeZone || Intl.DateTimeFormat().resolvedOptions().timeZone);

function start(page) {
  const form = page.querySelector('#webhook-form');
  const title = page.querySelector('#webhook-form-title');
  const save = page.querySelector('#webhook-save');
  const cancel = page.querySelector('#webhook-cancel');
  const fresh = page.querySelector('#webhook-new');
  const status = page.querySelector('#webhook-status');
  const error = page.querySelector('#webhook-error');
  const table = page.querySelector('#webhook-table');
  const rows = page.querySelector('#webhook-rows');
  const none = page.querySelector('#webhook-none');
  const log = page.querySelector('#webhook-log');
  const heading = headingOf(table);
  let editing = null;
  let shown = null;

  const { say, fail, clear } = notices({ status, error, failedKey: 'js.webhooks.failed', focusOnSay: true });
  const act = (fn) => async (b) => {
    try {
      await fn(b);
    } catch (err) {
      fail(err);
    }
  };

  function stateOf(e) {
    const lines = [];
    if (!e.enabled) lines.push(t('js.webhooks.disabled'));
    if (e.health === 'failing') lines.push(t('js.webhooks.failing', { time: fmt.time(e.failingSince), reason: e.failingReason ?? '' }));
    else if (e.enabled) lines.push(t('js.webhooks.ok'));
    lines.push(t('js.webhooks.pending', { n: e.pending }));
    if (e.overflowed > 0) lines.push(t('js.webhooks.overflowed', { n: e.overflowed, time: fmt.time(e.overflowSince) }));
    return lines.join(' · ');
  }

  function render(endpoints) {
    fillTable({ table, rows, none }, endpoints, (e) => {
      const row = document.createElement('tr');
      row.dataset.webhookId = String(e.id);
      if (e.health === 'failing') row.dataset.failing = 'true';
      rowHeader(row, heading('url'), e.description ? `${e.url} (${e.description})` : e.url);
      cell(row, heading('events'), codeList(e.events));
      cell(row, heading('state'), stateOf(e)).className = 'webhook-state';
      const actions = cell(row, heading('actions'), '');
      const p = { url: e.url };
      actions.append(
        button(t('js.webhooks.test'), t('js.webhooks.testLabel', p), act(async () => {
          await api(`/api/v1/webhooks/${e.id}/test`, 'POST');
          say(t('js.webhooks.tested', p));
          await showLog(e);
        })),
        ' ',
        button(t('js.webhooks.deliveries'), t('js.webhooks.deliveriesLabel', p), act(() => showLog(e, true))),
        ' ',
        button(t('js.webhooks.edit'), t('js.webhooks.editLabel', p), () => edit(e)),
        ' ',
        e.enabled
          ? button(t('js.webhooks.disable'), t('js.webhooks.disableLabel', p), act(() => patch(e, { enabled: false })))
          : button(t('js.webhooks.enable'), t('js.webhooks.enableLabel', p), act(() => patch(e, { enabled: true }))),
      );
      if (e.health === 'failing' || e.overflowed > 0) {
        actions.append(' ', button(t('js.webhooks.resume'), t('js.webhooks.resumeLabel', p), act(async () => {
          await api(`/api/v1/webhooks/${e.id}/resume`, 'POST');
          say(t('js.webhooks.resumed', p));
          await refresh();
        })));
      }
      actions.append(' ', button(t('js.webhooks.delete'), t('js.webhooks.deleteLabel', p), act(async (b) => {
        if (!(await ask(t('js.webhooks.deleteConfirm', p), t('js.webhooks.delete')))) return b.focus();
        await api(`/api/v1/webhooks/${e.id}`, 'DELETE');
        if (shown === e.id) log.hidden = true;
        say(t('js.webhooks.deleted', p));
        await refresh();
      }), 'small danger'));
      return row;
    });
  }

  async function patch(e, body) {
    await api(`/api/v1/webhooks/${e.id}`, 'PATCH', body);
    say(t('js.webhooks.saved', { url: e.url }));
    await refresh();
  }

  async function showLog(e, focus = false) {
    const { deliveries } = await api(`/api/v1/webhooks/${e.id}/deliveries`);
    shown = e.id;
    const dt = log.querySelector('#delivery-table');
    const column = headingOf(dt);
    log.querySelector('#delivery-caption').textContent = t('js.webhooks.logOf', { url: e.url });
    fillTable({ table: dt, rows: log.querySelector('#delivery-rows'), none: log.querySelector('#webhook-log-none') }, deliveries, (d) => {
      const row = document.createElement('tr');
      row.dataset.deliveryId = String(d.id);
      row.dataset.state = d.state;
      rowHeader(row, column('event'), d.event);
      cell(row, column('created'), fmt.time(d.createdAt));
      const state = d.state === 'delivered' ? t('js.webhooks.state.delivered', { time: fmt.time(d.deliveredAt) })
        : d.state === 'failed' ? t('js.webhooks.state.failed')
          : d.attempts > 0 ? t('js.webhooks.state.retrying', { time: fmt.time(d.nextAttemptAt) }) : t('js.webhooks.state.pending');
      cell(row, column('state'), state).className = 'delivery-state';
      cell(row, column('attempts'), String(d.attempts));
      cell(row, column('response'), d.responseStatus === null ? t('js.webhooks.noAnswer') : String(d.responseStatus));
      cell(row, column('error'), d.lastError ?? '');
      const actions = cell(row, column('actions'), '');
      actions.append(button(t('js.webhooks.resend'), t('js.webhooks.resendLabel', { id: d.id }), act(async () => {
        await api(`/api/v1/webhooks/${e.id}/deliveries/${d.id}/resend`, 'POST');
        say(t('js.webhooks.resent', { id: d.id }));
        await showLog(e);
      })));
      return row;
    });
    log.hidden = false;
    if (focus) log.focus();
  }

  function edit(e) {
    editing = e;
    form.elements.url.value = e.url;
    form.elements.description.value = e.description;
    form.elements.secret.value = '';
    for (const box of form.querySelectorAll('input[name="events"]')) box.checked = e.events.includes(box.value);
    title.textContent = title.dataset.edit;
    save.textContent = save.dataset.edit;
    cancel.hidden = false;
    form.elements.url.focus();
  }

  function stopEditing() {
    editing = null;
    form.reset();
    title.textContent = title.dataset.new;
    save.textContent = save.dataset.new;
    cancel.hidden = true;
  }
  cancel.addEventListener('click', stopEditing);

  const refresh = () => api('/api/v1/webhooks').then(({ endpoints }) => render(endpoints), fail);

  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    const data = new FormData(form);
    const events = data.getAll('events').map(String);
    if (events.length === 0) return fail(new Error(t('js.webhooks.chooseEvent')));
    const url = String(data.get('url') ?? '').trim();
    const secret = String(data.get('secret') ?? '').trim();
    const body = { url, events, description: String(data.get('description') ?? '').trim(), ...(secret ? { secret } : {}) };
    try {
      if (editing) {
        await api(`/api/v1/webhooks/${editing.id}`, 'PATCH', body);
        stopEditing();
        say(t('js.webhooks.saved', { url }));
      } else {
        const made = await api('/api/v1/webhooks', 'POST', body);
        clear();
        showOnce({ box: fresh, text: fresh.querySelector('#webhook-new-text'), secret: fresh.querySelector('#webhook-secret-once'), form }, t('js.webhooks.shownOnce', { url }), made.secret);
        fresh.focus();
      }
      await refresh();
    } catch (err) {
      fail(err);
    }
  });

  scriptReady(page, document.getElementById('webhook-needs-script'));
  void refresh();
}

const page = document.getElementById('webhooks');
if (page) start(page);
