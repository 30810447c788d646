// The page's words for its scripts: the server puts the catalogue of the
// reader's language (keys under "js." and "reason.") into the page as JSON.
import { formatter } from './format.js';

const element = document.getElementById('i18n');
const words = element ? JSON.parse(element.textContent) : {};

export const lang = document.documentElement.lang || 'en';

/** Dates and numbers in the page's language and the reader's zone (the one the server drew the page in). */
export const fmt = formatter(lang, document.documentElement.dataset.timeZone || Intl.DateTimeFormat().resolvedOptions().timeZone);

/** Looks up a key and fills {name} placeholders. */
export function t(key, params = {}) {
  const template = words[key] ?? key;
  return template.replace(/\{(\w+)\}/g, (m, name) => (params[name] == null ? m : String(params[name])));
}

/** The words of a session end reason (close-code identifier). */
export function reasonText(code, params = {}) {
  return t(`reason.${code}` in words ? `reason.${code}` : 'reason.NETWORK', params);
}

/** "3 min", "2 h 5 min", "4 d". */
export function ageText(sinceMs, nowMs = Date.now()) {
  const minutes = Math.max(0, Math.floor((nowMs - sinceMs) / 60000));
  if (minutes < 1) return t('js.age.justNow');
  if (minutes < 60) return t('js.age.minutes', { n: minutes });
  if (minutes < 2880) return t('js.age.hours', { h: Math.floor(minutes / 60), m: minutes % 60 });
  return t('js.age.days', { n: Math.floor(minutes / 1440) });
}
