// The statistics page's satisfaction chart (issue 29): the average rating of
// each day, drawn with uPlot as the other charts are; the figures are in the
// table below it too.
import { t } from './i18n.js';

const data = JSON.parse(document.getElementById('satisfaction-data').textContent);
const el = document.querySelector('[data-chart="satisfaction"]');
const xs = data.days.map((d) => Date.parse(`${d}T00:00:00Z`) / 1000);
const dark = matchMedia('(prefers-color-scheme: dark)').matches;
const ink = dark ? '#d9e2ec' : '#1f2933';
const grid = dark ? '#3e4c59' : '#e4e7eb';
const width = () => Math.max(260, el.clientWidth);
const plot = new window.uPlot(
  {
    width: width(),
    height: 200,
    series: [{}, { label: t('js.stats.average'), stroke: '#0b6bcb', width: 2, spanGaps: true, points: { show: true } }],
    axes: [{ stroke: ink, grid: { stroke: grid } }, { stroke: ink, grid: { stroke: grid } }],
    scales: { x: { time: true }, y: { range: [1, 5] } },
  },
  [xs, data.perDay.map((d) => d.average)],
  el,
);
new ResizeObserver(() => plot.setSize({ width: width(), height: 200 })).observe(el);
document.body.dataset.satisfaction = 'drawn';
