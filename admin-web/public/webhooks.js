// The Webhooks page: endpoints (GET /api/v1/webhooks), registering one (its
// secret shown this once with a Copy button) or changing it (PATCH), test,
// enable/disable, resume, delete (after a confirmation), and an endpoint's
// deliveries with "Send again". Calls go through api.js: the web session's
// cookie and CSRF token, the server's words on failure.
import { api } from './api.js';
import { t } from './i18n.js';
import { ask } from './ui.js';
import { formatter } from './format.js';

const root = document.documentElement;
const fmt = formatter(root.lang || 'en', root.dataset.timeZone || Intl.DateTimeFormat().resolvedOptions().timeZone);

function cell(row, label, content) {
  const td = document.createElement('td');
  td.dataset.label = label;
  if (content instanceof Node) td.append(content);
  else td.textContent = content;
  row.append(td);
  return td;
}

function button(text, label, onClick, kind = 'small') {
  const b = document.createElement('button');
  b.type = 'button';
  b.className = kind;
  b.textContent = text;
  b.setAttribute('aria-label', label);
  b.addEventListener('click', () => onClick(b));
  return b;
}

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
  const heading = (tbl, key) => tbl.querySelector(`th[data-key="${key}"]`)?.textContent ?? '';
  let editing = null;
  let shown = null;

  const say = (text) => {
    error.hidden = true;
    status.textContent = text;
    status.focus();
  };
  const fail = (err) => {
    error.textContent = t('js.webhooks.failed', { message: err.message });
    error.hidden = false;
  };
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
    rows.replaceChildren();
    for (const e of endpoints) {
      const row = document.createElement('tr');
      row.dataset.webhookId = String(e.id);
      if (e.health === 'failing') row.dataset.failing = 'true';
      const url = document.createElement('th');
      url.scope = 'row';
      url.dataset.label = heading(table, 'url');
      url.textContent = e.description ? `${e.url} (${e.description})` : e.url;
      row.append(url);
      const events = document.createElement('span');
      for (const name of e.events) {
        const code = document.createElement('code');
        code.textContent = name;
        events.append(code, ' ');
      }
      cell(row, heading(table, 'events'), events);
      cell(row, heading(table, 'state'), stateOf(e)).className = 'webhook-state';
      const actions = cell(row, heading(table, 'actions'), '');
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
      rows.append(row);
    }
    table.hidden = endpoints.length === 0;
    none.hidden = endpoints.length !== 0;
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
    log.querySelector('#delivery-caption').textContent = t('js.webhooks.logOf', { url: e.url });
    const body = log.querySelector('#delivery-rows');
    body.replaceChildren();
    for (const d of deliveries) {
      const row = document.createElement('tr');
      row.dataset.deliveryId = String(d.id);
      row.dataset.state = d.state;
      const event = document.createElement('th');
      event.scope = 'row';
      event.dataset.label = heading(dt, 'event');
      event.textContent = d.event;
      row.append(event);
      cell(row, heading(dt, 'created'), fmt.time(d.createdAt));
      const state = d.state === 'delivered' ? t('js.webhooks.state.delivered', { time: fmt.time(d.deliveredAt) })
        : d.state === 'failed' ? t('js.webhooks.state.failed')
          : d.attempts > 0 ? t('js.webhooks.state.retrying', { time: fmt.time(d.nextAttemptAt) }) : t('js.webhooks.state.pending');
      cell(row, heading(dt, 'state'), state).className = 'delivery-state';
      cell(row, heading(dt, 'attempts'), String(d.attempts));
      cell(row, heading(dt, 'response'), d.responseStatus === null ? t('js.webhooks.noAnswer') : String(d.responseStatus));
      cell(row, heading(dt, 'error'), d.lastError ?? '');
      const actions = cell(row, heading(dt, 'actions'), '');
      actions.append(button(t('js.webhooks.resend'), t('js.webhooks.resendLabel', { id: d.id }), act(async () => {
        await api(`/api/v1/webhooks/${e.id}/deliveries/${d.id}/resend`, 'POST');
        say(t('js.webhooks.resent', { id: d.id }));
        await showLog(e);
      })));
      body.append(row);
    }
    dt.hidden = deliveries.length === 0;
    log.querySelector('#webhook-log-none').hidden = deliveries.length !== 0;
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
        error.hidden = true;
        status.textContent = '';
        fresh.querySelector('#webhook-new-text').textContent = t('js.webhooks.shownOnce', { url });
        fresh.querySelector('#webhook-secret-once').textContent = made.secret;
        fresh.hidden = false;
        form.reset();
        fresh.focus();
      }
      await refresh();
    } catch (err) {
      fail(err);
    }
  });

  page.hidden = false;
  document.getElementById('webhook-needs-script')?.remove();
  void refresh();
}

const page = document.getElementById('webhooks');
if (page) start(page);
