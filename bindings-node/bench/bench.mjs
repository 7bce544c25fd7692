// The Node side of the bindings' benchmark (`scripts/bench-node`, benches/README.md).
//
// `node bench.mjs train CSV EPOCHS` and `node bench.mjs predict CSV CALLS WARMUP` make the same
// facade calls as `benches/bindings/bench_facade.rs` (its doc says what each does), through the
// built addon, timed the same way, and print one JSON line, which `benches/bindings/report.py`
// reads. Each call is awaited before the next, as a caller of one request at a time would.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { hrtime } from 'node:process'

import { open } from '../index.js'

/** A fresh sled store with the settings bench_facade.rs opens with (see its `open`). */
async function withYard(body) {
  const dir = mkdtempSync(join(tmpdir(), 'bench-node-'))
  const yard = await open({ store: `sled://${dir}`, maxUploadBytes: 256 * 2 ** 20, pollIntervalMs: 10 })
  try {
    const session = await yard.register('bench', 'bench@example.com', 'correct horse battery')
    return await body(session)
  } finally {
    await yard.close()
    rmSync(dir, { recursive: true, force: true })
  }
}

function completed(run) {
  if (run.status !== 'completed') throw new Error(`run ended ${run.status}: ${run.error}`)
  return run
}

const seconds = (started) => Number(hrtime.bigint() - started) / 1e9

async function train(csv, epochs) {
  return withYard(async (session) => {
    let started = hrtime.bigint()
    const dataset = await session.uploadDataset('large', csv)
    const uploadS = seconds(started)

    const hidden = { type: 'dense', units: 512, activation: 'relu' }
    const model = await session.createModel({
      name: 'large mlp',
      datasetId: dataset.id,
      target: 'label',
      task: 'classification',
      layers: [hidden, hidden],
    })
    started = hrtime.bigint()
    const run = await session.train(model.id, {
      epochs,
      batchSize: 128,
      learningRate: 1e-3,
      optimizer: 'adam',
      validationSplit: 0,
    })
    const finished = completed(await run.wait())
    const wallS = seconds(started)
    return {
      side: 'node',
      step: 'train',
      rows: dataset.rowCount,
      upload_s: uploadS,
      wall_s: wallS,
      epochs: finished.history.map((m) => ({
        epoch: m.epoch,
        loss: m.loss,
        duration_ms: m.durationMs,
        samples_per_sec: m.samplesPerSec,
      })),
    }
  })
}

/** The first data row without `target`: numbers as numbers (as bench_facade.rs reads it). */
function firstRow(csv, target) {
  const [header, row] = readFileSync(csv, 'utf8').split('\n')
  const names = header.trim().split(',')
  const cells = row.trim().split(',')
  const entries = names.map((name, i) => {
    const number = Number(cells[i])
    return [name, cells[i] !== '' && Number.isFinite(number) ? number : cells[i]]
  })
  return Object.fromEntries(entries.filter(([name]) => name !== target))
}

async function predict(csv, calls, warmup) {
  return withYard(async (session) => {
    const iris = await session.uploadDataset('iris', csv)
    const model = await session.createModel({ name: 'iris mlp', datasetId: iris.id, target: 'species' })
    completed(await (await session.train(model.id, { epochs: 30 })).wait())

    const rows = [firstRow(csv, 'species')]
    for (let i = 0; i < warmup; i++) await session.predict(model.id, rows)
    const ns = []
    for (let i = 0; i < calls; i++) {
      const started = hrtime.bigint()
      await session.predict(model.id, rows)
      ns.push(Number(hrtime.bigint() - started))
    }
    return { side: 'node', step: 'predict', ns }
  })
}

const [command, csv, ...numbers] = process.argv.slice(2)
const [a, b] = numbers.map(Number)
let result
if (command === 'train' && numbers.length === 1) result = await train(csv, a)
else if (command === 'predict' && numbers.length === 2) result = await predict(csv, a, b)
else {
  console.error('usage: node bench.mjs train CSV EPOCHS | predict CSV CALLS WARMUP')
  process.exit(2)
}
console.log(JSON.stringify(result))
