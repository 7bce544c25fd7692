// Small DOM helpers: one element builder, form errors, announcements and formatters.

/** Builds an element: h('a', {href: '#/', class: 'x', onclick: fn}, 'text', child, [more]). */
export function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs ?? {})) {
    if (value === null || value === undefined || value === false) continue;
    if (key.startsWith('on') && typeof value === 'function') {
      el.addEventListener(key.slice(2).toLowerCase(), value);
    } else if (key === 'class') {
      el.className = value;
    } else if (key === 'value' && 'value' in el) {
      el.value = value;
    } else if (key === 'checked' || key === 'selected' || key === 'disabled') {
      el[key] = Boolean(value);
    } else {
      el.setAttribute(key, value === true ? '' : String(value));
    }
  }
  append(el, children);
  return el;
}

/** Appends children; unlike Element.append, skips null and false. */
export function add(el, ...children) {
  append(el, children);
  return el;
}

/** Replaces an element's children; unlike replaceChildren, skips null and false. */
export function fill(el, ...children) {
  el.replaceChildren();
  append(el, children);
  return el;
}

function append(el, children) {
  for (const child of children) {
    if (child === null || child === undefined || child === false) continue;
    if (Array.isArray(child)) append(el, child);
    else el.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
}

/** A labelled form field; `control` gets an id so the label points at it. */
export function field(labelText, control, hint) {
  const id = control.id || `f-${Math.random().toString(36).slice(2, 9)}`;
  control.id = id;
  const hintEl = hint ? h('small', { class: 'hint', id: `${id}-hint` }, hint) : null;
  if (hintEl) control.setAttribute('aria-describedby', hintEl.id);
  return h('div', { class: 'field' }, h('label', { for: id }, labelText), control, hintEl);
}

/** An error box for a form; `show(err)` also marks the failing field when the server names it. */
export function formError(form) {
  const box = h('div', { class: 'form-error', role: 'alert', 'data-testid': 'form-error', hidden: true });
  return {
    el: box,
    clear() {
      box.hidden = true;
      box.textContent = '';
      form.querySelectorAll('[aria-invalid]').forEach((el) => el.removeAttribute('aria-invalid'));
    },
    show(err) {
      box.hidden = false;
      box.textContent = err?.message ?? String(err);
      const name = err?.field;
      const control = name ? form.querySelector(`[name="${CSS.escape(name)}"]`) : null;
      if (control) {
        control.setAttribute('aria-invalid', 'true');
        control.focus();
      }
    },
  };
}

/** Says something to screen readers and shows it briefly. */
export function announce(message) {
  const status = document.getElementById('status');
  status.textContent = message;
  status.classList.add('visible');
  clearTimeout(announce.timer);
  announce.timer = setTimeout(() => status.classList.remove('visible'), 4000);
}

/** A page title that takes focus after navigation, so keyboard and screen reader users land on it. */
export function pageTitle(text) {
  return h('h1', { tabindex: '-1', 'data-testid': 'page-title' }, text);
}

/** A table from a header list and row arrays of cells (strings or nodes). */
export function table(headers, rows, attrs = {}) {
  return h('div', { class: 'table-wrap' },
    h('table', attrs,
      h('thead', {}, h('tr', {}, headers.map((t) => h('th', { scope: 'col' }, t)))),
      h('tbody', {}, rows.map((cells) => h('tr', {}, cells.map((c) => h('td', {}, c)))))));
}

export function formatBytes(n) {
  if (n < 1024) return `${n} B`;
  if (n < 1024 * 1024) return `${(n / 1024).toFixed(1)} KiB`;
  return `${(n / 1024 / 1024).toFixed(1)} MiB`;
}

export function formatDate(iso) {
  if (!iso) return '—';
  const d = new Date(iso);
  return Number.isNaN(d.getTime()) ? iso : d.toLocaleString();
}

export function formatNumber(x, digits = 4) {
  if (x === null || x === undefined) return '—';
  if (typeof x !== 'number') return String(x);
  // Rounded, without trailing zeros: 4.4 rather than 4.4000.
  return Number.isInteger(x) ? String(x) : String(Number(x.toFixed(digits)));
}

export function statusBadge(status) {
  return h('span', { class: `run-status run-${status}`, 'data-testid': 'run-status' }, status);
}

/** The query part of the hash route (`#/models?dataset=...`). */
export function hashQuery() {
  const query = location.hash.split('?')[1] ?? '';
  return new URLSearchParams(query);
}

/** Asks before a destructive action. */
export function confirmAction(message) {
  return window.confirm(message);
}
