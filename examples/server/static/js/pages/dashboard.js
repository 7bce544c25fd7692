// The overview: how many datasets, models and runs, and the latest runs.

import { apiList } from '../api.js';
import { add, formatDate, h, pageTitle, statusBadge, table } from '../dom.js';

export async function render(main, _params, { signal, user }) {
  add(main, pageTitle('Dashboard'), h('p', { class: 'lead' }, `Welcome${user ? `, ${user.displayName || user.username}` : ''}.`));
  const [{ datasets }, { models }, { runs }] = await Promise.all([
    apiList('/api/data', 'datasets', { signal }),
    apiList('/api/model', 'models', { signal }),
    apiList('/api/training', 'runs', { signal }),
  ]);
  const stat = (label, count, href, testid) =>
    h('a', { class: 'stat card', href, 'data-testid': testid },
      h('span', { class: 'stat-count' }, String(count)), h('span', { class: 'stat-label' }, label));
  add(main, h('section', { class: 'stats', 'aria-label': 'Counts' },
    stat('Datasets', datasets.length, '#/datasets', 'count-datasets'),
    stat('Models', models.length, '#/models', 'count-models'),
    stat('Training runs', runs.length, '#/training', 'count-runs')));

  const modelName = new Map(models.map((m) => [m.id, m.name]));
  const recent = [...runs].sort((a, b) => String(b.createdAt).localeCompare(String(a.createdAt))).slice(0, 5);
  add(main, h('section', { 'aria-labelledby': 'recent-runs' },
    h('h2', { id: 'recent-runs' }, 'Recent runs'),
    recent.length === 0
      ? h('p', { class: 'empty' }, 'No training yet. ', h('a', { href: datasets.length ? '#/models' : '#/datasets' },
        datasets.length ? 'Create a model and train it.' : 'Start by uploading a dataset.'))
      : table(['Model', 'Status', 'Epochs', 'Queued', ''], recent.map((r) => [
        modelName.get(r.modelId) ?? r.modelId,
        statusBadge(r.status),
        `${r.epochsCompleted ?? r.history?.length ?? 0} / ${r.params?.epochs ?? '?'}`,
        formatDate(r.createdAt),
        h('a', { href: `#/training/${r.id}`, 'aria-label': `Open the run of ${modelName.get(r.modelId) ?? 'a model'}` }, 'Open'),
      ]), { 'data-testid': 'recent-runs' })));
}
