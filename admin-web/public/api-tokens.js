// The profile page's API tokens: the list (GET /api/v1/tokens), a new token
// (POST, its secret shown this once with a Copy button) and revocation
// (DELETE, after a confirmation). Calls go through api.js: the web session's
// cookie and CSRF token, the server's words on failure.
import { api } from './api.js';
import { fmt, t } from './i18n.js';
import { ask } from './ui.js';
import { actionButton, cell, codeList, fillTable, headingOf, notices, rowHeader, scriptReady, showOnce } from './list-ui.js';

/** One format in every language, as the pages print times (page-helpers' timeText). */
const timeText = (ms) => (ms === null ? '' : fmt.time(ms));

function stateText(token, now) {
  if (token.revokedAt !== null) return t('js.tokens.revoked', { time: timeText(token.revokedAt) });
  return token.expiresAt <= now ? t('js.tokens.expired') : t('js.tokens.active');
}

function start(section) {
  const form = section.querySelector('#token-form');
  const rows = section.querySelector('#token-rows');
  const table = section.querySelector('#token-table');
  const none = section.querySelector('#token-none');
  const fresh = section.querySelector('#token-new');
  const status = section.querySelector('#token-status');
  const error = section.querySelector('#token-error');
  const heading = headingOf(table);
  const { say, fail, clear } = notices({ status, error, failedKey: 'js.tokens.failed' });

  function render(tokens) {
    const now = Date.now();
    fillTable({ table, rows, none }, tokens, (token) => {
      const row = document.createElement('tr');
      row.dataset.tokenId = String(token.id);
      rowHeader(row, heading('name'), token.name);
      cell(row, heading('scopes'), codeList(token.scopes));
      cell(row, heading('created'), timeText(token.createdAt));
      cell(row, heading('expires'), timeText(token.expiresAt));
      cell(row, heading('lastUsed'), token.lastUsedAt === null ? t('js.tokens.never') : timeText(token.lastUsedAt));
      cell(row, heading('state'), stateText(token, now)).className = 'token-state';
      const actions = cell(row, heading('actions'), '');
      if (token.revokedAt === null) actions.append(actionButton(t('js.tokens.revoke'), t('js.tokens.revokeLabel', { name: token.name }), (b) => revokeToken(token, b), 'small danger'));
      return row;
    });
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
      clear();
      showOnce({ box: fresh, text: fresh.querySelector('#token-new-text'), secret: fresh.querySelector('#token-secret'), form }, t('js.tokens.shownOnce', { name }), made.token);
      await refresh();
      fresh.focus();
    } catch (err) {
      fail(err);
    }
  });

  scriptReady(form, section.querySelector('#token-needs-script'));
  void refresh();
}

const section = document.getElementById('api-tokens');
if (section) start(section);
