// The Express example over real HTTP on loopback: register, upload iris (multipart), train with
// live Server-Sent Events, predict, download, notifications, and one user never reaching
// another's work.
import assert from 'node:assert/strict'
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { test } from 'node:test'
import { fileURLToPath } from 'node:url'

import { open } from 'modelyard'

import { createApp } from '../app.mjs'

const IRIS = fileURLToPath(new URL('../../../data/iris.csv', import.meta.url))
const PASSWORD = 'a long enough passphrase'
const ROW = { sepal_length: 5.1, sepal_width: 3.5, petal_length: 1.4, petal_width: 0.2 }

/** The app on a fresh store and a free port; stopped when the test ends. */
async function start(t) {
  const dir = mkdtempSync(join(tmpdir(), 'modelyard-express-'))
  const yard = await open({ store: `sled://${join(dir, 'data')}`, jwtSecret: 'x'.repeat(40) })
  const server = createApp(yard).listen(0, '127.0.0.1')
  await new Promise((ready) => server.once('listening', ready))
  t.after(async () => {
    server.closeAllConnections()
    await new Promise((closed) => server.close(closed))
    await yard.close()
    rmSync(dir, { recursive: true, force: true })
  })
  const base = `http://127.0.0.1:${server.address().port}`
  /** A JSON call; `token` signs it. Resolves to { status, body }. */
  const call = async (method, path, { token, json, form } = {}) => {
    const headers = token ? { authorization: `Bearer ${token}` } : {}
    let body
    if (json !== undefined) {
      headers['content-type'] = 'application/json'
      body = JSON.stringify(json)
    } else if (form) {
      body = form
    }
    const res = await fetch(base + path, { method, headers, body })
    const type = res.headers.get('content-type') ?? ''
    return { status: res.status, headers: res.headers, body: type.includes('json') ? await res.json() : Buffer.from(await res.arrayBuffer()) }
  }
  return { base, call }
}

async function signUp(call, name) {
  const { status, body } = await call('POST', '/api/auth/register', {
    json: { username: name, email: `${name}@example.com`, password: PASSWORD },
  })
  assert.equal(status, 201, JSON.stringify(body))
  return body.token
}

function irisForm(name) {
  const form = new FormData()
  form.append('name', name)
  form.append('file', new Blob([readFileSync(IRIS)], { type: 'text/csv' }), 'iris.csv')
  return form
}

/** Reads Server-Sent Events from a fetch response until `stop(events)` is true. */
async function readEvents(res, stop) {
  const events = []
  const decoder = new TextDecoder()
  let buffer = ''
  for await (const chunk of res.body) {
    buffer += decoder.decode(chunk, { stream: true })
    let end
    while ((end = buffer.indexOf('\n\n')) >= 0) {
      const block = buffer.slice(0, end)
      buffer = buffer.slice(end + 2)
      const event = block.match(/^event: (.*)$/m)?.[1]
      const data = block.match(/^data: (.*)$/m)?.[1]
      if (event) events.push({ event, data: JSON.parse(data) })
    }
    if (stop(events)) break
  }
  return events
}

test('register, upload, train with live events, predict, evaluate, download', async (t) => {
  const { base, call } = await start(t)
  const token = await signUp(call, 'ada')
  const me = await call('GET', '/api/auth/me', { token })
  assert.equal(me.body.user.username, 'ada')

  const spools = () => readdirSync(tmpdir()).filter((name) => name.startsWith('modelyard-upload-')).length
  const spooledBefore = spools()
  const uploaded = await call('POST', '/api/data', { token, form: irisForm('iris') })
  assert.equal(uploaded.status, 201, JSON.stringify(uploaded.body))
  const dataset = uploaded.body.dataset
  assert.equal(dataset.rowCount, 150)
  assert.equal(dataset.originalFilename, 'iris.csv')
  // The upload went through a spool file, which is gone with the response.
  await new Promise((later) => setTimeout(later, 50))
  assert.equal(spools(), spooledBefore)
  const preview = await call('GET', `/api/data/${dataset.id}/preview?limit=2`, { token })
  assert.equal(preview.body.rows.length, 2)

  const created = await call('POST', '/api/model', {
    token,
    json: { name: 'iris mlp', datasetId: dataset.id, target: 'species' },
  })
  assert.equal(created.status, 201, JSON.stringify(created.body))
  const model = created.body.model

  const started = await call('POST', '/api/training/start', {
    token,
    json: { modelId: model.id, epochs: 60, batchSize: 16 },
  })
  assert.equal(started.status, 202, JSON.stringify(started.body))
  const run = started.body.run

  // The live stream, as the dashboard reads it: every epoch once, in order, then the end.
  const res = await fetch(`${base}/api/training/${run.id}/events`, {
    headers: { authorization: `Bearer ${token}` },
  })
  assert.equal(res.headers.get('content-type'), 'text/event-stream')
  const events = await readEvents(res, (seen) => seen.at(-1)?.data.status === 'completed')
  const epochs = events.filter((e) => e.event === 'epoch').map((e) => e.data.metrics.epoch)
  assert.deepEqual(epochs, Array.from({ length: 60 }, (_, i) => i + 1))
  assert.equal(events.at(-1).event, 'status')

  const history = await call('GET', `/api/training/${run.id}/history`, { token })
  assert.equal(history.body.history.length, 60)
  const predicted = await call('POST', `/api/model/${model.id}/predict`, { token, json: { rows: [ROW] } })
  assert.equal(predicted.status, 200, JSON.stringify(predicted.body))
  assert.equal(predicted.body.predictions[0].label, 'setosa')
  const evaluated = await call('POST', `/api/model/${model.id}/evaluate`, { token, json: { datasetId: dataset.id } })
  assert.ok(evaluated.body.metrics.accuracy > 0.9, JSON.stringify(evaluated.body.metrics))

  const csv = await call('GET', `/api/files/datasets/${dataset.id}`, { token })
  assert.match(csv.headers.get('content-disposition'), /^attachment; filename="?iris.csv"?$/)
  assert.equal(csv.body.toString().split(/\r?\n/)[0], readFileSync(IRIS, 'utf8').split(/\r?\n/)[0])
  const zip = await call('GET', `/api/files/models/${model.id}`, { token })
  assert.equal(zip.body.subarray(0, 2).toString(), 'PK')

  const notifications = await call('GET', '/api/notif', { token })
  const [notification] = notifications.body.notifications
  assert.equal(notification.kind, 'run_completed')
  assert.equal((await call('POST', `/api/notif/${notification.id}/read`, { token })).status, 204)

  assert.equal((await call('POST', '/api/auth/logout', { token })).status, 204)
  assert.equal((await call('GET', '/api/auth/me', { token })).status, 401)
})

test('errors are JSON with the library\'s codes, and B never reaches A\'s work', async (t) => {
  const { call } = await start(t)
  const ada = await signUp(call, 'ada')
  const bob = await signUp(call, 'bob')
  const dataset = (await call('POST', '/api/data', { token: ada, form: irisForm('iris') })).body.dataset
  const model = (
    await call('POST', '/api/model', { token: ada, json: { name: 'm', datasetId: dataset.id, target: 'species' } })
  ).body.model

  assert.equal((await call('GET', '/api/data')).status, 401)
  assert.deepEqual((await call('GET', '/api/data', { token: 'forged' })).body.error.code, 'UNAUTHORIZED')
  for (const path of [`/api/data/${dataset.id}`, `/api/model/${model.id}`, `/api/files/datasets/${dataset.id}`]) {
    const { status, body } = await call('GET', path, { token: bob })
    assert.equal(status, 404, path)
    assert.equal(body.error.code, 'NOT_FOUND')
  }
  assert.deepEqual((await call('GET', '/api/data', { token: bob })).body.datasets, [])
  const refused = await call('POST', '/api/training/start', { token: ada, json: { modelId: model.id, epochs: 0 } })
  assert.equal(refused.status, 400)
  assert.deepEqual(refused.body.error.code, 'VALIDATION')
  assert.equal(refused.body.error.field, 'epochs')
  const taken = await call('POST', '/api/auth/register', {
    json: { username: 'ada', email: 'ada@example.com', password: PASSWORD },
  })
  assert.equal(taken.status, 409)
  const noFile = await call('POST', '/api/data', { token: ada, form: new FormData() })
  assert.equal(noFile.status, 400)
  assert.equal(noFile.body.error.field, 'file')
})
