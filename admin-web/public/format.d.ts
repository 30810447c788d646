// Types of format.js (a plain ES module the browser loads as it is).
export interface Formatter {
  lang: string;
  timeZone: string;
  time: (ms: number | null | undefined) => string;
  clock: (ms: number) => string;
  date: (ms: number) => string;
  day: (iso: string, short?: boolean) => string;
  number: (n: number, digits?: number) => string;
  bytes: (n: number) => string;
}
export function isTimeZone(zone: unknown): zone is string;
export function formatter(lang: string, timeZone: string | null | undefined): Formatter;
