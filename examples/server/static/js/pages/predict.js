// Predictions: a form with one input per feature of a trained model; the label and probabilities.

import { api, apiList } from '../api.js';
import { add, field, fill, formatNumber, formError, h, pageTitle } from '../dom.js';

export async function render(main, { id }, { signal, go }) {
  add(main, pageTitle('Predict'));
  const { models } = await apiList('/api/model', 'models', { signal });
  const trained = models.filter((m) => m.latestVersion);
  const picker = h('select', { 'data-testid': 'predict-model', 'aria-label': 'Model' },
    h('option', { value: '' }, trained.length ? 'Choose a trained model…' : 'No trained model yet'),
    trained.map((m) => h('option', { value: m.id, selected: m.id === id }, m.name)));
  picker.addEventListener('change', () => picker.value && go(`/predict/${picker.value}`));
  add(main, h('div', { class: 'card' }, field('Model', picker,
    trained.length ? null : 'Train a model first: its latest version answers here.')));
  if (!id) return;

  const { model } = await api('GET', `/api/model/${encodeURIComponent(id)}`, { signal });
  let columns = new Map();
  try {
    const { dataset } = await api('GET', `/api/data/${model.datasetId}`, { signal });
    columns = new Map(dataset.schema.columns.map((c) => [c.name, c]));
  } catch (err) {
    if (err.name === 'AbortError') throw err;
    // Without the dataset every input is free text; the server still checks the values.
  }

  const inputs = model.features.map((name) => {
    const column = columns.get(name);
    const testid = `predict-input-${name}`;
    if (column?.kind === 'categorical' && column.stats?.type === 'categories') {
      const select = h('select', { name, 'data-testid': testid, 'data-kind': 'categorical' },
        column.stats.categories.map((c) => h('option', { value: c.value }, c.value)));
      return { name, el: select, kind: 'categorical', hint: null };
    }
    if (column?.kind === 'numeric') {
      const s = column.stats;
      const input = h('input', {
        name, type: 'number', step: 'any', required: true, 'data-testid': testid, 'data-kind': 'numeric',
        placeholder: s?.mean !== undefined ? formatNumber(s.mean, 2) : '',
      });
      const hint = s?.type === 'numeric' ? `${formatNumber(s.min)} to ${formatNumber(s.max)} in the data` : null;
      return { name, el: input, kind: 'numeric', hint };
    }
    return { name, el: h('input', { name, required: true, 'data-testid': testid }), kind: 'text', hint: null };
  });

  const submit = h('button', { type: 'submit', 'data-testid': 'predict-submit' }, 'Predict');
  const fill = h('button', { type: 'button', class: 'secondary', 'data-testid': 'predict-fill' }, 'Fill from a dataset row');
  const result = h('section', { class: 'card result', 'aria-live': 'polite', 'data-testid': 'prediction', hidden: true });
  const form = h('form', { class: 'card', 'data-testid': 'predict-form' });
  const error = formError(form);
  add(form,
    h('h2', {}, `${model.name}: predict ${model.target}`),
    model.latestVersion ? null : h('p', { class: 'notice' }, 'This model has not been trained yet.'),
    h('div', { class: 'grid-3' }, inputs.map((i) => field(i.name, i.el, i.hint))),
    error.el,
    h('div', { class: 'actions' }, submit, fill));
  add(main, form, result);

  let previewRows = null;
  let nextRow = 0;
  fill.addEventListener('click', async () => {
    try {
      previewRows ??= await api('GET', `/api/data/${model.datasetId}/preview?limit=20`, { signal });
      const row = previewRows.rows[nextRow % previewRows.rows.length];
      nextRow += 1;
      for (const input of inputs) {
        const at = previewRows.columns.indexOf(input.name);
        if (at !== -1) input.el.value = row[at];
      }
    } catch (err) {
      error.show(err);
    }
  });

  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    error.clear();
    const row = {};
    for (const input of inputs) {
      const raw = input.el.value.trim();
      row[input.name] = input.kind === 'numeric' && raw !== '' ? Number(raw) : raw;
    }
    submit.disabled = true;
    try {
      const { predictions } = await api('POST', `/api/model/${model.id}/predict`, { body: { rows: [row] } });
      showPrediction(result, predictions[0], model.target);
    } catch (err) {
      error.show(err);
    } finally {
      submit.disabled = false;
    }
  });
}

function showPrediction(result, prediction, target) {
  result.hidden = false;
  if (prediction && 'label' in prediction) {
    const probabilities = Object.entries(prediction.probabilities ?? {}).sort((a, b) => b[1] - a[1]);
    fill(result,
      h('h2', {}, `Predicted ${target}`),
      h('p', { class: 'answer', 'data-testid': 'predicted-label' }, prediction.label),
      probabilities.length ? h('table', { class: 'compact probabilities', 'data-testid': 'probabilities' },
        h('caption', {}, 'Probability per class'),
        h('thead', {}, h('tr', {}, h('th', { scope: 'col' }, 'Class'), h('th', { scope: 'col' }, 'Probability'), h('th', { scope: 'col' }, h('span', { class: 'visually-hidden' }, 'Bar')))),
        h('tbody', {}, probabilities.map(([label, p]) => h('tr', { 'data-testid': 'probability-row' },
          h('th', { scope: 'row' }, label),
          h('td', {}, `${(p * 100).toFixed(1)}%`),
          h('td', {}, h('meter', { min: 0, max: 1, value: p, 'aria-label': `${label} ${(p * 100).toFixed(1)}%` })))))) : null);
  } else if (prediction && 'value' in prediction) {
    fill(result,
      h('h2', {}, `Predicted ${target}`),
      h('p', { class: 'answer', 'data-testid': 'predicted-value' }, formatNumber(prediction.value)));
  } else {
    fill(result, h('p', {}, 'The server gave no prediction.'));
  }
}
