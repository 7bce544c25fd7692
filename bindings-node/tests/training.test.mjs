import assert from 'node:assert/strict'
import { test } from 'node:test'

import { ROW, irisModel, irisSplit, openYard, register } from './helpers.mjs'

test('iris trains to >= 0.93 test accuracy', async (t) => {
  const ada = await register(await openYard(t), 'ada')
  const [trainCsv, testCsv] = irisSplit()
  const train = await ada.uploadDataset('iris-train', trainCsv)
  const held = await ada.uploadDataset('iris-test', new Uint8Array(testCsv))
  const model = await ada.createModel({ name: 'iris mlp', datasetId: train.id, target: 'species' })
  assert.equal(model.task, 'classification')
  const run = await ada.train(model.id, { epochs: 100, seed: 7 })
  const finished = await run.wait()
  assert.equal(finished.status, 'completed', finished.error)
  const evaluation = await ada.evaluate(model.id, held.id)
  assert.ok(evaluation.metrics.accuracy >= 0.93, JSON.stringify(evaluation.metrics))
  assert.equal((await ada.model(model.id)).latestVersion.runId, finished.id)
  const [prediction] = await ada.predict(model.id, [ROW])
  assert.equal(prediction.label, 'setosa')
})

test('events come in order, without duplicates, and end after the final status', async (t) => {
  const ada = await register(await openYard(t), 'ada')
  const model = await irisModel(ada)
  const run = await ada.train(model.id, { epochs: 8 })
  const events = []
  for await (const event of run.events()) events.push(event)
  const epochs = events.filter((e) => e.type === 'epoch').map((e) => e.metrics.epoch)
  assert.deepEqual(epochs, [1, 2, 3, 4, 5, 6, 7, 8])
  assert.deepEqual(events.at(-1), { type: 'status', status: 'completed', error: null })
  assert.deepEqual((await run.history()).map((m) => m.epoch), epochs)
})

test('leaving the loop early releases the stream; the run goes on', async (t) => {
  const ada = await register(await openYard(t), 'ada')
  const model = await irisModel(ada)
  const run = await ada.train(model.id, { epochs: 30 })
  let seen = 0
  for await (const event of run.events()) {
    if (event.type === 'epoch' && ++seen === 2) break
  }
  assert.equal(seen, 2)
  assert.equal((await run.wait()).status, 'completed')
})

test('a wait is aborted by its signal or its timeout, and the run is not', async (t) => {
  const ada = await register(await openYard(t), 'ada')
  const model = await irisModel(ada)
  const run = await ada.train(model.id, { epochs: 5000, batchSize: 1 })
  const controller = new AbortController()
  setTimeout(() => controller.abort(), 50)
  await assert.rejects(run.wait({ signal: controller.signal }), { name: 'AbortError', code: 'ABORT_ERR' })
  await assert.rejects(run.wait({ timeoutMs: 30 }), { code: 'TIMEOUT' })
  assert.ok(['queued', 'running'].includes(await run.status()))
  await run.cancel()
  assert.equal((await run.wait({ timeoutMs: 30_000 })).status, 'cancelled')
})

test('a finished run notifies, and the model downloads as a zip', async (t) => {
  const ada = await register(await openYard(t), 'ada')
  const model = await irisModel(ada)
  await (await ada.train(model.id, { epochs: 3 })).wait()
  const [notification] = await ada.notifications()
  assert.equal(notification.kind, 'run_completed')
  assert.equal(notification.read, false)
  assert.equal((await ada.markRead(notification.id)).read, true)
  const archive = await ada.modelArchive(model.id)
  assert.match(archive.filename, /\.zip$/)
  assert.ok(Buffer.isBuffer(archive.data) && archive.data.subarray(0, 2).toString() === 'PK')
  const summary = await ada.summary(model.id)
  assert.ok(summary.totalParams > 0)
  const runs = await ada.runs()
  assert.equal(runs.length, 1)
  assert.equal((await (await ada.run(runs[0].id)).get()).status, 'completed')
})

test('notifications arrive live, and leaving the loop releases the stream', async (t) => {
  const ada = await register(await openYard(t), 'ada')
  const model = await irisModel(ada)
  const live = ada.notificationEvents()[Symbol.asyncIterator]()
  const first = live.next() // subscribes, on the library's runtime
  // Runs until one's notification comes through: the subscription may land after the first.
  let got = null
  for (let i = 0; i < 10 && !got; i++) {
    await (await ada.train(model.id, { epochs: 1 })).wait()
    got = await Promise.race([first, new Promise((done) => setTimeout(() => done(null), 500))])
  }
  assert.ok(got, 'no notification came through')
  assert.equal(got.done, false)
  assert.equal(got.value.kind, 'run_completed')
  assert.deepEqual(await live.return(), { value: undefined, done: true })
  assert.deepEqual(await live.next(), { value: undefined, done: true })
})

// A predict of a few rows is first tried on the JS thread (settled at once when nothing has to be
// waited for); a larger one, or one that must load the model, goes to the runtime. Both ways
// give the same answers and the same errors, always as a Promise.
test('predict answers the same on the JS thread and on the runtime', async (t) => {
  const ada = await register(await openYard(t), 'ada')
  const model = await irisModel(ada)
  await assert.rejects(ada.predict(model.id, [ROW]), { code: 'CONFLICT' })
  assert.equal((await (await ada.train(model.id, { epochs: 30, seed: 3 })).wait()).status, 'completed')

  const loading = await ada.predict(model.id, [ROW]) // loads the model: on the runtime
  const loaded = await ada.predict(model.id, [ROW]) // loaded: on the JS thread
  assert.deepEqual(loaded, loading)
  const many = Array.from({ length: 300 }, () => ROW) // over the JS-thread size: on the runtime
  const predictions = await ada.predict(model.id, many)
  assert.equal(predictions.length, 300)
  for (const prediction of predictions) assert.deepEqual(prediction, loaded[0])

  const refused = [
    [[{ ...ROW, sepal_length: 5n }], 'VALIDATION'],
    [undefined, 'VALIDATION'],
    [[], 'VALIDATION'],
    [[{ ...ROW, sepal_length: 'wide' }], 'VALIDATION'],
  ]
  for (const [rows, code] of refused) {
    const call = ada.predict(model.id, rows)
    assert.ok(call instanceof Promise, 'an error is a rejection, not a throw')
    await assert.rejects(call, (err) => err.code === code && err.field?.startsWith('rows'))
  }
  await assert.rejects(ada.predict('00000000-0000-4000-8000-000000000000', [ROW]), { code: 'NOT_FOUND' })

  // A missing value is refused, named as written (column names are data: never camelCased),
  // unless the caller asks for it to be imputed.
  const { petal_width: _, ...partial } = ROW
  for (const [rows, field] of [
    [[ROW, partial], 'rows[1]'],
    [[{ ...ROW, sepal_length: null }], 'rows[0].sepal_length'],
    [[{ ...ROW, sepal_length: 'NaN' }], 'rows[0].sepal_length'],
  ]) {
    await assert.rejects(ada.predict(model.id, rows), (err) => {
      assert.equal(err.code, 'VALIDATION')
      assert.equal(err.field, field)
      assert.match(err.message, /allowMissing/)
      return true
    })
    assert.equal((await ada.predict(model.id, rows, { allowMissing: true })).length, rows.length)
  }
  await assert.rejects(ada.predict(model.id, [ROW], { allowMising: true }), {
    code: 'VALIDATION',
    field: 'allowMising',
  })
})

test('lists page with { limit, after }, runs list without history, finished runs delete', async (t) => {
  const ada = await register(await openYard(t), 'ada')
  const model = await irisModel(ada)
  const first = await (await ada.train(model.id, { epochs: 3 })).wait()
  const second = await (await ada.train(model.id, { epochs: 2 })).wait()
  const runs = await ada.runs()
  assert.deepEqual(runs.map((r) => r.id), [second.id, first.id])
  assert.deepEqual(runs[0].history, [])
  assert.equal(runs[0].epochsCompleted, 2)
  const [page] = await ada.runs({ limit: 1 })
  assert.equal(page.id, second.id)
  const [rest] = await ada.runs({ limit: 1, after: page.id })
  assert.equal(rest.id, first.id)
  assert.deepEqual(await ada.runs({ limit: 1, after: rest.id }), [])
  await assert.rejects(ada.datasets({ limit: 0 }), { code: 'VALIDATION', field: 'limit' })
  await assert.rejects(ada.models({ after: 'nope' }), { code: 'VALIDATION', field: 'after' })
  await assert.rejects(ada.notifications({ limt: 1 }), { code: 'VALIDATION', field: 'limt' })
  const firstRun = await ada.run(first.id)
  const epochs = (metrics) => metrics.map((m) => m.epoch)
  assert.deepEqual(epochs(await firstRun.history({ limit: 2 })), [1, 2])
  assert.deepEqual(epochs(await firstRun.history({ limit: 2, after: 2 })), [3])
  assert.deepEqual(epochs(await firstRun.history()), [1, 2, 3])
  await assert.rejects(firstRun.history({ after: 'two' }), { code: 'VALIDATION', field: 'after' })
  await ada.deleteRun(first.id)
  assert.deepEqual((await ada.runs()).map((r) => r.id), [second.id])
  await assert.rejects(ada.deleteRun(first.id), { code: 'NOT_FOUND' })
  const running = await ada.train(model.id, { epochs: 500, batchSize: 4 })
  await assert.rejects(ada.deleteRun(running.id), { code: 'CONFLICT' })
  await running.cancel()
  await running.wait()
})
