// A typed use of the package, checked by `tsc --noEmit` (bindings-node/tsconfig.json) against the
// generated index.d.ts: a wrong method, argument or field here fails CI.
import { open, type Dataset, type ModelyardError, type RunEvent, type TrainingRun } from 'modelyard'

export async function trainIris(csv: Buffer): Promise<number> {
  const yard = await open({ store: 'sled://./typed-data', workers: 1 })
  try {
    const ada = await yard.register('ada', 'ada@example.com', 'correct horse battery')
    const data: Dataset = await ada.uploadDataset('iris', csv)
    const model = await ada.createModel({ name: 'iris mlp', datasetId: data.id, target: 'species' })
    const run = await ada.train(model.id, { epochs: 20, batchSize: 16, earlyStopping: { patience: 5 } })
    const seen: RunEvent[] = []
    for await (const event of run.events()) {
      // The iterator yields typed events: narrowing by `type` reaches the metrics.
      if (event.type === 'epoch') console.log(event.metrics.epoch, event.metrics.loss)
      // @ts-expect-error a RunEvent has no such field (fails if events were typed `any`)
      console.log(event.nonexistent)
      seen.push(event)
    }
    const finished: TrainingRun = await run.wait({ timeoutMs: 60_000 })
    const [prediction] = await ada.predict(model.id, [{ sepal_length: 5.1, sepal_width: 3.5 }])
    const label = 'label' in prediction ? prediction.label : String(prediction.value)
    for await (const note of ada.notificationEvents()) {
      const read: boolean = note.read
      console.log(note.kind, read)
      break
    }
    console.log(finished.status, seen.length, label)
    return (await ada.evaluate(model.id, data.id)).metrics.accuracy
  } catch (err) {
    const failure = err as ModelyardError
    console.error(failure.code, failure.field)
    throw err
  } finally {
    await yard.close()
  }
}
