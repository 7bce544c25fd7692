// Shared by the tests: a fresh sled store per test, the iris data the repo ships, the services.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, dirname } from 'node:path'
import { fileURLToPath } from 'node:url'

import { open } from '../index.js'

export const REPO = join(dirname(fileURLToPath(import.meta.url)), '..', '..')
export const IRIS = join(REPO, 'examples', 'data', 'iris.csv')
export const PASSWORD = 'a long enough passphrase'
export const SECRET = 'x'.repeat(40)
export const ROW = { sepal_length: 5.1, sepal_width: 3.5, petal_length: 1.4, petal_width: 0.2 }

/** A fresh directory, removed when the test ends. */
export function tempDir(t) {
  const dir = mkdtempSync(join(tmpdir(), 'modelyard-node-'))
  t.after(() => rmSync(dir, { recursive: true, force: true }))
  return dir
}

/** A yard on a fresh sled store, closed when the test ends. */
export async function openYard(t, options = {}) {
  const yard = await open({ store: `sled://${join(tempDir(t), 'data')}`, jwtSecret: SECRET, ...options })
  t.after(() => yard.close())
  return yard
}

export async function register(yard, name) {
  return yard.register(name, `${name}@example.com`, PASSWORD)
}

/** Iris as [train, test] CSV buffers: every fifth row (ten per class) held out. */
export function irisSplit() {
  const [header, ...rows] = readFileSync(IRIS, 'utf8').trim().split('\n')
  const train = rows.filter((_, i) => i % 5 !== 0)
  const test = rows.filter((_, i) => i % 5 === 0)
  return [train, test].map((part) => Buffer.from([header, ...part].join('\n') + '\n'))
}

export async function irisModel(session) {
  const iris = await session.uploadDataset('iris', IRIS)
  return session.createModel({ name: 'iris mlp', datasetId: iris.id, target: 'species' })
}

/** A service URL from the environment: missing, the test skips — or fails under CI=true. */
export function service(t, variable) {
  const url = process.env[variable]
  if (url) return url
  if (process.env.CI === 'true') throw new Error(`${variable} is required under CI=true`)
  t.skip(`${variable} is not set`)
  return null
}
