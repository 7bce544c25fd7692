// The signed-in user's notifications, kept live over SSE: the unread badge and page updates.

import { apiList } from './api.js';
import { announce } from './dom.js';
import { eventStream } from './sse.js';

let controller = null;
let unread = new Map(); // id -> notification, unread ones only
const listeners = new Set();

/** Calls `fn(notification)` for each live notification; returns the unsubscribe function. */
export function subscribe(fn) {
  listeners.add(fn);
  return () => listeners.delete(fn);
}

/** Updates the badge from a fresh list (the notifications page loads one). */
export function setAll(notifications) {
  unread = new Map(notifications.filter((n) => !n.read).map((n) => [n.id, n]));
  renderBadge();
}

export function markedRead(id) {
  unread.delete(id);
  renderBadge();
}

function renderBadge() {
  const badge = document.querySelector('[data-testid=unread-count]');
  if (!badge) return;
  badge.hidden = unread.size === 0;
  badge.textContent = String(unread.size);
  badge.setAttribute('aria-label', `${unread.size} unread`);
}

export function start() {
  if (controller) return;
  controller = new AbortController();
  run(controller.signal);
}

export function stop() {
  controller?.abort();
  controller = null;
  unread.clear();
  renderBadge();
}

async function run(signal) {
  try {
    const { notifications } = await apiList('/api/notif', 'notifications', { signal });
    setAll(notifications ?? []);
  } catch {
    // The badge is a convenience; the stream below still runs.
  }
  let delay = 1000;
  while (!signal.aborted) {
    try {
      for await (const { data } of eventStream('/api/notif/events', signal)) {
        delay = 1000;
        const n = data?.notification ?? data;
        if (!n || typeof n !== 'object' || !n.id) continue;
        if (!n.read) unread.set(n.id, n);
        renderBadge();
        if (n.message) announce(n.message);
        for (const fn of listeners) fn(n);
      }
    } catch (err) {
      if (signal.aborted || err.status === 401) return;
    }
    // The stream ended (server restart, idle proxy): reconnect with a growing pause.
    await new Promise((resolve) => setTimeout(resolve, delay));
    delay = Math.min(delay * 2, 30000);
  }
}
