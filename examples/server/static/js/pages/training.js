// Training: start a run, the runs list, and one run live (SSE) with loss and accuracy charts.

import { api, apiList } from '../api.js';
import {
  add, announce, field, fill, formatDate, formatNumber, formError, h, hashQuery, pageTitle, statusBadge, table,
} from '../dom.js';
import { epochChart } from '../charts.js';
import { eventStream } from '../sse.js';

const FINAL = new Set(['completed', 'failed', 'cancelled']);
/** The epochs table shows the latest this many epochs; the charts show them all. */
const TABLE_ROWS = 200;

export async function list(main, _params, { signal, go }) {
  add(main, pageTitle('Training'));
  const [{ models }, { runs }] = await Promise.all([
    apiList('/api/model', 'models', { signal }),
    apiList('/api/training', 'runs', { signal }),
  ]);
  add(main, models.length === 0
    ? h('p', { class: 'empty card' }, 'Training needs a model. ', h('a', { href: '#/models' }, 'Create one first.'))
    : startForm(models, go));
  const modelName = new Map(models.map((m) => [m.id, m.name]));
  const sorted = [...runs].sort((a, b) => String(b.createdAt).localeCompare(String(a.createdAt)));
  add(main, h('section', { 'aria-labelledby': 'runs-h' },
    h('h2', { id: 'runs-h' }, 'Runs'),
    sorted.length === 0
      ? h('p', { class: 'empty' }, 'No runs yet.')
      : table(['Model', 'Status', 'Epochs', 'Optimizer', 'Queued', ''], sorted.map((r) => [
        modelName.get(r.modelId) ?? r.modelId,
        statusBadge(r.status),
        `${r.epochsCompleted ?? r.history?.length ?? 0} / ${r.params?.epochs ?? '?'}`,
        r.params?.optimizer ?? '—',
        formatDate(r.createdAt),
        h('a', { href: `#/training/${r.id}`, 'data-testid': 'run-link', 'aria-label': `Open the run of ${modelName.get(r.modelId) ?? 'a model'}` }, 'Open'),
      ]), { 'data-testid': 'runs-table' })));
}

function startForm(models, go) {
  const wanted = hashQuery().get('model');
  const model = h('select', { name: 'modelId', required: true, 'data-testid': 'train-model' },
    models.map((m) => h('option', { value: m.id, selected: m.id === wanted }, m.name)));
  const num = (name, value, attrs) => h('input', { name, type: 'number', required: true, value, 'data-testid': `train-${name}`, ...attrs });
  const epochs = num('epochs', 30, { min: 1, max: 10000, step: 1 });
  const batchSize = num('batchSize', 32, { min: 1, max: 65536, step: 1 });
  const learningRate = num('learningRate', 0.01, { min: 0, max: 10, step: 'any' });
  const optimizer = h('select', { name: 'optimizer', 'data-testid': 'train-optimizer' },
    ['adam', 'adamw', 'sgd'].map((o) => h('option', { value: o }, { adam: 'Adam', adamw: 'AdamW', sgd: 'SGD (momentum)' }[o])));
  const validationSplit = num('validationSplit', 0.2, { min: 0, max: 0.9, step: 0.05 });
  const seed = h('input', { name: 'seed', type: 'number', min: 0, step: 1, placeholder: '42', 'data-testid': 'train-seed' });
  const submit = h('button', { type: 'submit', 'data-testid': 'train-submit' }, 'Start training');
  const form = h('form', { class: 'card', 'data-testid': 'train-form' });
  const error = formError(form);
  add(form,
    h('h2', {}, 'Start a run'),
    h('div', { class: 'grid-3' },
      field('Model', model),
      field('Epochs', epochs),
      field('Batch size', batchSize),
      field('Learning rate', learningRate),
      field('Optimizer', optimizer),
      field('Validation split', validationSplit, 'Fraction of rows held out.'),
      field('Seed (optional)', seed, 'Same seed, same result.')),
    error.el,
    h('div', { class: 'actions' }, submit));
  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    error.clear();
    const body = {
      modelId: model.value,
      epochs: Number(epochs.value),
      batchSize: Number(batchSize.value),
      learningRate: Number(learningRate.value),
      optimizer: optimizer.value,
      validationSplit: Number(validationSplit.value),
    };
    if (seed.value !== '') body.seed = Number(seed.value);
    submit.disabled = true;
    try {
      const { run } = await api('POST', '/api/training/start', { body });
      announce('Training queued.');
      go(`/training/${run.id}`);
    } catch (err) {
      error.show(err);
    } finally {
      submit.disabled = false;
    }
  });
  return form;
}

export async function detail(main, { id }, { signal }) {
  const path = `/api/training/${encodeURIComponent(id)}`;
  let { run } = await api('GET', path, { signal });
  let model = null;
  try {
    model = (await api('GET', `/api/model/${run.modelId}`, { signal })).model;
  } catch (err) {
    if (err.name === 'AbortError') throw err;
  }
  const regression = model?.task === 'regression';
  const history = [...(run.history ?? [])];
  const total = run.params?.epochs ?? 0;

  const status = h('p', { class: 'run-line', 'aria-live': 'polite', 'data-testid': 'run-status-line' });
  const progress = h('progress', { max: total || 1, value: 0, 'data-testid': 'epoch-progress', 'aria-label': 'Epochs done' });
  const progressText = h('span', { 'data-testid': 'epoch-progress-text' });
  const cancel = h('button', { type: 'button', class: 'danger', 'data-testid': 'cancel-run' }, 'Cancel');
  const lossChart = epochChart({
    title: 'Loss', testid: 'loss-chart', yLabel: 'loss',
    series: [{ key: 'loss', label: 'training' }, { key: 'valLoss', label: 'validation' }],
  });
  const accuracyChart = regression
    ? epochChart({ title: 'R²', testid: 'accuracy-chart', yLabel: 'R²', series: [{ key: 'r2', label: 'training' }, { key: 'valR2', label: 'validation' }] })
    : epochChart({ title: 'Accuracy', testid: 'accuracy-chart', yLabel: 'accuracy', percent: true, series: [{ key: 'accuracy', label: 'training' }, { key: 'valAccuracy', label: 'validation' }] });
  const epochsBody = h('tbody');
  let epochsFrame = 0;
  const finalBox = h('section', { 'aria-labelledby': 'final-h', hidden: true, 'data-testid': 'final-metrics' });

  add(main,
    h('p', { class: 'crumbs' }, h('a', { href: '#/training' }, 'Training'), ' / run'),
    pageTitle(`Training ${model ? model.name : 'run'}`),
    h('dl', { class: 'facts' },
      h('dt', {}, 'Model'), h('dd', {}, model ? h('a', { href: `#/models/${model.id}` }, model.name) : run.modelId),
      h('dt', {}, 'Parameters'), h('dd', {},
        `${total} epochs · batch ${run.params?.batchSize} · lr ${run.params?.learningRate} · ${run.params?.optimizer}`),
      h('dt', {}, 'Queued'), h('dd', {}, formatDate(run.createdAt))),
    h('div', { class: 'card run-head' }, status, h('div', { class: 'progress-row' }, progress, progressText), h('div', { class: 'actions' }, cancel)),
    h('div', { class: 'charts' }, lossChart.el, accuracyChart.el),
    finalBox,
    h('details', { class: 'card' },
      h('summary', {}, 'Epochs table'),
      h('div', { class: 'table-wrap' }, h('table', { class: 'compact', 'data-testid': 'epochs-table' },
        h('thead', {}, h('tr', {}, ['Epoch', 'Loss', 'Val loss', regression ? 'R²' : 'Accuracy', regression ? 'Val R²' : 'Val accuracy', 'LR', 'ms', 'samples/s']
          .map((t) => h('th', { scope: 'col' }, t)))),
        epochsBody))),
  );

  function renderStatus() {
    fill(status, 'Status: ', statusBadge(run.status),
      run.status === 'queued' ? h('span', { class: 'hint' }, ' waiting for a worker to pick it up…') : null,
      run.status === 'failed' && run.error ? h('span', { class: 'run-error', role: 'alert' }, ` ${run.error}`) : null);
    cancel.hidden = FINAL.has(run.status);
    if (run.status === 'completed') {
      const metrics = run.finalMetrics ?? {};
      finalBox.hidden = false;
      fill(finalBox, h('h2', { id: 'final-h' }, 'Result'),
        table(['Metric', 'Value'], Object.entries(metrics).map(([k, v]) => [k, formatNumber(v)])),
        h('div', { class: 'actions' }, h('a', { class: 'button', href: `#/predict/${run.modelId}`, 'data-testid': 'run-predict' }, 'Predict with this model')));
    }
  }

  function renderEpochs() {
    if (epochsFrame) cancelAnimationFrame(epochsFrame);
    epochsFrame = 0;
    const last = history.length ? history[history.length - 1].epoch : 0;
    progress.value = Math.min(last, total);
    progressText.textContent = `Epoch ${last} of ${total}`;
    lossChart.update(history);
    accuracyChart.update(history);
    const a = regression ? 'r2' : 'accuracy';
    const va = regression ? 'valR2' : 'valAccuracy';
    const shown = history.slice(-TABLE_ROWS);
    const skipped = history.length - shown.length;
    fill(epochsBody,
      skipped > 0 ? h('tr', { class: 'hint' }, h('td', { colspan: 8 },
        `${skipped} earlier epochs are in the charts and in the run's history`)) : null,
      ...shown.map((m) => h('tr', {},
        [m.epoch, m.loss, m.valLoss, m[a], m[va], m.learningRate, m.durationMs, m.samplesPerSec]
          .map((v) => h('td', {}, formatNumber(v, 4))))));
  }

  // A small dataset can train hundreds of epochs a second: the stream only records them, and
  // the page redraws at most once per frame, so it stays responsive (the cancel button too).
  function scheduleEpochs() {
    if (!epochsFrame) epochsFrame = requestAnimationFrame(renderEpochs);
  }

  function upsert(metrics) {
    const latest = history.length ? history[history.length - 1].epoch : 0;
    if (metrics.epoch > latest) {
      history.push(metrics);
      return;
    }
    const at = history.findIndex((m) => m.epoch >= metrics.epoch);
    if (at === -1) history.push(metrics);
    else if (history[at].epoch === metrics.epoch) history[at] = metrics;
    else history.splice(at, 0, metrics);
  }

  async function reload() {
    ({ run } = await api('GET', path, { signal }));
    for (const m of run.history ?? []) upsert(m);
    renderStatus();
    renderEpochs();
  }

  cancel.addEventListener('click', async () => {
    cancel.disabled = true;
    try {
      await api('POST', `${path}/cancel`);
      announce('Cancel requested; the run stops within one batch.');
    } catch (err) {
      announce(err.message);
    } finally {
      cancel.disabled = false;
    }
  });

  renderStatus();
  renderEpochs();

  // Follow the run until it is final. A dropped stream is reopened after reloading the run,
  // so epochs missed in between still reach the charts.
  (async () => {
    let delay = 1000;
    while (!signal.aborted && !FINAL.has(run.status)) {
      try {
        for await (const { event, data } of eventStream(`${path}/events`, signal)) {
          delay = 1000;
          if (event === 'epoch' && data && typeof data === 'object') {
            // Counted so a test can tell the charts were fed by the stream, not only by reloads.
            lossChart.el.dataset.streamedEpochs = String(Number(lossChart.el.dataset.streamedEpochs ?? 0) + 1);
            upsert(data);
            scheduleEpochs();
          } else if (event === 'status' && data?.status) {
            run = { ...run, status: data.status, error: data.error ?? run.error };
            renderStatus();
            if (epochsFrame) renderEpochs();
            if (FINAL.has(data.status)) break;
          } else if (event === 'error') {
            // The server could not read the run's progress; reload it after this stream ends.
            announce(`Live progress interrupted: ${data?.error?.message ?? data?.message ?? data}`);
          }
        }
      } catch (err) {
        if (signal.aborted || err.status === 401 || err.status === 404) return;
      }
      if (signal.aborted) return;
      if (!FINAL.has(run.status)) await new Promise((resolve) => setTimeout(resolve, delay));
      delay = Math.min(delay * 2, 10000);
      try {
        await reload();
      } catch (err) {
        if (signal.aborted || err.status === 401) return;
      }
    }
    if (!signal.aborted && FINAL.has(run.status)) announce(`Training ${run.status}.`);
  })();

  return () => {
    lossChart.destroy();
    accuracyChart.destroy();
  };
}
