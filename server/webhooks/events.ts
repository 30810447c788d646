// Which audit rows become which webhook events, and the body each carries.
// The audit row is the one place that sees every change, written in the
// change's transaction (server/audit/store.ts): the delivery rows go in with
// it. Each event takes the audit row's ticket, technician and actor and the
// listed fields of its detail — nothing else (a message's text, a file's
// contents stay in the helpdesk: the receiver reads them through the API).
import type { WebhookEvent, WebhookPayload } from '../../protocol/webhooks.ts';

interface Mapping {
  event: WebhookEvent;
  fields: readonly string[];
  /** Fixed fields (which of several audit actions it was). */
  extra?: Record<string, unknown>;
  /** The address the action came from is part of it (a login locked). */
  address?: true;
}

const moved = ['from', 'to'] as const;
const sessionEnd = ['reason', 'endedBy', 'durationMs', 'bytesDesktopToViewer', 'bytesViewerToDesktop', 'participantId'] as const;
const recording = ['recordingId', 'bytes', 'durationMs', 'sha256', 'problem'] as const;

/** Audit action → webhook event. */
const byAction: Readonly<Record<string, Mapping>> = {
  'ticket.created': { event: 'ticket.created', fields: ['hostname', 'os', 'recorded'] },
  'ticket.accept': { event: 'ticket.accepted', fields: moved },
  'ticket.decline': { event: 'ticket.declined', fields: [...moved, 'declinedTechnician', 'dontAskAgain'] },
  'ticket.approve': { event: 'ticket.approved', fields: [...moved, 'viewOnly'] },
  'ticket.start_session': { event: 'session.started', fields: [], extra: { resumed: false } },
  'session.resumed': { event: 'session.started', fields: [], extra: { resumed: true } },
  'session.ended': { event: 'session.ended', fields: sessionEnd },
  'ticket.end': { event: 'ticket.ended', fields: [...moved, 'reason'] },
  'ticket.resolve': { event: 'ticket.resolved', fields: moved },
  'ticket.cancel': { event: 'ticket.cancelled', fields: moved },
  'ticket.expire': { event: 'ticket.expired', fields: moved },
  'message.sent': { event: 'message.created', fields: ['messageId', 'from', 'characters'] },
  'file.sent': { event: 'file.uploaded', fields: ['fileId', 'direction', 'name', 'size', 'sha256'] },
  'recording.saved': { event: 'recording.ready', fields: recording, extra: { state: 'complete' } },
  'recording.incomplete': { event: 'recording.ready', fields: recording, extra: { state: 'incomplete' } },
  // Issue 29 (teams and topics, server/tickets/waiting.ts): a request still waiting past its topic's target wait, once.
  'ticket.waiting_too_long': { event: 'request.waiting_too_long', fields: ['topicId', 'teamId', 'targetMs', 'waitedMs'] },
  'technician.disabled': { event: 'technician.disabled', fields: [] },
  'login.locked': { event: 'login.locked', fields: ['reason', 'failures', 'lockedForMs'], address: true },
};

/** The webhook event an audit action becomes, or null. */
export function webhookEventOf(action: string): WebhookEvent | null {
  return byAction[action]?.event ?? null;
}

export interface AuditFacts {
  at: number;
  action: string;
  actor: { type: 'technician' | 'requester' | 'system'; name: string };
  remoteAddress: string;
  ticketId: number | null;
  technicianId: number | null;
  detail: Record<string, unknown> | undefined;
}

/** The body of the event an audit row makes (null: no event). */
export function payloadOf(facts: AuditFacts): WebhookPayload | null {
  const mapping = byAction[facts.action];
  if (!mapping) return null;
  const data: WebhookPayload['data'] = { ticketId: facts.ticketId, technicianId: facts.technicianId, actor: facts.actor, ...mapping.extra };
  for (const field of mapping.fields) {
    const value = facts.detail?.[field];
    if (value !== undefined) data[field] = value;
  }
  if (mapping.address) data.address = facts.remoteAddress;
  return { type: mapping.event, timestamp: new Date(facts.at).toISOString(), data };
}
