// Server-Sent Events over fetch(): EventSource cannot send an Authorization header.

import { authHeaders, guard, ApiError } from './api.js';

/**
 * Opens an event stream and yields `{event, data, id}` for each event; `data` is parsed as JSON
 * when it is JSON. Ends when the server closes the stream or `signal` aborts.
 */
export async function* eventStream(path, signal) {
  const response = await fetch(path, {
    headers: { Accept: 'text/event-stream', ...authHeaders() },
    cache: 'no-store',
    signal,
  });
  if (!response.ok || !response.body) {
    guard(response.status, true);
    throw new ApiError(response.status, 'HTTP', `event stream answered ${response.status}`);
  }
  const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
  let buffer = '';
  let event = { event: 'message', data: [], id: null };
  try {
    for (;;) {
      const { value, done } = await reader.read();
      if (done) return;
      buffer += value;
      // Lines end with \n, \r\n or \r; keep the last partial line for the next chunk.
      const lines = buffer.split(/\r\n|\r|\n/);
      buffer = lines.pop();
      for (const line of lines) {
        if (line === '') {
          if (event.data.length) yield finish(event);
          event = { event: 'message', data: [], id: null };
          continue;
        }
        if (line.startsWith(':')) continue; // a keep-alive comment
        const colon = line.indexOf(':');
        const name = colon === -1 ? line : line.slice(0, colon);
        let value = colon === -1 ? '' : line.slice(colon + 1);
        if (value.startsWith(' ')) value = value.slice(1);
        if (name === 'event') event.event = value;
        else if (name === 'data') event.data.push(value);
        else if (name === 'id') event.id = value;
      }
    }
  } finally {
    reader.cancel().catch(() => {});
  }
}

function finish(event) {
  const text = event.data.join('\n');
  let data = text;
  try {
    data = JSON.parse(text);
  } catch {
    // Plain text data stays a string.
  }
  return { event: event.event, data, id: event.id };
}
