// The statistics page's charts, drawn with uPlot (served by the product) from
// the figures the page carries; the same figures are in the tables below
// them, for screen readers and for copying. Days, figures and legends are in
// the page's language (format.js): the x axis counts days (the statistics'
// calendar days, so no time zone moves them), labelled by Intl.
import { fmt, t } from './i18n.js';

const stats = JSON.parse(document.getElementById('stats-data').textContent);
const xs = stats.days.map((_d, i) => i);
const dark = matchMedia('(prefers-color-scheme: dark)').matches;
const ink = dark ? '#d9e2ec' : '#1f2933';
const grid = dark ? '#3e4c59' : '#e4e7eb';
const dayOf = (i) => (Number.isInteger(i) && stats.days[i] ? fmt.day(stats.days[i], true) : '');
const axes = [
  // Whole days only: a tick between two days would have no name.
  { stroke: ink, grid: { stroke: grid }, incrs: [1, 2, 7, 14, 30, 61, 91, 182], values: (_u, splits) => splits.map(dayOf) },
  { stroke: ink, grid: { stroke: grid }, values: (_u, splits) => splits.map((v) => fmt.number(v, 2)) },
];
// One day of figures is one point: it gets a dot, and the axis a day either side (a line needs two points).
const span = (_u, min, max) => (min === max ? [min - 1, max + 1] : [min, max]);

function draw(el, series, data) {
  const width = () => Math.max(260, el.clientWidth);
  const dots = (values) => values.filter((v) => v !== null && v !== undefined).length <= 31;
  const drawn = series.map((s, i) => ({ ...s, value: (_u, v) => (v === null || v === undefined ? '—' : fmt.number(v, 1)), points: { show: dots(data[i]), size: 7, fill: s.stroke } }));
  const time = { label: t('js.stats.day'), value: (_u, v) => (v === null || v === undefined ? '—' : dayOf(v)) };
  const plot = new window.uPlot({ width: width(), height: 220, series: [time, ...drawn], axes, scales: { x: { time: false, range: span } } }, [xs, ...data], el);
  new ResizeObserver(() => plot.setSize({ width: width(), height: 220 })).observe(el);
}

/** A median line and a dashed 90th-percentile line over the days. */
function spreadChart(name, spreads) {
  draw(
    document.querySelector(`[data-chart="${name}"]`),
    [
      { label: t('js.stats.median'), stroke: '#0b6bcb', width: 2, spanGaps: true },
      { label: t('js.stats.p90'), stroke: '#b3261e', width: 2, dash: [6, 4], spanGaps: true },
    ],
    [spreads.map((s) => s.median), spreads.map((s) => s.p90)],
  );
}

draw(document.querySelector('[data-chart="requests"]'), [{ label: t('js.stats.requests'), stroke: '#0b6bcb', fill: 'rgba(11,107,203,.15)', width: 2 }], [stats.requests]);
spreadChart('wait', stats.wait);
spreadChart('resolve', stats.resolve);
for (const bar of document.querySelectorAll('.bar[data-w]')) bar.style.width = `${bar.dataset.w}%`;
document.body.dataset.charts = 'drawn';
