// The dashboard's entry: a hash router, the auth guard and the page shell.

import { api, clearToken, getToken, onUnauthorized } from './js/api.js';
import { announce } from './js/dom.js';
import * as liveNotifications from './js/live-notifications.js';
import * as auth from './js/pages/auth.js';
import * as dashboard from './js/pages/dashboard.js';
import * as datasets from './js/pages/datasets.js';
import * as models from './js/pages/models.js';
import * as training from './js/pages/training.js';
import * as predict from './js/pages/predict.js';
import * as notifications from './js/pages/notifications.js';

/** Routes: a pattern of `/segment/:param` and the page that renders it. */
const routes = [
  { path: '/login', page: auth.login, public: true },
  { path: '/register', page: auth.register, public: true },
  { path: '/', page: dashboard.render, nav: 'dashboard' },
  { path: '/datasets', page: datasets.list, nav: 'datasets' },
  { path: '/datasets/:id', page: datasets.detail, nav: 'datasets' },
  { path: '/models', page: models.list, nav: 'models' },
  { path: '/models/:id', page: models.detail, nav: 'models' },
  { path: '/training', page: training.list, nav: 'training' },
  { path: '/training/:id', page: training.detail, nav: 'training' },
  { path: '/predict', page: predict.render, nav: 'predict' },
  { path: '/predict/:id', page: predict.render, nav: 'predict' },
  { path: '/notifications', page: notifications.render, nav: 'notifications' },
];

const main = document.getElementById('main');
const nav = document.getElementById('nav');
const navToggle = document.querySelector('.nav-toggle');
let current = null; // { controller, cleanup }
let user = null;

function match(hashPath) {
  const parts = hashPath.split('/').filter(Boolean);
  for (const route of routes) {
    const pattern = route.path.split('/').filter(Boolean);
    if (pattern.length !== parts.length) continue;
    const params = {};
    const ok = pattern.every((seg, i) => {
      if (seg.startsWith(':')) {
        params[seg.slice(1)] = decodeURIComponent(parts[i]);
        return true;
      }
      return seg === parts[i];
    });
    if (ok) return { route, params };
  }
  return null;
}

/** Navigates to a hash path such as `/models/123`. */
export function go(path) {
  if (location.hash === `#${path}`) route();
  else location.hash = `#${path}`;
}

function showShell(signedIn) {
  nav.hidden = !signedIn;
  navToggle.hidden = !signedIn;
  document.querySelector('[data-testid=current-user]').textContent = signedIn && user ? user.username : '';
}

async function ensureUser() {
  if (user) return user;
  const answer = await api('GET', '/api/auth/me');
  user = answer.user;
  liveNotifications.start();
  return user;
}

async function route() {
  const hashPath = location.hash.replace(/^#/, '').split('?')[0] || '/';
  const found = match(hashPath);
  if (current) {
    current.controller.abort();
    if (typeof current.cleanup === 'function') current.cleanup();
    current = null;
  }
  if (!found) {
    main.replaceChildren();
    main.append(Object.assign(document.createElement('h1'), { textContent: 'Page not found' }));
    return;
  }
  const { route: r, params } = found;
  if (!r.public) {
    if (!getToken()) {
      go('/login');
      return;
    }
    try {
      await ensureUser();
    } catch (err) {
      if (err.status !== 401) announce(err.message);
      return; // a 401 has already sent us to login
    }
  }
  showShell(!r.public && Boolean(user));
  for (const link of nav.querySelectorAll('[data-nav]')) {
    if (link.dataset.nav === r.nav) link.setAttribute('aria-current', 'page');
    else link.removeAttribute('aria-current');
  }
  nav.classList.remove('open');
  navToggle.setAttribute('aria-expanded', 'false');

  const controller = new AbortController();
  current = { controller, cleanup: null };
  main.replaceChildren();
  main.setAttribute('aria-busy', 'true');
  try {
    const cleanup = await r.page(main, params, { signal: controller.signal, go, user, signedIn });
    if (current?.controller === controller) current.cleanup = cleanup;
    else if (typeof cleanup === 'function') cleanup();
  } catch (err) {
    if (err.name !== 'AbortError' && err.status !== 401) {
      main.append(Object.assign(document.createElement('p'), {
        className: 'form-error', role: 'alert', textContent: err.message,
      }));
    }
  } finally {
    main.removeAttribute('aria-busy');
  }
  if (current?.controller === controller) {
    (main.querySelector('h1') ?? main).focus({ preventScroll: false });
  }
}

/** Called by the login page with the answer of POST /api/auth/login. */
function signedIn(session) {
  user = session.user;
  liveNotifications.start();
}

function signOut(message) {
  clearToken();
  user = null;
  liveNotifications.stop();
  showShell(false);
  if (message) announce(message);
  go('/login');
}

onUnauthorized(() => {
  if (getToken() || user) signOut('Your session has ended. Please sign in again.');
  else go('/login');
});

document.querySelector('[data-testid=logout]').addEventListener('click', async () => {
  try {
    await api('POST', '/api/auth/logout', { guarded: false });
  } catch {
    // The token is forgotten either way; a failed logout call must not keep the user signed in.
  }
  signOut('You are signed out.');
});

navToggle.addEventListener('click', () => {
  const open = !nav.classList.contains('open');
  nav.classList.toggle('open', open);
  navToggle.setAttribute('aria-expanded', String(open));
});

window.addEventListener('hashchange', route);
route();
