// Notifications: the list, marking read, and new ones arriving live.

import { api, apiList } from '../api.js';
import { add, announce, fill, formatDate, h, pageTitle } from '../dom.js';
import * as live from '../live-notifications.js';

export async function render(main, _params, { signal }) {
  add(main, pageTitle('Notifications'));
  const markAll = h('button', { type: 'button', class: 'secondary', 'data-testid': 'mark-all-read' }, 'Mark all read');
  const listEl = h('ul', { class: 'notifications', 'data-testid': 'notifications-list', 'aria-live': 'polite' });
  add(main, h('div', { class: 'actions' }, markAll), listEl);

  let items = (await apiList('/api/notif', 'notifications', { signal })).notifications ?? [];
  live.setAll(items);

  async function markRead(n) {
    try {
      await api('POST', `/api/notif/${n.id}/read`);
      n.read = true;
      live.markedRead(n.id);
      render();
    } catch (err) {
      announce(err.message);
    }
  }

  function render() {
    items.sort((a, b) => String(b.createdAt).localeCompare(String(a.createdAt)));
    markAll.disabled = !items.some((n) => !n.read);
    if (items.length === 0) {
      fill(listEl, h('li', { class: 'empty' }, 'Nothing yet. Finished, failed and cancelled runs appear here.'));
      return;
    }
    fill(listEl, ...items.map((n) => h('li', {
      class: `notification card ${n.read ? 'read' : 'unread'} kind-${n.kind}`,
      'data-testid': 'notification',
      'data-kind': n.kind,
      'data-read': String(n.read),
    },
    h('div', {},
      h('p', { class: 'message' }, n.read ? null : h('span', { class: 'visually-hidden' }, 'Unread: '), n.message),
      h('p', { class: 'meta' }, formatDate(n.createdAt),
        n.runId ? [' · ', h('a', { href: `#/training/${n.runId}` }, 'open run')] : null)),
    n.read ? null : h('button', {
      type: 'button', class: 'secondary', 'data-testid': 'mark-read',
      'aria-label': `Mark read: ${n.message}`, onclick: () => markRead(n),
    }, 'Mark read'))));
  }

  markAll.addEventListener('click', async () => {
    for (const n of items.filter((x) => !x.read)) await markRead(n);
  });

  render();
  return live.subscribe((n) => {
    const at = items.findIndex((x) => x.id === n.id);
    if (at === -1) items.push(n);
    else items[at] = n;
    render();
  });
}
