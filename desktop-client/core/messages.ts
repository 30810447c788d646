// The desktop client's words (one catalogue for the window and the terminal),
// English first, and the sentence for a flow snapshot.
import en from './messages.en.json' with { type: 'json' };
import type { FlowSnapshot } from './help-session.ts';

export type Messages = Record<string, string>;
export const messages: Messages = en;

export function format(key: string, params: Record<string, string | number | null> = {}): string {
  const template = messages[key] ?? key;
  return template.replace(/\{(\w+)\}/g, (m, name: string) => (params[name] === undefined || params[name] === null ? m : String(params[name])));
}

export function reasonText(reason: string | null): string {
  return messages[`reason.${reason}`] ?? messages['reason.UNEXPECTED']!;
}

/** A snapshot as the window receives it: with its sentence, worded here once. */
export type WindowState = FlowSnapshot & { text: string };

export function windowState(s: FlowSnapshot): WindowState {
  return { ...s, text: describeSnapshot(s) };
}

/** The one sentence that tells the user where things stand. */
export function describeSnapshot(s: FlowSnapshot): string {
  const params = { ticketId: s.ticketId, technician: s.technicianName ?? 'The technician' };
  if (s.state === 'idle') return s.error ? format('error.prefix', { message: s.error.message }) : format('request.heading');
  if (s.state === 'ended') return format('state.ended', { reason: reasonText(s.error?.code ?? s.endReason) });
  if (s.state === 'in_session' && s.viewOnly) return format('state.in_session.viewOnly', params);
  // Arming again while the server or the repeater is away (a restart): said so, not "starting".
  if (s.state === 'connecting' && s.error) return format('state.reconnecting', params);
  return format(`state.${s.state}`, params);
}
