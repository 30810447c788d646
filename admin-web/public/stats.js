// The statistics page's charts, drawn with uPlot (served by the product) from
// the figures the page carries; the same figures are in the tables below
// them, for screen readers and for copying. Days, figures and legends are in
// the page's language (chart-days.js).
import { t } from './i18n.js';
import { dayChart } from './chart-days.js';

const stats = JSON.parse(document.getElementById('stats-data').textContent);
const chart = dayChart(stats.days);

function draw(el, series, data) {
  const width = () => Math.max(260, el.clientWidth);
  // A series with few figures gets dots: one day alone draws no line.
  const dots = (values) => values.filter((v) => v !== null && v !== undefined).length <= 31;
  const drawn = series.map((s, i) => ({ ...s, value: chart.figure, points: { show: dots(data[i]), size: 7, fill: s.stroke } }));
  const plot = new window.uPlot({ width: width(), height: 220, series: [chart.day, ...drawn], axes: chart.axes, scales: { x: chart.x, y: chart.y } }, [chart.xs, ...data], el);
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
