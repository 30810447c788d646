// Participants in words (issue 26): one person's line in a list ("Luis ·
// view only · connected · invited by Ana") and what a `participant` event
// says ("Ana invited Luis (view only).", "The user stopped Luis."). Shared by
// the participants panel (viewer, ticket page) and the Live sessions page.
import { t } from './i18n.js';

export const OPEN_STATES = new Set(['invited', 'waiting_user', 'connected']);

export const modeText = (mode) => t(`js.participants.mode.${mode}`);

/** The facts after a participant's name: role or mode, state, who invited. */
export function participantFacts(p) {
  const facts = [];
  if (p.holder) facts.push(t('js.participants.holder'));
  else {
    facts.push(modeText(p.mode));
    if (p.kind === 'supervise' || p.kind === 'transfer') facts.push(t(`js.participants.kind.${p.kind}`));
  }
  if (!p.holder || p.state !== 'connected') facts.push(t(`js.participants.state.${p.state}`));
  if (p.controlRequested) facts.push(t('js.participants.controlRequested'));
  if (p.invitedBy && !p.holder) facts.push(t('js.participants.invitedBy', { name: p.invitedBy.displayName }));
  return facts.join(' · ');
}

/** What a `participant` event says to everyone in the session. */
export function eventText({ action, participant: p }) {
  const name = p.displayName;
  const by = p.invitedBy?.displayName ?? '';
  if (action === 'transferred') return t(p.state === 'connected' ? 'js.participants.event.transferred' : 'js.participants.event.transferring', { by, name });
  if (action === 'invited' && p.kind === 'transfer') return t('js.participants.event.transferring', { by, name });
  if (action === 'invited' || action === 'joined') return t(`js.participants.event.${action}`, { by, name, mode: modeText(p.mode) });
  return t(`js.participants.event.${action}`, { name });
}
