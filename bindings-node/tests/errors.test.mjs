// Every error is an Error with the facade's stable `code`, and `field` for a VALIDATION error.
import assert from 'node:assert/strict'
import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { test } from 'node:test'
import { gzipSync } from 'node:zlib'

import { open } from '../index.js'
import { IRIS, PASSWORD, SECRET, irisModel, openYard, register, tempDir } from './helpers.mjs'

const UNKNOWN_ID = '01a21cb5-99ae-70e9-9dd1-47b4df2fba2b'

test('NOT_FOUND, CONFLICT, UNAUTHORIZED', async (t) => {
  const yard = await openYard(t)
  const ada = await register(yard, 'ada')
  await assert.rejects(ada.dataset(UNKNOWN_ID), { code: 'NOT_FOUND' })
  await assert.rejects(ada.model('not-an-id'), { code: 'NOT_FOUND' })
  await assert.rejects(register(yard, 'ada'), { code: 'CONFLICT' })
  const model = await irisModel(ada)
  await assert.rejects(ada.deleteDataset(model.datasetId), { code: 'CONFLICT' })
  await assert.rejects(yard.login('ada@example.com', 'a wrong passphrase'), (err) => {
    assert.ok(err instanceof Error)
    assert.equal(err.code, 'UNAUTHORIZED')
    return true
  })
  await ada.logout()
  await assert.rejects(ada.me(), { code: 'UNAUTHORIZED' })
  await assert.rejects(yard.session('not a token'), { code: 'UNAUTHORIZED' })
})

test('VALIDATION names the field as the caller wrote it', async (t) => {
  const dir = tempDir(t)
  await assert.rejects(open({ store: `sled://${dir}/a`, jwtSecret: SECRET, wokers: 1 }), {
    code: 'VALIDATION',
    field: 'wokers',
  })
  await assert.rejects(open({ store: `sled://${dir}/b`, jwtSecrett: SECRET }), (err) => {
    assert.equal(err.code, 'VALIDATION')
    assert.equal(err.field, 'jwtSecrett')
    assert.match(err.message, /`jwtSecret`/)
    assert.doesNotMatch(err.message, /jwt_secret|cache_namespace/)
    return true
  })
  const ada = await register(await openYard(t), 'ada')
  const model = await irisModel(ada)
  await assert.rejects(ada.train(model.id, { epochs: 0 }), { code: 'VALIDATION', field: 'epochs' })
  await assert.rejects(ada.train(model.id, { epoch: 3 }), { code: 'VALIDATION', field: 'epoch' })
  await assert.rejects(ada.train(model.id, { earlyStopping: { patience: 0 } }), {
    code: 'VALIDATION',
    field: 'earlyStopping.patience',
  })
  await assert.rejects(ada.createModel({ name: 'm', datasetId: model.datasetId, target: 'nope' }), {
    code: 'VALIDATION',
    field: 'target',
  })
  await assert.rejects(ada.preview(model.datasetId, -1), { code: 'VALIDATION', field: 'limit' })
  await assert.rejects(ada.predict(model.id, 'not rows'), { code: 'VALIDATION', field: 'rows' })
})

test('RATE_LIMITED carries retryAfter', async (t) => {
  const yard = await openYard(t, { loginMaxFailures: 2 })
  await register(yard, 'ada')
  for (let i = 0; i < 2; i++) {
    await assert.rejects(yard.login('ada@example.com', 'a wrong passphrase'), { code: 'UNAUTHORIZED' })
  }
  await assert.rejects(yard.login('ada@example.com', PASSWORD), (err) => {
    assert.equal(err.code, 'RATE_LIMITED')
    assert.ok(err.retryAfter > 0, String(err.retryAfter))
    return true
  })
})

test('PAYLOAD_TOO_LARGE and UNSUPPORTED_MEDIA_TYPE refuse uploads and store nothing', async (t) => {
  const ada = await register(await openYard(t, { maxUploadBytes: 1024 }), 'ada')
  await assert.rejects(ada.uploadDataset('big', IRIS), { code: 'PAYLOAD_TOO_LARGE' })
  await assert.rejects(ada.uploadDataset('zipped', gzipSync(Buffer.from('a,b\n1,2\n'))), {
    code: 'UNSUPPORTED_MEDIA_TYPE',
  })
  assert.deepEqual(await ada.datasets(), [])
})

test('UNAVAILABLE when the store is down', async () => {
  await assert.rejects(
    open({ store: 'mongodb://127.0.0.1:9/modelyard_nowhere', jwtSecret: SECRET }).then((yard) =>
      yard.checkReady().finally(() => yard.close()),
    ),
    { code: 'UNAVAILABLE' },
  )
})

test('NOT_SUPPORTED for a store this build cannot hold records in, INTERNAL for a damaged data directory', async (t) => {
  await assert.rejects(open({ store: 'redis://127.0.0.1:6379/', jwtSecret: SECRET }), (err) => {
    assert.ok(err instanceof Error)
    assert.equal(err.code, 'NOT_SUPPORTED')
    return true
  })
  // The development secret the yard keeps in its directory, cut short by hand.
  const dir = tempDir(t)
  writeFileSync(join(dir, 'jwt-secret'), 'short')
  await assert.rejects(open(`sled://${dir}`), (err) => {
    assert.ok(err instanceof Error)
    assert.equal(err.code, 'INTERNAL')
    assert.match(err.message, /jwt-secret/)
    return true
  })
})
