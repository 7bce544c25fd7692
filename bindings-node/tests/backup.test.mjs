// Backups from Node: `yard.export`, `session.export`, `yard.import` into another store.
import assert from 'node:assert/strict'
import { readFileSync, statSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { test } from 'node:test'

import { open } from '../index.js'
import { IRIS, PASSWORD, SECRET, irisModel, openYard, register, tempDir } from './helpers.mjs'

async function otherYard(t) {
  const yard = await open({ store: `sled://${join(tempDir(t), 'other')}`, jwtSecret: SECRET })
  t.after(() => yard.close())
  return yard
}

test('a store moves whole through an archive, and only once', async (t) => {
  const yard = await openYard(t)
  const [ada, bob] = [await register(yard, 'ada'), await register(yard, 'bob')]
  await irisModel(ada)
  await bob.uploadDataset('iris', IRIS)
  const archive = join(tempDir(t), 'backup.tar')
  const written = await yard.export(archive)
  assert.deepEqual(
    [written.users, written.datasets, written.models, written.blobs, written.skipped],
    [2, 2, 1, 2, 0],
  )
  assert.equal(statSync(archive).mode & 0o777, 0o600)

  const other = await otherYard(t)
  assert.deepEqual(await other.import(archive), written)
  const moved = await other.login('ada@example.com', PASSWORD)
  assert.deepEqual(await moved.datasets(), await ada.datasets())
  assert.deepEqual(await moved.models(), await ada.models())
  await assert.rejects(other.import(archive), { code: 'CONFLICT' })
})

test('one account exports alone; a damaged archive is refused naming it', async (t) => {
  const yard = await openYard(t)
  const ada = await register(yard, 'ada')
  await register(yard, 'bob')
  await ada.uploadDataset('iris', IRIS)
  const dir = tempDir(t)
  assert.equal((await ada.export(join(dir, 'ada.tar'))).users, 1)
  assert.equal((await yard.exportAccount('bob@example.com', join(dir, 'bob.tar'))).datasets, 0)
  await assert.rejects(yard.exportAccount('x@example.com', join(dir, 'x.tar')), { code: 'NOT_FOUND' })

  const bytes = readFileSync(join(dir, 'ada.tar'))
  writeFileSync(join(dir, 'cut.tar'), bytes.subarray(0, bytes.length >> 1))
  const other = await otherYard(t)
  await assert.rejects(other.import(join(dir, 'cut.tar')), (err) => {
    assert.equal(err.code, 'VALIDATION')
    assert.equal(err.field, 'archive')
    assert.match(err.message, /truncated/)
    return true
  })
  await assert.rejects(other.login('ada@example.com', PASSWORD), { code: 'UNAUTHORIZED' })
  assert.equal((await other.import(join(dir, 'ada.tar'))).datasets, 1)
  await other.login('ada@example.com', PASSWORD)
})
