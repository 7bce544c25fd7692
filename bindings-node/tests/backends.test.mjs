// The shared backends from Node: MongoDB (records, files) and Redis (cache, live events, rate
// limits) from MODELYARD_TEST_MONGO_URL and MODELYARD_TEST_REDIS_URL. Outside CI a missing
// service skips; under CI=true it fails.
import assert from 'node:assert/strict'
import { test } from 'node:test'

import { open } from '../index.js'
import { IRIS, PASSWORD, SECRET, service } from './helpers.mjs'

test('two yards on MongoDB + Redis share accounts, files, runs and logouts', async (t) => {
  const mongo = service(t, 'MODELYARD_TEST_MONGO_URL')
  const redis = service(t, 'MODELYARD_TEST_REDIS_URL')
  if (!mongo || !redis) return
  const unique = `${Date.now().toString(16)}${process.pid.toString(16)}`
  const options = {
    store: `${mongo.replace(/\/$/, '')}/modelyard_node_${unique}`,
    cache: redis,
    cacheNamespace: `modelyard-node-${unique}`,
    jwtSecret: SECRET,
  }
  const worker = await open(options)
  const api = await open({ ...options, workers: 0 })
  try {
    const ada = await api.register('ada', 'ada@example.com', PASSWORD)
    const data = await ada.uploadDataset(null, IRIS)
    assert.equal(data.name, 'iris')
    const model = await ada.createModel({ name: 'iris mlp', datasetId: data.id, target: 'species' })
    const run = await ada.train(model.id, { epochs: 20 })
    const epochs = []
    for await (const e of run.events()) if (e.type === 'epoch') epochs.push(e.metrics.epoch)
    assert.deepEqual(epochs, Array.from({ length: 20 }, (_, i) => i + 1))
    const same = await worker.login('ada@example.com', PASSWORD)
    assert.equal((await same.preview(data.id, 2)).rows.length, 2)
    assert.ok((await same.evaluate(model.id, data.id)).metrics.accuracy > 0.8)
    // One row, twice (the model then loaded): the first poll on the JS thread meets the
    // network and the call goes on on the runtime.
    const row = { sepal_length: 5.1, sepal_width: 3.5, petal_length: 1.4, petal_width: 0.2 }
    for (let i = 0; i < 2; i++) assert.equal((await same.predict(model.id, [row]))[0].label, 'setosa')
    await ada.logout()
    await assert.rejects(worker.session(ada.token), { code: 'UNAUTHORIZED' })
  } finally {
    await api.close()
    await worker.close()
  }
})
