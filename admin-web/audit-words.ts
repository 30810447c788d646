// Audit events in words: who (with the right kind: administrator, technician,
// user, system) and a sentence from the catalogue naming the affected
// technician, filled from the event's details. Pages show these, never JSON.
import type { AuditEvent } from '../server/audit/store.ts';
import { en, type MessageKey } from './messages/en.ts';
import type { Translate } from './messages/index.ts';
import { durationText, personName } from './page-helpers.ts';

export interface AuditLine {
  who: string;
  what: string;
}

/** What the page knows about the technicians: names and roles by id. */
export type People = Map<number, { displayName: string; role: 'admin' | 'technician' }>;

export function describeAudit(e: AuditEvent, t: Translate, people: People, bytesText: (n: number) => string): AuditLine {
  const d = e.detail ?? {};
  const str = (k: string) => (typeof d[k] === 'string' || typeof d[k] === 'number' ? String(d[k]) : '');
  const affected = e.technicianId === null ? null : people.get(e.technicianId);
  const technician = affected ? personName(affected.displayName, t) : str('declinedTechnician') || t('audit.someone');
  const reason = (code: string) => (code ? t(reasonKey(code)) : t('reason.UNKNOWN'));
  const params: Record<string, string | number> = {
    technician,
    hostname: str('hostname'),
    os: str('os'),
    name: str('name'),
    url: str('url'),
    scopes: str('scopes').split(' ').join(', '),
    size: typeof d.size === 'number' ? bytesText(d.size) : typeof d.bytes === 'number' ? bytesText(d.bytes) : '',
    duration: typeof d.durationMs === 'number' ? durationText(d.durationMs, t) : '',
    reason: reason(str('reason')),
    characters: str('characters'),
    retentionDays: str('retentionDays'),
    problem: str('problem') || t('reason.UNKNOWN'),
    failures: str('failures'),
    minutes: typeof d.lockedForMs === 'number' ? Math.ceil(d.lockedForMs / 60_000) : '',
    role: str('role') === 'admin' ? t('role.admin') : t('role.technician'),
    why: '',
    action: e.action,
  };
  let key = `audit.do.${e.action}`;
  if (e.action === 'ticket.decline' && d.dontAskAgain === true) key = 'audit.do.ticket.declineForGood';
  if (e.action === 'ticket.approve' && d.viewOnly === true) key = 'audit.do.ticket.approveViewOnly';
  if (e.action === 'login.failed') params.why = t(loginWhy(str('reason')));
  // How someone signed in (issue 27): a local account's password (with its second factor), the OpenID provider's name, LDAP.
  if ((e.action === 'login.succeeded' || e.action === 'login.failed') && str('method')) {
    const second = str('secondFactor');
    params.method = str('method') === 'local' ? t(second === 'totp' ? 'audit.method.passwordTotp' : second === 'recovery' ? 'audit.method.passwordRecovery' : 'audit.method.password') : str('provider') || str('method');
    key = e.action === 'login.succeeded' ? 'audit.do.login.succeededVia' : str('method') === 'local' ? key : 'audit.do.login.failedVia';
  }
  // Participants (issue 26): the mode in words, a hand-over's note, a watch asked or told.
  if (e.action.startsWith('participant.')) {
    params.mode = t(str('mode') === 'view' ? 'audit.mode.view' : 'audit.mode.control');
    params.note = str('note') || t('audit.noNote');
    if (e.action === 'participant.watch' && d.watch === 'notify') key = 'audit.do.participant.watchNotify';
  }
  if ((e.action === 'ticket.requeue' || e.action === 'ticket.release') && d.handedOver === true) {
    key = 'audit.do.ticket.handedToQueue';
    params.note = str('note') || t('audit.noNote');
  }
  // Teams and topics (issue 29): a move's teams and note, a wait past its target.
  if (e.action === 'ticket.moved') {
    params.fromTeam = str('fromTeam') || t('audit.everyoneQueue');
    params.toTeam = str('toTeam') || t('audit.everyoneQueue');
    params.note = str('note') || t('audit.noNote');
  }
  if (e.action === 'ticket.waiting_too_long') {
    params.target = typeof d.targetMs === 'number' ? durationText(d.targetMs, t) : '';
    params.waited = typeof d.waitedMs === 'number' ? durationText(d.waitedMs, t) : '';
  }
  // Issue 29: a survey's rating, a canned reply's title.
  if (e.action === 'ticket.survey') params.rating = str('rating');
  if (e.action.startsWith('canned_reply.')) params.title = str('title');
  if (e.action === 'recording.purged') params.why = t(str('reason') === 'size_cap' ? 'recording.purged.size_cap' : 'recording.purged.retention');
  const what = key in en ? t(key as MessageKey, params) : t('audit.do.unknown', params);
  return { who: actorText(e, t, people), what };
}

function actorText(e: AuditEvent, t: Translate, people: People): string {
  if (e.actorType === 'technician') {
    const person = e.actorId === null ? undefined : people.get(e.actorId);
    const kind = t(person?.role === 'admin' ? 'role.admin' : 'role.technician');
    // The display name, as everywhere else on the page (the row keeps the username it was done under).
    const name = person ? personName(person.displayName, t) : e.actorName;
    // Done with an API token: "Ana (technician) via token CI bot".
    if (e.viaToken) return t('audit.viaToken', { name, kind, token: e.viaToken.name });
    return t('audit.actorKind', { name, kind });
  }
  if (e.actorType === 'requester') return t('audit.actorKind', { name: e.actorName, kind: t('actor.requester') });
  // A failed login is logged under the username tried.
  if (e.action.startsWith('login.')) return e.actorName;
  // The system acts under a name (retention, repeater, expiry), said in words; an identity provider's name is its own.
  const key = `actor.name.${e.actorName}`;
  const name = key in en ? t(key as MessageKey) : e.actorName;
  return name === t('actor.name.system') ? name : t('audit.actorKind', { name, kind: t('actor.system') });
}


const loginReasons: Record<string, MessageKey> = {
  wrong_password: 'audit.loginWhy.password',
  wrong_code: 'audit.loginWhy.code',
  code_reused: 'audit.loginWhy.code_reused',
  unknown_user: 'audit.loginWhy.unknown_user',
  disabled: 'audit.loginWhy.disabled',
  locked: 'audit.loginWhy.locked',
  no_account: 'audit.loginWhy.no_account',
  local_login_off: 'audit.loginWhy.local_login_off',
  not_in_group: 'audit.loginWhy.not_in_group',
  directory_down: 'audit.loginWhy.directory_down',
  provider_down: 'audit.loginWhy.provider_down',
  sso_refused: 'audit.loginWhy.sso_refused',
  username_taken: 'audit.loginWhy.username_taken',
};
function loginWhy(reason: string): MessageKey {
  return loginReasons[reason] ?? 'audit.loginWhy.other';
}

/** The catalogue key of a session end reason (or of a ticket's end reason). */
export function reasonKey(code: string): MessageKey {
  return `reason.${code}` as MessageKey;
}

/** Who ended a remote session, in words, from how it ended. */
export function endedByText(s: { endReason: string | null; endedBy: string | null }, ticket: { requesterName: string; technician: { displayName: string } | null }, t: Translate): string {
  if (s.endReason === null) return '';
  switch (s.endReason) {
    case 'ENDED_BY_USER':
      return t('session.by.user', { name: ticket.requesterName });
    case 'ENDED_BY_TECHNICIAN':
      return t('session.by.technician', { name: ticket.technician?.displayName ?? t('audit.someone') });
    case 'DESKTOP_LEFT':
    case 'DESKTOP_LOST':
      return t('session.by.desktop');
    case 'VIEWER_LEFT':
    case 'VIEWER_LOST':
      return t('session.by.viewer');
    default:
      return s.endedBy === 'desktop' ? t('session.by.desktop') : s.endedBy === 'viewer' ? t('session.by.viewer') : t('session.by.server');
  }
}
