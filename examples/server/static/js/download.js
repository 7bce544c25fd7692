// Downloads need the bearer header, so they go through fetch() and a temporary object URL.

import { authHeaders, guard, ApiError } from './api.js';

export async function download(path, fallbackName) {
  const response = await fetch(path, { headers: authHeaders() });
  if (!response.ok) {
    guard(response.status, true);
    throw new ApiError(response.status, 'HTTP', `download failed (${response.status})`);
  }
  const disposition = response.headers.get('Content-Disposition') ?? '';
  const encoded = /filename\*=UTF-8''([^;]+)/i.exec(disposition)?.[1];
  const name = (encoded && decodeURIComponent(encoded)) ?? /filename="?([^";]+)"?/i.exec(disposition)?.[1] ?? fallbackName;
  const url = URL.createObjectURL(await response.blob());
  const link = Object.assign(document.createElement('a'), { href: url, download: name });
  document.body.append(link);
  link.click();
  link.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10000);
}
