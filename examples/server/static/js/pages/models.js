// Models: create one from a dataset (target, features, layers), the list, and the summary table.

import { api, apiList } from '../api.js';
import {
  add, announce, confirmAction, field, fill, formatDate, formatNumber, formError, h, hashQuery, pageTitle, table,
} from '../dom.js';
import { download } from '../download.js';
import { layersEditor } from '../layers-editor.js';

export async function list(main, _params, { signal, go }) {
  add(main, pageTitle('Models'));
  const [{ datasets }, { models }] = await Promise.all([
    apiList('/api/data', 'datasets', { signal }),
    apiList('/api/model', 'models', { signal }),
  ]);
  add(main, datasets.length === 0
    ? h('p', { class: 'empty card' }, 'A model learns from a dataset. ', h('a', { href: '#/datasets' }, 'Upload one first.'))
    : createForm(datasets, go));

  const datasetName = new Map(datasets.map((d) => [d.id, d.name]));
  add(main, h('section', { 'aria-labelledby': 'models-list' },
    h('h2', { id: 'models-list' }, 'Your models'),
    models.length === 0
      ? h('p', { class: 'empty', 'data-testid': 'models-table' }, 'No models yet.')
      : table(['Name', 'Dataset', 'Target', 'Task', 'Parameters', 'Trained', ''], models.map((m) => [
        h('a', { href: `#/models/${m.id}`, 'data-testid': 'model-link' }, m.name),
        datasetName.get(m.datasetId) ?? '—',
        m.target,
        m.task,
        m.summary ? m.summary.totalParams.toLocaleString() : '—',
        m.latestVersion ? formatDate(m.latestVersion.trainedAt) : 'not yet',
        h('div', { class: 'row-actions' },
          h('a', { class: 'button secondary', href: `#/training?model=${m.id}` }, 'Train'),
          m.latestVersion ? h('a', { class: 'button secondary', href: `#/predict/${m.id}` }, 'Predict') : null),
      ]), { 'data-testid': 'models-table' })));
}

function createForm(datasets, go) {
  const wanted = hashQuery().get('dataset');
  const name = h('input', { name: 'name', required: true, maxlength: 200, 'data-testid': 'model-name' });
  const dataset = h('select', { name: 'datasetId', required: true, 'data-testid': 'model-dataset' },
    datasets.map((d) => h('option', { value: d.id, selected: d.id === wanted }, d.name)));
  const target = h('select', { name: 'target', required: true, 'data-testid': 'model-target' });
  const task = h('select', { name: 'task', 'data-testid': 'model-task' },
    h('option', { value: '' }, 'Automatic (from the target column)'),
    h('option', { value: 'classification' }, 'Classification'),
    h('option', { value: 'regression' }, 'Regression'));
  const features = h('fieldset', { class: 'features', 'data-testid': 'model-features' });
  const layers = layersEditor();
  const submit = h('button', { type: 'submit', 'data-testid': 'model-submit' }, 'Create model');
  const form = h('form', { class: 'card', 'data-testid': 'model-form' });
  const error = formError(form);

  const current = () => datasets.find((d) => d.id === dataset.value);
  // Columns a model can read: text and constant columns carry nothing it can learn from.
  const usable = (c) => c.kind === 'numeric' || c.kind === 'categorical';

  function fillTargets() {
    const d = current();
    const columns = d?.schema?.columns ?? [];
    fill(target, ...columns.map((c, i) =>
      h('option', { value: c.name, selected: i === columns.length - 1, disabled: !usable(c) }, `${c.name} (${c.kind})`)));
    if (!name.value || name.dataset.auto === 'true') {
      name.value = d ? `${d.name} model` : '';
      name.dataset.auto = 'true';
    }
    fillFeatures();
  }

  function fillFeatures() {
    const columns = (current()?.schema?.columns ?? []).filter((c) => c.name !== target.value);
    fill(features,
      h('legend', {}, 'Features'),
      h('p', { class: 'hint' }, 'Leave all suitable columns checked to let Modelyard choose.'),
      h('div', { class: 'checks' }, columns.map((c, i) => {
        const id = `feature-${i}`;
        return h('span', { class: 'check' },
          h('input', {
            type: 'checkbox', id, value: c.name, checked: usable(c), disabled: !usable(c),
            'data-testid': 'feature-checkbox', 'data-default': String(usable(c)),
          }),
          h('label', { for: id }, `${c.name} `, h('small', {}, c.kind)));
      })));
  }

  name.addEventListener('input', () => { name.dataset.auto = 'false'; });
  dataset.addEventListener('change', fillTargets);
  target.addEventListener('change', fillFeatures);
  fillTargets();

  add(form,
    h('h2', {}, 'New model'),
    h('div', { class: 'grid-2' },
      field('Name', name),
      field('Dataset', dataset),
      field('Target column', target, 'The column the model predicts.'),
      field('Task', task)),
    features,
    layers.el,
    error.el,
    h('div', { class: 'actions' }, submit),
  );
  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    error.clear();
    const boxes = [...features.querySelectorAll('input[type=checkbox]')];
    const changed = boxes.some((b) => String(b.checked) !== b.dataset.default);
    const chosen = boxes.filter((b) => b.checked).map((b) => b.value);
    if (chosen.length === 0) {
      error.show({ message: 'Choose at least one feature column.' });
      return;
    }
    const body = { name: name.value.trim(), datasetId: dataset.value, target: target.value, layers: layers.value() };
    if (changed) body.features = chosen;
    if (task.value) body.task = task.value;
    submit.disabled = true;
    try {
      const { model } = await api('POST', '/api/model', { body });
      announce(`Created model ${model.name}.`);
      go(`/models/${model.id}`);
    } catch (err) {
      error.show(err);
    } finally {
      submit.disabled = false;
    }
  });
  return form;
}

/** `[null, 64]` -> `(None, 64)`, as Keras prints shapes. */
function shape(dims) {
  return `(${(dims ?? []).map((d) => (d === null ? 'None' : d)).join(', ')})`;
}

export function summaryTable(summary) {
  return h('div', {},
    table(['Layer (type)', 'Output shape', 'Param #', 'Trainable'], summary.layers.map((l) => [
      `${l.name} (${l.kind})`, shape(l.outputShape), l.params.toLocaleString(), l.trainableParams.toLocaleString(),
    ]), { 'data-testid': 'summary-table', class: 'summary' }),
    h('dl', { class: 'facts' },
      h('dt', {}, 'Input width'), h('dd', {}, String(summary.inputWidth)),
      h('dt', {}, 'Total params'), h('dd', { 'data-testid': 'summary-total' }, summary.totalParams.toLocaleString()),
      h('dt', {}, 'Trainable params'), h('dd', {}, summary.trainableParams.toLocaleString())));
}

export async function detail(main, { id }, { signal, go }) {
  const [{ model: m }, { summary }] = await Promise.all([
    api('GET', `/api/model/${encodeURIComponent(id)}`, { signal }),
    api('GET', `/api/model/${encodeURIComponent(id)}/summary`, { signal }),
  ]);
  const version = m.latestVersion;
  add(main,
    h('p', { class: 'crumbs' }, h('a', { href: '#/models' }, 'Models'), ' / ', m.name),
    pageTitle(m.name),
    h('dl', { class: 'facts' },
      h('dt', {}, 'Dataset'), h('dd', {}, h('a', { href: `#/datasets/${m.datasetId}` }, 'open dataset')),
      h('dt', {}, 'Target'), h('dd', { 'data-testid': 'model-target-value' }, m.target),
      h('dt', {}, 'Task'), h('dd', {}, m.task),
      h('dt', {}, 'Features'), h('dd', {}, m.features.join(', ')),
      h('dt', {}, 'Created'), h('dd', {}, formatDate(m.createdAt)),
      h('dt', {}, 'Trained'), h('dd', {}, version ? formatDate(version.trainedAt) : 'not yet')),
    h('div', { class: 'actions' },
      h('a', { class: 'button', href: `#/training?model=${m.id}`, 'data-testid': 'model-train' }, 'Train'),
      version ? h('a', { class: 'button secondary', href: `#/predict/${m.id}`, 'data-testid': 'model-predict' }, 'Predict') : null,
      version ? h('button', {
        type: 'button', class: 'secondary', 'data-testid': 'model-download',
        onclick: () => download(`/api/files/models/${m.id}`, `${m.name}.zip`).catch((err) => announce(err.message)),
      }, 'Download model') : null,
      h('button', {
        type: 'button', class: 'danger',
        onclick: async () => {
          if (!confirmAction(`Delete model “${m.name}”?`)) return;
          try {
            await api('DELETE', `/api/model/${m.id}`);
            announce(`Deleted ${m.name}.`);
            go('/models');
          } catch (err) {
            announce(err.message);
          }
        },
      }, 'Delete')),
    h('section', { 'aria-labelledby': 'summary-h' }, h('h2', { id: 'summary-h' }, 'Summary'), summaryTable(summary)),
    version ? h('section', { 'aria-labelledby': 'metrics-h' },
      h('h2', { id: 'metrics-h' }, 'Latest version'),
      table(['Metric', 'Value'], Object.entries(version.metrics).map(([k, v]) => [k, formatNumber(v)]), { 'data-testid': 'model-metrics' }))
      : null,
  );
}
