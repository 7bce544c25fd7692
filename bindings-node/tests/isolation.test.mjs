import assert from 'node:assert/strict'
import { test } from 'node:test'

import { irisModel, openYard, register } from './helpers.mjs'

test('user B sees none of user A\'s work and cannot touch it', async (t) => {
  const yard = await openYard(t)
  const [ada, bob] = [await register(yard, 'ada'), await register(yard, 'bob')]
  const model = await irisModel(ada)
  const run = await ada.train(model.id, { epochs: 2 })
  await run.wait()
  assert.deepEqual(await bob.datasets(), [])
  assert.deepEqual(await bob.models(), [])
  assert.deepEqual(await bob.runs(), [])
  assert.deepEqual(await bob.notifications(), [])
  for (const attempt of [
    bob.dataset(model.datasetId),
    bob.model(model.id),
    bob.run(run.id),
    bob.predict(model.id, [{ sepal_length: 1 }]),
    bob.deleteModel(model.id),
    bob.evaluate(model.id, model.datasetId),
    bob.modelArchive(model.id),
  ]) {
    await assert.rejects(attempt, { code: 'NOT_FOUND' })
  }
})
