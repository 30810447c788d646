// What the statistics page's charts share (stats.js, satisfaction.js): the x
// axis counts the period's days (calendar days, so no time zone moves them),
// labelled in the page's language by Intl, as are the figures; the legend's
// first entry names the day in words (uPlot's default is the English "Time").
import { fmt, t } from './i18n.js';

const dark = matchMedia('(prefers-color-scheme: dark)').matches;
const ink = dark ? '#d9e2ec' : '#1f2933';
const grid = dark ? '#3e4c59' : '#e4e7eb';

/** uPlot options for a chart over `days` ("2026-11-22", …): x is the day's index. */
export function dayChart(days) {
  const dayOf = (i) => (Number.isInteger(i) && days[i] ? fmt.day(days[i], true) : '');
  const figure = (_u, v) => (v === null || v === undefined ? '—' : fmt.number(v, 1));
  return {
    xs: days.map((_d, i) => i),
    figure,
    day: { label: t('js.stats.day'), value: (_u, v) => (v === null || v === undefined ? '—' : dayOf(v)) },
    axes: [
      // Whole days only: a tick between two days would have no name.
      { stroke: ink, grid: { stroke: grid }, incrs: [1, 2, 7, 14, 30, 61, 91, 182], values: (_u, splits) => splits.map(dayOf) },
      { stroke: ink, grid: { stroke: grid }, values: (_u, splits) => splits.map((v) => fmt.number(v, 2)) },
    ],
    // Half a day either side: a figure on the first or the last day (or the only one) is drawn whole.
    x: { time: false, range: (_u, min, max) => [min - 0.5, max + 0.5] },
    // From a little below zero: a figure of 0 sits above the axis line, not half under it.
    y: { range: (_u, min, max) => { const top = max > 0 ? max * 1.15 : 1; return [Math.min(0, min) - top * 0.05, top]; } },
  };
}
