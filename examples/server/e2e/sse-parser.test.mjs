// The dashboard's SSE reader (static/js/sse.js) against a real HTTP stream cut at awkward places.
// Run with `node --test` in this folder; no browser needed.

import assert from 'node:assert/strict';
import http from 'node:http';
import { after, before, test } from 'node:test';

// sse.js reads the token from localStorage, which Node does not have.
const store = new Map([['modelyard.token', 'tok-123']]);
globalThis.localStorage = {
  getItem: (k) => store.get(k) ?? null,
  setItem: (k, v) => store.set(k, v),
  removeItem: (k) => store.delete(k),
};

const { eventStream } = await import('../static/js/sse.js');

let server;
let base;
let seenAuthorization = null;

// Each chunk is written separately so events and even lines arrive split.
const chunks = [
  ': keep-alive\n\n',
  'event: epoch\ndata: {"epoch":1,"lo',
  'ss":0.9}\n\n',
  'event: epoch\r\ndata: {"epoch":2,"loss":0.5}\r\n\r\n',
  'id: 7\nevent: status\ndata: {"status":"completed"}\n',
  '\n',
  'data: first line\ndata: second line\n\n',
];

before(async () => {
  server = http.createServer(async (req, res) => {
    seenAuthorization = req.headers.authorization;
    if (req.url === '/denied') {
      res.writeHead(401, { 'Content-Type': 'application/json' });
      res.end('{"error":{"code":"UNAUTHORIZED","message":"no"}}');
      return;
    }
    res.writeHead(200, { 'Content-Type': 'text/event-stream' });
    for (const chunk of chunks) {
      res.write(chunk);
      await new Promise((r) => setTimeout(r, 5));
    }
    res.end();
  });
  await new Promise((r) => server.listen(0, '127.0.0.1', r));
  base = `http://127.0.0.1:${server.address().port}`;
});

after(() => {
  server.closeAllConnections();
  server.close();
});

test('events split across chunks, CRLF lines, ids and multi-line data are read whole', async () => {
  const events = [];
  for await (const event of eventStream(`${base}/events`)) events.push(event);
  assert.deepEqual(events, [
    { event: 'epoch', data: { epoch: 1, loss: 0.9 }, id: null },
    { event: 'epoch', data: { epoch: 2, loss: 0.5 }, id: null },
    { event: 'status', data: { status: 'completed' }, id: '7' },
    { event: 'message', data: 'first line\nsecond line', id: null },
  ]);
});

test('the stream is opened with the bearer token', async () => {
  for await (const _ of eventStream(`${base}/events`)) break;
  assert.equal(seenAuthorization, 'Bearer tok-123');
});

test('a refused stream throws with its status', async () => {
  await assert.rejects(async () => {
    for await (const _ of eventStream(`${base}/denied`)) break;
  }, (err) => err.status === 401);
});
