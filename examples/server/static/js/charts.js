// Line charts of per-epoch metrics, on the vendored Chart.js (window.Chart).

import { h } from './dom.js';

const COLORS = ['#2563eb', '#d97706', '#059669', '#dc2626'];

/**
 * A figure with a line chart over epochs. `series` are `{key, label}`; `update(history)` redraws
 * from the epoch metrics list and records the last epoch shown in `data-last-epoch`.
 */
export function epochChart({ title, series, testid, yLabel, percent = false }) {
  const canvas = h('canvas', { role: 'img', 'aria-label': `${title} per epoch; the epochs table below has the numbers.` });
  const figure = h('figure', { class: 'chart card', 'data-testid': testid, 'data-last-epoch': '0' },
    h('figcaption', {}, title),
    h('div', { class: 'chart-box' }, canvas));
  let chart = null;
  if (window.Chart) {
    chart = new window.Chart(canvas, {
      type: 'line',
      data: {
        labels: [],
        datasets: series.map((s, i) => ({
          label: s.label,
          data: [],
          borderColor: COLORS[i % COLORS.length],
          backgroundColor: COLORS[i % COLORS.length],
          borderWidth: 2,
          pointRadius: 2,
          tension: 0.2,
          spanGaps: true,
        })),
      },
      options: {
        animation: false,
        responsive: true,
        maintainAspectRatio: false,
        interaction: { mode: 'index', intersect: false },
        scales: {
          x: { title: { display: true, text: 'Epoch' } },
          y: {
            title: { display: Boolean(yLabel), text: yLabel },
            ...(percent ? { suggestedMin: 0, suggestedMax: 1 } : {}),
          },
        },
        plugins: { legend: { position: 'bottom' } },
      },
    });
  } else {
    figure.append(h('p', { class: 'hint' }, 'Charts are unavailable (Chart.js did not load); the table below has every epoch.'));
  }

  return {
    el: figure,
    update(history) {
      const last = history.length ? history[history.length - 1].epoch : 0;
      if (chart) {
        chart.data.labels = history.map((m) => m.epoch);
        series.forEach((s, i) => {
          chart.data.datasets[i].data = history.map((m) => m[s.key] ?? null);
          // Thousands of epochs: a line without a dot per epoch draws much faster.
          chart.data.datasets[i].pointRadius = history.length > 200 ? 0 : 2;
        });
        chart.update();
      }
      figure.dataset.lastEpoch = String(last);
      figure.dataset.points = String(chart ? chart.data.labels.length : history.length);
    },
    destroy() {
      chart?.destroy();
    },
  };
}
