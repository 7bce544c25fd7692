// Datasets: upload with progress, the list, and one dataset's column statistics and preview.

import { api, apiList, upload } from '../api.js';
import {
  add, announce, confirmAction, field, fill, formatBytes, formatDate, formatNumber, formError, h, pageTitle, table,
} from '../dom.js';
import { download } from '../download.js';

export async function list(main, _params, { signal }) {
  add(main, pageTitle('Datasets'));
  add(main, uploadForm(() => refresh()));
  const listSection = h('section', { 'aria-labelledby': 'datasets-list' }, h('h2', { id: 'datasets-list' }, 'Your datasets'));
  const holder = h('div', { 'data-testid': 'datasets-list' });
  listSection.append(holder);
  add(main, listSection);

  async function refresh() {
    const { datasets } = await apiList('/api/data', 'datasets', { signal });
    fill(holder, datasets.length === 0
      ? h('p', { class: 'empty' }, 'No datasets yet. Upload a CSV file above.')
      : table(['Name', 'File', 'Rows', 'Columns', 'Size', 'Uploaded', ''], datasets.map((d) => [
        h('a', { href: `#/datasets/${d.id}`, 'data-testid': 'dataset-link' }, d.name),
        d.originalFilename,
        String(d.rowCount),
        String(d.schema?.columns?.length ?? '—'),
        formatBytes(d.sizeBytes),
        formatDate(d.uploadedAt),
        h('div', { class: 'row-actions' },
          h('a', { href: `#/models?dataset=${d.id}`, class: 'button secondary' }, 'New model'),
          h('button', {
            type: 'button',
            class: 'danger',
            'aria-label': `Delete dataset ${d.name}`,
            onclick: async () => {
              if (!confirmAction(`Delete dataset “${d.name}”?`)) return;
              try {
                await api('DELETE', `/api/data/${d.id}`);
                announce(`Deleted ${d.name}.`);
                refresh();
              } catch (err) {
                announce(err.message);
              }
            },
          }, 'Delete')),
      ]), { 'data-testid': 'datasets-table' }));
  }
  await refresh();
}

function uploadForm(onUploaded) {
  const name = h('input', { name: 'name', required: true, maxlength: 200, 'data-testid': 'upload-name' });
  const file = h('input', { name: 'file', type: 'file', accept: '.csv,text/csv', required: true, 'data-testid': 'upload-file' });
  const progress = h('progress', { max: 100, value: 0, 'data-testid': 'upload-progress', 'aria-label': 'Upload progress' });
  const progressText = h('span', { class: 'progress-text', 'aria-live': 'polite', 'data-testid': 'upload-progress-text' });
  const submit = h('button', { type: 'submit', 'data-testid': 'upload-submit' }, 'Upload');
  const result = h('p', { class: 'notice', role: 'status', 'data-testid': 'upload-result', hidden: true });
  const form = h('form', { class: 'card', 'data-testid': 'upload-form' });
  const error = formError(form);
  file.addEventListener('change', () => {
    const chosen = file.files?.[0];
    if (chosen && !name.value.trim()) name.value = chosen.name.replace(/\.[^.]+$/, '');
  });
  add(form,
    h('h2', {}, 'Upload a CSV file'),
    h('div', { class: 'grid-2' }, field('File', file, 'Comma, semicolon, tab or pipe separated, with a header row.'), field('Name', name)),
    h('div', { class: 'progress-row', hidden: true }, progress, progressText),
    error.el,
    result,
    h('div', { class: 'actions' }, submit),
  );
  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    error.clear();
    result.hidden = true;
    const chosen = file.files?.[0];
    if (!chosen) {
      error.show({ message: 'Choose a file to upload.', field: 'file' });
      return;
    }
    const data = new FormData();
    data.append('name', name.value.trim() || chosen.name);
    data.append('file', chosen, chosen.name);
    submit.disabled = true;
    progress.parentElement.hidden = false;
    progress.value = 0;
    progressText.textContent = '0%';
    try {
      const answer = await upload('/api/data', data, (fraction) => {
        const percent = Math.round(fraction * 100);
        progress.value = percent;
        progressText.textContent = `${percent}%`;
      });
      const d = answer.dataset;
      progressText.textContent = 'Done';
      result.hidden = false;
      fill(result, `Uploaded “${d.name}”: ${d.rowCount} rows, ${d.schema.columns.length} columns. `,
        h('a', { href: `#/datasets/${d.id}`, 'data-testid': 'uploaded-dataset-link' }, 'View it'));
      form.reset();
      await onUploaded();
    } catch (err) {
      progressText.textContent = 'Failed';
      error.show(err);
    } finally {
      submit.disabled = false;
    }
  });
  return form;
}

/** A one-line summary of a column's statistics. */
export function statsSummary(stats) {
  if (!stats) return '—';
  switch (stats.type) {
    case 'numeric':
      return `min ${formatNumber(stats.min)} · max ${formatNumber(stats.max)} · mean ${formatNumber(stats.mean)} · std ${formatNumber(stats.std)}`;
    case 'categories': {
      const top = stats.categories.slice(0, 5).map((c) => `${c.value} (${c.count})`).join(', ');
      const more = stats.categories.length > 5 ? `, … ${stats.categories.length - 5} more` : '';
      return top + more;
    }
    case 'text':
      return `text, longest ${stats.maxLength ?? stats.max_length} characters`;
    case 'empty':
      return 'no values';
    default:
      return JSON.stringify(stats);
  }
}

export async function detail(main, { id }, { signal, go }) {
  const [{ dataset: d }, preview] = await Promise.all([
    api('GET', `/api/data/${encodeURIComponent(id)}`, { signal }),
    api('GET', `/api/data/${encodeURIComponent(id)}/preview?limit=20`, { signal }),
  ]);
  add(main,
    h('p', { class: 'crumbs' }, h('a', { href: '#/datasets' }, 'Datasets'), ' / ', d.name),
    pageTitle(d.name),
    h('dl', { class: 'facts' },
      h('dt', {}, 'File'), h('dd', {}, d.originalFilename),
      h('dt', {}, 'Rows'), h('dd', { 'data-testid': 'dataset-rows' }, String(d.rowCount)),
      h('dt', {}, 'Size'), h('dd', {}, formatBytes(d.sizeBytes)),
      h('dt', {}, 'Delimiter'), h('dd', {}, d.schema.delimiter === '\t' ? 'tab' : `“${d.schema.delimiter}”`),
      h('dt', {}, 'Uploaded'), h('dd', {}, formatDate(d.uploadedAt))),
    h('div', { class: 'actions' },
      h('a', { class: 'button', href: `#/models?dataset=${d.id}`, 'data-testid': 'dataset-new-model' }, 'Create a model'),
      h('button', {
        type: 'button',
        class: 'secondary',
        'data-testid': 'dataset-download',
        onclick: () => download(`/api/files/datasets/${d.id}`, d.originalFilename).catch((err) => announce(err.message)),
      }, 'Download CSV'),
      h('button', {
        type: 'button',
        class: 'danger',
        onclick: async () => {
          if (!confirmAction(`Delete dataset “${d.name}”?`)) return;
          try {
            await api('DELETE', `/api/data/${d.id}`);
            announce(`Deleted ${d.name}.`);
            go('/datasets');
          } catch (err) {
            announce(err.message);
          }
        },
      }, 'Delete')),
    h('section', { 'aria-labelledby': 'col-stats' },
      h('h2', { id: 'col-stats' }, 'Columns'),
      table(['Column', 'Kind', 'Missing', 'Distinct', 'Summary'], d.schema.columns.map((c) => [
        c.name, h('span', { class: `kind kind-${c.kind}` }, c.kind), String(c.missing), String(c.distinct), statsSummary(c.stats),
      ]), { 'data-testid': 'column-stats' })),
    h('section', { 'aria-labelledby': 'preview' },
      h('h2', { id: 'preview' }, `First ${preview.rows.length} rows`),
      table(preview.columns, preview.rows, { 'data-testid': 'preview-table', class: 'compact' })),
  );
}
