// The statistics page's satisfaction chart (issue 29): the average rating of
// each day, drawn with uPlot as the other charts are; the figures are in the
// table below it too.
import { t } from './i18n.js';
import { dayChart } from './chart-days.js';

const data = JSON.parse(document.getElementById('satisfaction-data').textContent);
const el = document.querySelector('[data-chart="satisfaction"]');
// Days and figures in the page's language (chart-days.js).
const chart = dayChart(data.days);
const width = () => Math.max(260, el.clientWidth);
const plot = new window.uPlot(
  {
    width: width(),
    height: 200,
    series: [chart.day, { label: t('js.stats.average'), stroke: '#0b6bcb', width: 2, spanGaps: true, points: { show: true }, value: chart.figure }],
    axes: chart.axes,
    scales: { x: chart.x, y: { range: [1, 5] } },
  },
  [chart.xs, data.perDay.map((d) => d.average)],
  el,
);
new ResizeObserver(() => plot.setSize({ width: width(), height: 200 })).observe(el);
document.body.dataset.satisfaction = 'drawn';
