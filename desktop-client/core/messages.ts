// The desktop client's words (one catalogue per language for the window and
// the terminal: English, Spanish, Simplified Chinese), and the sentence for a
// flow snapshot. The language is HELPDESK_LANG, else the system's
// (LC_ALL, LC_MESSAGES, LANG), else English; the Electron shell passes its
// locale with setLanguage(). The server is asked for errors in it too.
import en from './messages.en.json' with { type: 'json' };
import es from './messages.es.json' with { type: 'json' };
import zh from './messages.zh.json' with { type: 'json' };
import type { FlowSnapshot } from './help-session.ts';
import { holderLine, peopleOf, type PersonItem } from './participant-words.ts';

export type Messages = Record<string, string>;
export const catalogues: Record<'en' | 'es' | 'zh', Messages> = { en, es, zh };
export type Language = keyof typeof catalogues;

/** The language of a locale name ("es_ES.UTF-8", "zh-CN", "en-US"); null when we have none for it. */
export function languageOfLocale(locale: string | undefined | null): Language | null {
  const code = (locale ?? '').trim().toLowerCase().slice(0, 2);
  return code in catalogues ? (code as Language) : null;
}

/** The language from the environment: HELPDESK_LANG, then the system locale variables. */
export function languageFromEnv(env: Record<string, string | undefined>): Language {
  for (const name of ['HELPDESK_LANG', 'LC_ALL', 'LC_MESSAGES', 'LANG']) {
    const found = languageOfLocale(env[name]);
    if (found) return found;
    if (name === 'HELPDESK_LANG' && env[name]) break; // an explicit but unknown choice falls back to English
  }
  return 'en';
}

export let language: Language = 'en';
export let messages: Messages = catalogues.en;

/** Switches every later word to `lang` (the configured language at start, the Electron shell's locale, tests). */
export function setLanguage(lang: Language): void {
  language = lang;
  messages = catalogues[lang];
}

export function format(key: string, params: Record<string, string | number | null> = {}): string {
  const template = messages[key] ?? key;
  return template.replace(/\{(\w+)\}/g, (m, name: string) => (params[name] === undefined || params[name] === null ? m : String(params[name])));
}

export function reasonText(reason: string | null): string {
  return messages[`reason.${reason}`] ?? messages['reason.UNEXPECTED']!;
}

/**
 * A snapshot as the window receives it: with its sentence, worded here once;
 * the people in the session with their questions and lines (issue 26), and the
 * holder's own line while their main channel carries the session.
 */
export type WindowState = FlowSnapshot & { text: string; people: PersonItem[]; holder: string | null };

export function windowState(s: FlowSnapshot): WindowState {
  return { ...s, text: describeSnapshot(s), people: peopleOf(s), holder: holderLine(s) };
}

/** The one sentence that tells the user where things stand. */
export function describeSnapshot(s: FlowSnapshot): string {
  const params = { ticketId: s.ticketId, technician: s.technicianName ?? format('words.theTechnician') };
  if (s.state === 'idle') return s.error ? format('error.prefix', { message: s.error.message }) : format('request.heading');
  if (s.state === 'ended') return format('state.ended', { reason: reasonText(s.error?.code ?? s.endReason) });
  if (s.state === 'in_session' && s.viewOnly) return format('state.in_session.viewOnly', params);
  // Arming again while the server or the repeater is away (a restart): said so, not "starting".
  if (s.state === 'connecting' && s.error) return format('state.reconnecting', params);
  return format(`state.${s.state}`, params);
}
