// The package loads as `require('modelyard')` and as an ESM import, and a process that closes its
// yard exits on its own: no handle keeps Node alive.
import assert from 'node:assert/strict'
import { execFileSync } from 'node:child_process'
import { mkdirSync, symlinkSync } from 'node:fs'
import { join } from 'node:path'
import { test } from 'node:test'

import { IRIS, REPO, tempDir } from './helpers.mjs'

/** A project directory whose node_modules/modelyard is this package, as after `npm install`. */
function project(t) {
  const dir = tempDir(t)
  mkdirSync(join(dir, 'node_modules'))
  symlinkSync(join(REPO, 'bindings-node'), join(dir, 'node_modules', 'modelyard'), 'dir')
  return dir
}

function node(dir, args) {
  return execFileSync(process.execPath, args, { cwd: dir, encoding: 'utf8', timeout: 60_000 })
}

test('require and import both give the API', (t) => {
  const dir = project(t)
  const names = 'open Modelyard Session Run RunEvents'.split(' ')
  const cjs = node(dir, ['-e', `const m = require('modelyard'); console.log(${JSON.stringify(names)}.map((n) => typeof m[n]).join(' '))`])
  const esm = node(dir, ['--input-type=module', '-e', `import { ${names.join(', ')} } from 'modelyard'; console.log([${names.join(', ')}].map((x) => typeof x).join(' '))`])
  assert.equal(cjs.trim(), 'function function function function function')
  assert.equal(esm.trim(), cjs.trim())
})

test('a process exits by itself after close()', (t) => {
  const dir = project(t)
  const script = `
    const { open } = require('modelyard')
    ;(async () => {
      const yard = await open({ store: 'sled://${join(dir, 'data')}', jwtSecret: 'x'.repeat(40) })
      const ada = await yard.register('ada', 'ada@example.com', 'a long enough passphrase')
      const data = await ada.uploadDataset(null, ${JSON.stringify(IRIS)})
      const model = await ada.createModel({ name: 'm', datasetId: data.id, target: 'species' })
      for await (const _ of (await ada.train(model.id, { epochs: 3 })).events());
      await yard.close()
      console.log('closed')
    })()`
  const started = Date.now()
  // execFileSync returns only once the child has exited: a hanging handle would time out.
  assert.equal(node(dir, ['-e', script]).trim(), 'closed')
  t.diagnostic(`the child ran and exited in ${Date.now() - started} ms`)
})
