// The web's languages: English, Spanish and Simplified Chinese. Each catalogue
// is a typed object with every key of the English one (the compiler checks it;
// pages.test.ts checks placeholders too). A page's language is the
// technician's choice (profile), else the browser's Accept-Language, else
// English. Plurals are avoided by wording ("Failed logins: 3"); times are one
// format in every language (page-helpers' timeText).
import type { Request } from 'express';
import { en, type MessageKey } from './en.ts';
import { es } from './es.ts';
import { zh } from './zh.ts';

export const languages = ['en', 'es', 'zh'] as const;
export type Language = (typeof languages)[number];
export type Catalogue = Record<MessageKey, string>;
export const catalogues: Record<Language, Catalogue> = { en, es, zh };
/** Each language named in itself, for the chooser. */
export const languageNames: Record<Language, string> = { en: 'English', es: 'Español', zh: '简体中文' };
/** The `lang` attribute of a page. */
export const htmlLang: Record<Language, string> = { en: 'en', es: 'es', zh: 'zh-CN' };

export type Params = Record<string, string | number>;
export type Translate = (key: MessageKey, params?: Params) => string;

export function isLanguage(value: unknown): value is Language {
  return typeof value === 'string' && (languages as readonly string[]).includes(value);
}

export function fill(template: string, params: Params): string {
  return template.replace(/\{(\w+)\}/g, (m, name: string) => (params[name] === undefined ? m : String(params[name])));
}

export function translator(lang: Language): Translate {
  const catalogue = catalogues[lang];
  return (key, params = {}) => fill(catalogue[key] ?? en[key] ?? key, params);
}

/** The technician's language, else the first of the browser's we have, else English. */
export function languageOf(req: Request): Language {
  const chosen = req.user?.language;
  if (isLanguage(chosen)) return chosen;
  const accepted = req.acceptsLanguages(...languages, 'zh-CN', 'zh-Hans', 'zh-SG');
  if (typeof accepted === 'string') return accepted.startsWith('zh') ? 'zh' : isLanguage(accepted) ? accepted : 'en';
  return 'en';
}

/** JSON safe inside a <script type="application/json"> element. */
export function scriptJson(value: unknown): string {
  return JSON.stringify(value).replace(/</g, '\\u003c').replace(/\u2028/g, '\\u2028').replace(/\u2029/g, '\\u2029');
}

/**
 * The words the browser scripts need (keys under "js." and "reason."), as the
 * JSON each page carries: made once per language, not per request.
 */
export const clientWords: Record<Language, string> = Object.fromEntries(
  languages.map((lang) => [lang, scriptJson(Object.fromEntries(Object.entries(catalogues[lang]).filter(([key]) => key.startsWith('js.') || key.startsWith('reason.'))))]),
) as Record<Language, string>;
