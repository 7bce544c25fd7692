// Quickstart: open the embedded store, sign up, upload the bundled iris CSV (split 80/20 into a
// training and a test dataset), define a model, train it with a progress line, print its test
// accuracy and predict three rows.
//
//   cd bindings-node && npm install && cd ..
//   node examples/node/quickstart.mjs            # data in ./quickstart-data
import { readFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'

// In a project of yours, after `npm install <path to>/bindings-node`: from 'modelyard'.
import { open } from '../../bindings-node/index.js'

const IRIS = fileURLToPath(new URL('../data/iris.csv', import.meta.url))
const [EMAIL, PASSWORD] = ['ada@example.com', 'correct horse battery']
const dataDir = process.argv[2] ?? './quickstart-data'

const yard = await open(`sled://${dataDir}`)
try {
  await yard.register('ada', EMAIL, PASSWORD).then(
    () => console.log('registered ada'),
    (err) => {
      if (err.code !== 'CONFLICT') throw err
      console.log(`ada already registered in ${dataDir}`)
    },
  )
  const ada = await yard.login(EMAIL, PASSWORD)

  // Every fifth row held out for testing.
  const [header, ...rows] = readFileSync(IRIS, 'utf8').trim().split('\n')
  const csv = (keep) => Buffer.from([header, ...rows.filter((_, i) => keep(i % 5))].join('\n') + '\n')
  const train = await ada.uploadDataset('iris-train', csv((r) => r !== 0))
  const test = await ada.uploadDataset('iris-test', csv((r) => r === 0))
  console.log(`uploaded ${train.name}: ${train.rowCount} rows, ${train.schema.columns.length} columns`)

  const model = await ada.createModel({ name: 'iris mlp', datasetId: train.id, target: 'species' })
  const summary = await ada.summary(model.id)
  for (const layer of summary.layers) {
    console.log(`  ${layer.name.padEnd(10)} ${layer.kind.padEnd(18)} ${String(layer.params).padStart(6)} params`)
  }

  const epochs = 100
  const run = await ada.train(model.id, { epochs, seed: 7 })
  for await (const event of run.events()) {
    if (event.type === 'epoch') {
      const { epoch, loss, accuracy } = event.metrics
      const bar = '#'.repeat(Math.round((24 * epoch) / epochs)).padEnd(24, '.')
      process.stderr.write(`\r[${bar}] ${epoch}/${epochs} loss=${loss.toFixed(4)} accuracy=${accuracy.toFixed(4)}`)
    } else if (['completed', 'failed', 'cancelled'].includes(event.status)) {
      process.stderr.write(` ${event.status}\n`)
    }
  }

  const evaluation = await ada.evaluate(model.id, test.id)
  console.log(`test accuracy: ${evaluation.metrics.accuracy.toFixed(3)}`)

  const samples = [
    { sepal_length: 5.1, sepal_width: 3.5, petal_length: 1.4, petal_width: 0.2 },
    { sepal_length: 6.0, sepal_width: 2.7, petal_length: 4.1, petal_width: 1.0 },
    { sepal_length: 6.9, sepal_width: 3.1, petal_length: 5.7, petal_width: 2.2 },
  ]
  const predictions = await ada.predict(model.id, samples)
  predictions.forEach((prediction, i) => {
    const confidence = Math.max(...Object.values(prediction.probabilities))
    console.log(`${JSON.stringify(samples[i])} -> ${prediction.label} (${Math.round(confidence * 100)}%)`)
  })
} finally {
  await yard.close()
}
