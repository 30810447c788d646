// What the pages whose lists their script draws share (the profile's API
// tokens, the Webhooks page): table cells labelled by their column's heading
// (the phone layout shows each cell's data-label), names as code, action
// buttons named for the row, the table or its "none" line, a status line and
// an error box in the server's words, and a secret shown this once.
import { t } from './i18n.js';

/** A table's column headings by their data-key, for the cells' data-label. */
export function headingOf(table) {
  return (key) => table.querySelector(`th[data-key="${key}"]`)?.textContent ?? '';
}

/** A data cell: text, or a node. */
export function cell(row, label, content) {
  const td = document.createElement('td');
  td.dataset.label = label;
  if (content instanceof Node) td.append(content);
  else td.textContent = content;
  row.append(td);
  return td;
}

/** The row's header cell (its name), as text. */
export function rowHeader(row, label, text) {
  const th = document.createElement('th');
  th.scope = 'row';
  th.dataset.label = label;
  th.textContent = text;
  row.append(th);
  return th;
}

/** Names (scopes, events) as code, space separated. */
export function codeList(names) {
  const span = document.createElement('span');
  for (const name of names) {
    const code = document.createElement('code');
    code.textContent = name;
    span.append(code, ' ');
  }
  return span;
}

/** A button whose accessible name says which row it acts on (`label`). */
export function actionButton(text, label, onClick, kind = 'small') {
  const b = document.createElement('button');
  b.type = 'button';
  b.className = kind;
  b.textContent = text;
  b.setAttribute('aria-label', label);
  b.addEventListener('click', () => onClick(b));
  return b;
}

/** Draws one row per item into `rows`; the table is hidden and `none` shown when there is none. */
export function fillTable({ table, rows, none }, items, rowOf) {
  rows.replaceChildren(...items.map(rowOf));
  table.hidden = items.length === 0;
  none.hidden = items.length !== 0;
}

/**
 * A section's status line and error box: `say` announces (and moves the
 * focus there when `focusOnSay`), `fail` shows an error's words in the
 * catalogue's `failedKey` sentence ("That did not work: {message}").
 */
export function notices({ status, error, failedKey, focusOnSay = false }) {
  return {
    say(text) {
      error.hidden = true;
      status.textContent = text;
      if (focusOnSay) status.focus();
    },
    fail(err) {
      error.textContent = t(failedKey, { message: err.message });
      error.hidden = false;
    },
    clear() {
      error.hidden = true;
      status.textContent = '';
    },
  };
}

/** A secret the server shows this once: its words and the secret in `box` (with its Copy button), the form emptied. */
export function showOnce({ box, text, secret, form }, words, value) {
  text.textContent = words;
  secret.textContent = value;
  box.hidden = false;
  form.reset();
}

/** Shows what the script draws and removes the "needs JavaScript" notice. */
export function scriptReady(shown, notice) {
  shown.hidden = false;
  notice?.remove();
}
