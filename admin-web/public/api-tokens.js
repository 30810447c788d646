// The profile page's API tokens: the list (GET /api/v1/tokens), a new token
// (POST, its secret shown this once with a Copy button) and revocation
// (DELETE, after a confirmation). Calls go through api.js: the web session's
// cookie and CSRF token, the server's words on failure.
import { api } from './api.js';
import { fmt, t } from './i18n.js';
import { ask } from './ui.js';

/** One format in every language, as the pages print times (page-helpers' timeText). */
const timeText = (ms) => (ms === null ? '' : fmt.time(ms));

function stateText(token, now) {
  if (token.revokedAt !== null) return t('js.tokens.revoked', { time: timeText(token.revokedAt) });
  return token.expiresAt <= now ? t('js.tokens.expired') : t('js.tokens.active');
}

function cell(row, label, content) {
  const td = document.createElement('td');
  td.dataset.label = label;
  if (content instanceof Node) td.append(content);
  else td.textContent = content;
  row.append(td);
  return td;
}

function start(section) {
  const form = section.querySelector('#token-form');
  const rows = section.querySelector('#token-rows');
  const table = section.querySelector('#token-table');
  const none = section.querySelector('#token-none');
  const fresh = section.querySelector('#token-new');
  const status = section.querySelector('#token-status');
  const error = section.querySelector('#token-error');
  const heading = (key) => table.querySelector(`th[data-key="${key}"]`)?.textContent ?? '';

  const say = (text) => {
    error.hidden = true;
    status.textContent = text;
  };
  const fail = (err) => {
    error.textContent = t('js.tokens.failed', { message: err.message });
    error.hidden = false;
  };

  function render(tokens) {
    const now = Date.now();
    rows.replaceChildren();
    for (const token of tokens) {
      const row = document.createElement('tr');
      row.dataset.tokenId = String(token.id);
      const name = document.createElement('th');
      name.scope = 'row';
      name.dataset.label = heading('name');
      name.textContent = token.name;
      row.append(name);
      const scopes = document.createElement('span');
      for (const scope of token.scopes) {
        const code = document.createElement('code');
        code.textContent = scope;
        scopes.append(code, ' ');
      }
      cell(row, heading('scopes'), scopes);
      cell(row, heading('created'), timeText(token.createdAt));
      cell(row, heading('expires'), timeText(token.expiresAt));
      cell(row, heading('lastUsed'), token.lastUsedAt === null ? t('js.tokens.never') : timeText(token.lastUsedAt));
      cell(row, heading('state'), stateText(token, now)).className = 'token-state';
      const actions = cell(row, heading('actions'), '');
      if (token.revokedAt === null) {
        const revoke = document.createElement('button');
        revoke.type = 'button';
        revoke.className = 'small danger';
        revoke.textContent = t('js.tokens.revoke');
        revoke.setAttribute('aria-label', t('js.tokens.revokeLabel', { name: token.name }));
        revoke.addEventListener('click', () => revokeToken(token, revoke));
        actions.append(revoke);
      }
      rows.append(row);
    }
    table.hidden = tokens.length === 0;
    none.hidden = tokens.length !== 0;
  }

  const refresh = () => api('/api/v1/tokens').then(({ tokens }) => render(tokens), fail);

  async function revokeToken(token, button) {
    if (!(await ask(t('js.tokens.revokeConfirm', { name: token.name }), t('js.tokens.revoke')))) return button.focus();
    try {
      await api(`/api/v1/tokens/${token.id}`, 'DELETE');
      say(t('js.tokens.revokedNow', { name: token.name }));
      await refresh();
      status.focus();
    } catch (err) {
      fail(err);
    }
  }

  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    const data = new FormData(form);
    const scopes = data.getAll('scopes').map(String);
    if (scopes.length === 0) return fail(new Error(t('js.tokens.chooseScope')));
    const name = String(data.get('name') ?? '').trim();
    try {
      const made = await api('/api/v1/tokens', 'POST', { name, scopes, expiresInDays: Number(data.get('expiresInDays')) });
      error.hidden = true;
      status.textContent = '';
      fresh.querySelector('#token-new-text').textContent = t('js.tokens.shownOnce', { name });
      fresh.querySelector('#token-secret').textContent = made.token;
      fresh.hidden = false;
      form.reset();
      await refresh();
      fresh.focus();
    } catch (err) {
      fail(err);
    }
  });

  form.hidden = false;
  section.querySelector('#token-needs-script')?.remove();
  void refresh();
}

const section = document.getElementById('api-tokens');
if (section) start(section);
