// Invitations, live (issue 26), on the queue and My tickets: a technician a
// colleague invites sees it at once — who invites, the ticket, the mode —
// with Accept and Decline; a hand-over to them or a watch they asked for is
// shown waiting for the user; once the user allows, an "Open viewer" link.
// The page brings the ones open when it loaded (#invitations-data); the
// staff stream's `participant` events for this technician keep them current;
// the list survives live.js swapping the page's parts.
import { events } from './events.js';
import { api } from './api.js';
import { t } from './i18n.js';

const me = Number(document.body.dataset.me);
/** participant id → the last event about it (its view and what happened). */
const known = new Map();
/** Words said for one invitation after an answer here (declined), until the next event. */
const local = new Map();

function section() {
  return document.getElementById('invitations');
}

function textOf({ action, participant: p }) {
  const id = p.ticketId;
  if (local.has(p.id)) return local.get(p.id);
  if (p.state === 'invited' && p.kind === 'invite') return t('js.invite.received', { by: p.invitedBy?.displayName ?? '', id, mode: t(`js.invite.modeVerb.${p.mode}`) });
  if (p.state === 'waiting_user') return p.kind === 'transfer' ? t('js.invite.transfer', { by: p.invitedBy?.displayName ?? '', id }) : p.kind === 'supervise' ? t('js.invite.supervise', { id }) : t('js.invite.waiting', { id });
  if (p.state === 'connected') return t('js.invite.allowed', { id });
  if (p.state === 'refused') return t('js.invite.refused', { id });
  if (p.state === 'cancelled') return t('js.invite.cancelled', { id });
  if (p.state === 'declined') return t('js.invite.declined', { id });
  return action === 'promoted' ? t('js.invite.allowed', { id }) : t('js.invite.over', { id });
}

function button(label, aria, onClick, className = 'small') {
  const b = Object.assign(document.createElement('button'), { type: 'button', className, textContent: label });
  b.setAttribute('aria-label', aria);
  b.addEventListener('click', onClick);
  return b;
}

function item(event) {
  const p = event.participant;
  const li = document.createElement('li');
  li.dataset.invitationId = String(p.id);
  li.dataset.ticketId = String(p.ticketId);
  li.dataset.state = p.state;
  li.dataset.mode = p.mode;
  const words = document.createElement('span');
  words.className = 'invitation-text';
  words.textContent = textOf(event);
  li.append(words);
  const actions = document.createElement('span');
  actions.className = 'invitation-actions';
  if (p.state === 'invited' && !local.has(p.id)) {
    actions.append(
      button(t('js.invite.accept'), t('js.invite.acceptLabel', { id: p.ticketId }), () => answer(p, 'accept'), 'primary small'),
      button(t('js.invite.decline'), t('js.invite.declineLabel', { id: p.ticketId }), () => answer(p, 'decline')),
    );
  } else if (p.state === 'connected') {
    const link = Object.assign(document.createElement('a'), { href: `/tech/${p.ticketId}`, className: 'button primary small open-viewer', textContent: t('js.invite.openViewer') });
    link.setAttribute('aria-label', t('js.invite.openViewerLabel', { id: p.ticketId }));
    actions.append(link);
  } else if (p.state !== 'waiting_user') {
    actions.append(button(t('js.invite.dismiss'), `${t('js.invite.dismiss')}: #${p.ticketId}`, () => {
      known.delete(p.id);
      render();
    }));
  }
  li.append(' ', actions);
  return li;
}

function render() {
  const box = section();
  if (!box) return;
  const list = box.querySelector('.invitation-list');
  list.replaceChildren(...[...known.values()].map(item));
  box.hidden = known.size === 0;
}

async function answer(p, verb) {
  const status = section()?.querySelector('.invitation-status');
  try {
    await api(`/api/v1/invitations/${p.id}/${verb}`, 'POST');
    if (verb === 'decline') local.set(p.id, t('js.invite.declined', { id: p.ticketId }));
  } catch (err) {
    // A refusal is shown, not only announced.
    if (status) {
      status.classList.remove('visually-hidden');
      status.textContent = t('js.participants.failed', { message: err.message });
    }
  }
  render();
}

events.addEventListener('participant', (event) => {
  const data = JSON.parse(event.data);
  const p = data.participant;
  if (p.technicianId !== me || p.holder || p.id === null) return;
  local.delete(p.id);
  known.set(p.id, { ...data, participant: { ...p, ticketId: data.ticketId } });
  render();
  // Said to screen readers (the list shows it already).
  const status = section()?.querySelector('.invitation-status');
  if (status) {
    status.classList.add('visually-hidden');
    status.textContent = textOf(known.get(p.id));
  }
});

for (const open of JSON.parse(document.getElementById('invitations-data')?.textContent ?? '[]')) known.set(open.participant.id, open);
// live.js swaps in a fresh copy of the page's parts: the invitations are drawn again into it.
document.addEventListener('hd:refreshed', render);
render();
