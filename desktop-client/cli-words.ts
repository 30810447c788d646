// The terminal client's commands in the user's language, and sizes through
// Intl. A command may be typed in English (say, accept, refuse, stop, send,
// allow, who, all — what the client always understood, and what scripts type)
// or in the language the client speaks (es: decir, aceptar, rechazar, parar,
// enviar, permitir, quien, todos; zh: 说, 接受, 拒绝, 停止, 发送, 允许, 谁, 全部):
// both are accepted, the hints and prompts name the user's own.
import { format, language } from './core/messages.ts';

const verbs = ['say', 'accept', 'refuse', 'stop', 'send', 'allow', 'who', 'all'] as const;

/** A command line with its words in English ("aceptar 1" → "accept 1", "停止 全部" → "stop all"); other lines as they are. */
export function englishCommand(line: string): string {
  const [first = '', ...rest] = line.split(/\s+/);
  const english = (word: string): string => {
    const lower = word.toLowerCase();
    // "quién" with its accent, as people type it.
    const found = verbs.find((v) => format(`cmd.${v}`).toLowerCase() === lower.normalize('NFD').replace(/\p{Diacritic}/gu, ''));
    return found ?? word;
  };
  const verb = english(first);
  if (verb === first) return line;
  const tail = line.slice(first.length).trimStart();
  return rest.length === 1 && verb === 'stop' && english(rest[0]!) === 'all' ? 'stop all' : tail ? `${verb} ${tail}` : verb;
}

const units = ['B', 'KiB', 'MiB', 'GiB'];

/** "57 B", "1,5 KiB": a size in the client's language (the web's formatter, admin-web/public/format.js, writes the same). */
export function sizeText(bytes: number): string {
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit += 1;
  }
  const lang = language === 'zh' ? 'zh-CN' : language;
  return `${new Intl.NumberFormat(lang, { maximumFractionDigits: unit === 0 ? 0 : 1 }).format(value)} ${units[unit]}`;
}
