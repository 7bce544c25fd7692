// The event loop never waits for Modelyard: a 10 ms interval keeps its period while a run trains
// and while a 50 MB dataset uploads (parsed and profiled on the library's threads).
import assert from 'node:assert/strict'
import { readFileSync } from 'node:fs'
import { test } from 'node:test'

import { IRIS, irisModel, openYard, register } from './helpers.mjs'

const PERIOD_MS = 10
// A blocked loop shows gaps of seconds; a busy 2-core machine, tens of milliseconds.
const WORST_ALLOWED_MS = 250

/** Runs `work` with an interval ticking beside it; the worst gap between ticks, in ms. */
async function worstGapDuring(work) {
  let last = performance.now()
  let worst = 0
  const ticker = setInterval(() => {
    const now = performance.now()
    worst = Math.max(worst, now - last)
    last = now
  }, PERIOD_MS)
  try {
    await work()
  } finally {
    clearInterval(ticker)
  }
  return Math.max(worst, performance.now() - last)
}

test('the event loop keeps its period during training', async (t) => {
  const ada = await register(await openYard(t), 'ada')
  const model = await irisModel(ada)
  const worst = await worstGapDuring(async () => {
    const run = await ada.train(model.id, { epochs: 300, batchSize: 4 })
    for await (const _ of run.events());
  })
  t.diagnostic(`worst gap during training: ${worst.toFixed(1)} ms (period ${PERIOD_MS} ms)`)
  assert.ok(worst < WORST_ALLOWED_MS, `the event loop stalled for ${worst.toFixed(0)} ms`)
})

test('the event loop keeps its period during a 50 MB upload', async (t) => {
  const ada = await register(await openYard(t, { maxUploadBytes: 128 * 1024 * 1024 }), 'ada')
  const [header, ...rows] = readFileSync(IRIS, 'utf8').trim().split('\n')
  const body = rows.join('\n') + '\n'
  const copies = Math.ceil((50 * 1024 * 1024) / Buffer.byteLength(body))
  const big = Buffer.from(header + '\n' + body.repeat(copies))
  let dataset
  const worst = await worstGapDuring(async () => {
    dataset = await ada.uploadDataset('big iris', big)
  })
  t.diagnostic(
    `worst gap during a ${(big.length / 1048576).toFixed(0)} MB upload: ${worst.toFixed(1)} ms`,
  )
  assert.equal(dataset.rowCount, rows.length * copies)
  assert.ok(worst < WORST_ALLOWED_MS, `the event loop stalled for ${worst.toFixed(0)} ms`)
})
