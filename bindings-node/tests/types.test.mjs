// types.d.ts (the header of the generated index.d.ts) describes what the promises resolve to:
// for each view interface, the objects the addon returns have exactly its properties (the
// optional ones may be absent). A field added to or renamed in a Rust view fails here until the
// interface follows.
import assert from 'node:assert/strict'
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { test } from 'node:test'

import ts from 'typescript'

import { REPO, irisModel, openYard, register } from './helpers.mjs'

/** interface name -> { required: Set, optional: Set } of its property names. */
function interfaces() {
  const path = join(REPO, 'bindings-node', 'types.d.ts')
  const source = ts.createSourceFile(path, readFileSync(path, 'utf8'), ts.ScriptTarget.Latest)
  const found = new Map()
  source.forEachChild((node) => {
    if (!ts.isInterfaceDeclaration(node)) return
    const props = { required: new Set(), optional: new Set() }
    for (const member of node.members) {
      if (ts.isPropertySignature(member)) {
        props[member.questionToken ? 'optional' : 'required'].add(member.name.text)
      }
    }
    found.set(node.name.text, props)
  })
  return found
}

function assertShape(declared, name, value) {
  const { required, optional } = declared.get(name)
  const keys = new Set(Object.keys(value))
  for (const key of required) assert.ok(keys.has(key), `${name}.${key} is declared but missing`)
  for (const key of keys) {
    assert.ok(required.has(key) || optional.has(key), `${name}.${key} is returned but not declared`)
  }
}

test('the declared view interfaces match what the addon returns', async (t) => {
  const declared = interfaces()
  const ada = await register(await openYard(t), 'ada')
  const model = await irisModel(ada)
  const dataset = await ada.dataset(model.datasetId)
  const run = await ada.train(model.id, { epochs: 2 })
  const finished = await run.wait()
  const trained = await ada.model(model.id)
  const summary = await ada.summary(model.id)
  const [notification] = await ada.notifications()
  assertShape(declared, 'User', ada.user)
  assertShape(declared, 'Dataset', dataset)
  assertShape(declared, 'DatasetSchema', dataset.schema)
  for (const column of dataset.schema.columns) assertShape(declared, 'ColumnSchema', column)
  assertShape(declared, 'Preview', await ada.preview(dataset.id, 2))
  assertShape(declared, 'DatasetDownload', await ada.downloadDataset(dataset.id))
  assertShape(declared, 'Model', trained)
  assertShape(declared, 'ModelVersion', trained.latestVersion)
  assertShape(declared, 'ArtifactFile', trained.latestVersion.files[0])
  assertShape(declared, 'ModelSummary', summary)
  assertShape(declared, 'LayerSummary', summary.layers[0])
  assertShape(declared, 'ModelArchive', await ada.modelArchive(model.id))
  assertShape(declared, 'TrainingRun', finished)
  assertShape(declared, 'TrainParams', finished.params)
  assertShape(declared, 'EpochMetrics', finished.history[0])
  assertShape(declared, 'Notification', notification)
  assertShape(declared, 'Evaluation', await ada.evaluate(model.id, dataset.id))
})

test('OpenOptions names exactly the settings open() accepts', () => {
  const declared = interfaces().get('OpenOptions')
  assert.equal(declared.required.size, 0, 'every option is optional')
  // The Rust ConfigSpec's keys, as src/config/keys.rs lists them for its own key check.
  const keys = readFileSync(join(REPO, 'src', 'config', 'keys.rs'), 'utf8')
  const list = keys.slice(keys.indexOf('KEYS: &[(&str, &str)] = &['), keys.indexOf('];'))
  const accepted = [...list.matchAll(/^\s*\("([a-z_]+)",/gm)].map(([, key]) =>
    key.replace(/_([a-z])/g, (_, letter) => letter.toUpperCase()),
  )
  assert.ok(accepted.length > 20, `read ${accepted.length} keys from keys.rs`)
  assert.deepEqual([...declared.optional].sort(), accepted.sort())
})
