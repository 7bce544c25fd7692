// The HTTP API client: bearer token, JSON bodies, the server's error shape, the 401 guard.

const TOKEN_KEY = 'modelyard.token';

/** An error answered by the server: `{"error": {"code", "message", "field"?}}`. */
export class ApiError extends Error {
  constructor(status, code, message, field) {
    super(message);
    this.status = status;
    this.code = code;
    this.field = field;
  }
}

let unauthorizedHandler = () => {};

/** What to do when any call answers 401: the app clears the session and returns to login. */
export function onUnauthorized(handler) {
  unauthorizedHandler = handler;
}

export function getToken() {
  return localStorage.getItem(TOKEN_KEY);
}

export function setToken(token) {
  localStorage.setItem(TOKEN_KEY, token);
}

export function clearToken() {
  localStorage.removeItem(TOKEN_KEY);
}

export function authHeaders() {
  const token = getToken();
  return token ? { Authorization: `Bearer ${token}` } : {};
}

async function errorFrom(response) {
  let body = null;
  try {
    body = await response.json();
  } catch {
    // Not JSON (a proxy's page, an empty body): fall back to the status text.
  }
  const e = body?.error;
  const retry = response.headers.get('Retry-After');
  let message = e?.message ?? `${response.status} ${response.statusText || 'request failed'}`;
  if (response.status === 429 && retry) message += ` (try again in ${retry} s)`;
  return new ApiError(response.status, e?.code ?? 'HTTP', message, e?.field);
}

/** The status-401 guard. Calls that sign in report bad credentials themselves instead. */
export function guard(status, guarded) {
  if (status === 401 && guarded) unauthorizedHandler();
}

/**
 * Every item of a paged list (`GET /api/data`, `/api/model`, `/api/training`, `/api/notif`),
 * following `nextCursor` page by page; answers `{ [key]: items }` like the single call.
 */
export async function apiList(path, key, { signal } = {}) {
  const items = [];
  let cursor = null;
  do {
    const query = new URLSearchParams({ limit: '1000' });
    if (cursor) query.set('cursor', cursor);
    const page = await api('GET', `${path}?${query}`, { signal });
    items.push(...(page[key] ?? []));
    cursor = page.nextCursor;
  } while (cursor);
  return { [key]: items };
}

/**
 * Calls the API. `body` is sent as JSON; the answer's JSON is returned (null for 204).
 * `guarded: false` keeps a 401 from ending the session (login with a wrong password).
 */
export async function api(method, path, { body, guarded = true, signal } = {}) {
  const headers = { Accept: 'application/json', ...authHeaders() };
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  let response;
  try {
    response = await fetch(path, {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
      signal,
    });
  } catch (err) {
    if (err.name === 'AbortError') throw err;
    throw new ApiError(0, 'UNAVAILABLE', 'The server cannot be reached.');
  }
  if (!response.ok) {
    guard(response.status, guarded);
    throw await errorFrom(response);
  }
  if (response.status === 204) return null;
  const text = await response.text();
  return text ? JSON.parse(text) : null;
}

/**
 * Sends a multipart form with upload progress: fetch() cannot report request progress,
 * XMLHttpRequest's upload events can. `onProgress(fraction)` gets 0..1.
 */
export function upload(path, formData, onProgress) {
  return new Promise((resolve, reject) => {
    const xhr = new XMLHttpRequest();
    xhr.open('POST', path);
    const token = getToken();
    if (token) xhr.setRequestHeader('Authorization', `Bearer ${token}`);
    xhr.setRequestHeader('Accept', 'application/json');
    xhr.upload.addEventListener('progress', (event) => {
      if (event.lengthComputable) onProgress(event.loaded / event.total);
    });
    xhr.addEventListener('load', () => {
      let body = null;
      try {
        body = xhr.responseText ? JSON.parse(xhr.responseText) : null;
      } catch {
        body = null;
      }
      if (xhr.status >= 200 && xhr.status < 300) {
        onProgress(1);
        resolve(body);
        return;
      }
      guard(xhr.status, true);
      const e = body?.error;
      const fallback = xhr.status === 413 ? 'The file is too large.' : `${xhr.status} upload failed`;
      reject(new ApiError(xhr.status, e?.code ?? 'HTTP', e?.message ?? fallback, e?.field));
    });
    xhr.addEventListener('error', () => reject(new ApiError(0, 'UNAVAILABLE', 'The upload was interrupted.')));
    xhr.addEventListener('abort', () => reject(new ApiError(0, 'ABORTED', 'The upload was cancelled.')));
    xhr.send(formData);
  });
}
