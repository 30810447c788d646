// Dates and numbers as people read them: through Intl, in the page's language
// and the reader's time zone. One plain ES module, used by the server's pages
// and served to the browser's scripts as it is, so a size or a time reads the
// same when a page is drawn and when a live update changes it. The CSV and the
// API keep UTC ISO (they are for programs); these are for people.

/** Whether `zone` is an IANA time-zone name this runtime knows ("UTC" included). */
export function isTimeZone(zone) {
  if (typeof zone !== 'string' || zone.length === 0 || zone.length > 64) return false;
  return zone === 'UTC' || Intl.supportedValuesOf('timeZone').includes(zone);
}

const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];

/**
 * The formatters of one language (a BCP 47 tag: "en", "es", "zh-CN") and one
 * time zone (IANA; an unknown one reads as UTC).
 */
export function formatter(lang, timeZone) {
  const zone = isTimeZone(timeZone) ? timeZone : 'UTC';
  const stamp = new Intl.DateTimeFormat(lang, { year: 'numeric', month: '2-digit', day: '2-digit', hour: '2-digit', minute: '2-digit', second: '2-digit', hourCycle: 'h23', timeZone: zone, timeZoneName: 'short' });
  const clock = new Intl.DateTimeFormat(lang, { hour: '2-digit', minute: '2-digit', second: '2-digit', hourCycle: 'h23', timeZone: zone });
  const date = new Intl.DateTimeFormat(lang, { year: 'numeric', month: '2-digit', day: '2-digit', timeZone: zone });
  // A calendar day ("2026-11-22", as the statistics count them) is a date, not an instant: read in UTC.
  const day = new Intl.DateTimeFormat(lang, { year: 'numeric', month: 'short', day: 'numeric', timeZone: 'UTC' });
  const dayShort = new Intl.DateTimeFormat(lang, { month: 'short', day: 'numeric', timeZone: 'UTC' });
  const numbers = [0, 1, 2].map((digits) => new Intl.NumberFormat(lang, { maximumFractionDigits: digits }));
  const number = (n, digits = 1) => (numbers[digits] ?? numbers[1]).format(n);
  return {
    lang,
    timeZone: zone,
    /** "22/11/2026, 09:14:33 CET": an instant to the second, its zone named. */
    time: (ms) => (ms === null || ms === undefined ? '' : stamp.format(ms)),
    /** "09:14:33": the hour of an instant (chat lines). */
    clock: (ms) => clock.format(ms),
    /** "22/11/2026": the day of an instant in the reader's zone. */
    date: (ms) => date.format(ms),
    /** "22 nov 2026" for a calendar day "2026-11-22"; `short`: without the year. */
    day: (iso, short = false) => (short ? dayShort : day).format(Date.parse(`${iso}T00:00:00Z`)),
    /** "0,75" in Spanish: a figure with at most `digits` decimals. */
    number,
    /** "57 B", "1,5 KiB": a size, in powers of 1024. */
    bytes(n) {
      let value = n;
      let unit = 0;
      while (value >= 1024 && unit < units.length - 1) {
        value /= 1024;
        unit += 1;
      }
      return `${number(value, unit === 0 ? 0 : 1)} ${units[unit]}`;
    },
  };
}
